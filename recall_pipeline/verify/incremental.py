"""Which verdicts new scan batches can change, so a batch run decides only those again.

A line's verdict depends on the line itself, its match, its section, its examiner findings,
its voter's registration and withdrawals — and, through the duplicate rule, on the other valid
lines of the same voter. So when the lines of some scan files are added or replaced, and
nothing else changed, the verdicts that can change are:

- the lines of those files (new or changed);
- every line of every voter those files' lines were or are now matched to.

Everything else keeps its verdict — provided nothing else changed. The verdicts are published
with a snapshot of what they were decided from (`verdict_inputs`: every input file's hash from
the ledger, each petition's settings hash and the verdict code version). A batch run compares
it with the ledger as it is now: when only scan files differ, the lines of exactly those files
(not just the run's own batches, so a batch whose verdicts an earlier failed run left behind
is caught too) and their voters' lines are decided again; when anything else differs, every
line is. A scan file no longer delivered counts as changed: the batch run's ingestion and
matching drop its rows (`ingest.batches.departed_files`), and its voters' other lines are
decided again from the verdicts it leaves behind.
"""

from __future__ import annotations

import pandas as pd

from recall_pipeline.ingest.ledger import ledger_files
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.warehouse import Warehouse

KEY = ["petition_id", "section_id", "page", "line"]
LINES_INPUT = "petition_lines"
# Inputs a verdict reads besides the lines (and their matches, which follow from the lines and
# the roll).
VERDICT_READS = (
    LINES_INPUT,
    "voter_roll",
    "voter_address_history",
    "petition_sections",
    "signature_reviews",
    "withdrawal_requests",
    "jurisdiction_zips",
)
# Past this many voters to look up, reading everything is cheaper than the lookups.
MAX_VOTERS = 100_000

VERDICT_INPUTS = TableSchema(
    name="verdict_inputs",
    description=(
        "What the published verdicts were decided from: each input file and its hash, each "
        "petition's settings hash (input_name 'petitions') and the verdict code version "
        "(input_name 'code')."
    ),
    columns=(
        Column("input_name", "string", False),
        Column("source_file", "string", False, "input file, petition_id, or code version"),
        Column("source_sha256", "string", False),
    ),
)


def snapshot(store: Warehouse, code_version: str) -> pd.DataFrame:
    """The inputs the verdicts are about to be decided from, as `verdict_inputs` rows."""
    ledger = ledger_files(store, VERDICT_READS)
    settings = store.read("petitions", columns=["petition_id", "settings_sha256"]).to_pandas()
    settings = settings.set_axis(["source_file", "source_sha256"], axis=1).assign(
        input_name="petitions"
    )
    code = pd.DataFrame(
        [{"input_name": "code", "source_file": code_version, "source_sha256": code_version}]
    )
    rows = pd.concat([ledger, settings, code], ignore_index=True)[VERDICT_INPUTS.column_names]
    return rows.sort_values(VERDICT_INPUTS.column_names).reset_index(drop=True)


def changed_scan_files(store: Warehouse, now: pd.DataFrame) -> list[str] | None:
    """The scan files whose lines differ from those the published verdicts were decided
    from, or None when something besides scan files differs (or nothing was published)."""
    if VERDICT_INPUTS.name not in store.table_names():
        return None
    before = store.read(VERDICT_INPUTS).to_pandas()
    lines_now = now["input_name"] == LINES_INPUT
    lines_before = before["input_name"] == LINES_INPUT
    if not _same_rows(now[~lines_now], before[~lines_before]):
        return None
    pairs_now = _file_hashes(now[lines_now])
    pairs_before = _file_hashes(before[lines_before])
    return sorted({file for file, _ in pairs_now ^ pairs_before})


def _file_hashes(rows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(rows["source_file"], rows["source_sha256"], strict=True))


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    columns = VERDICT_INPUTS.column_names
    return set(map(tuple, a[columns].to_numpy())) == set(map(tuple, b[columns].to_numpy()))


def affected_matches(store: Warehouse, files: list[str]) -> pd.DataFrame | None:
    """The `line_matches` rows of every line whose verdict the lines of `files` can change
    (see the module docstring), or None when they reach so many voters that deciding every
    line again is the cheaper way."""
    now = store.read("line_matches", where={"source_file": files}).to_pandas()
    before = store.read(
        "line_verdicts", columns=["voter_id"], where={"source_file": files}
    ).to_pandas()
    voters = sorted(set(now["voter_id"].dropna()) | set(before["voter_id"].dropna()))
    if len(voters) > MAX_VOTERS:
        return None
    parts = [now]
    if voters:
        parts.append(store.read("line_matches", where={"voter_id": voters}).to_pandas())
    return pd.concat(parts, ignore_index=True).drop_duplicates(KEY).reset_index(drop=True)


def rows_of(store: Warehouse, table: str, affected: pd.DataFrame) -> pd.DataFrame:
    """The rows of `table` (keyed by line) for the affected lines."""
    files = sorted(set(affected["source_file"]))
    rows = store.read(table, where={"source_file": files}).to_pandas()
    keys = pd.MultiIndex.from_frame(affected[KEY])
    return rows[pd.MultiIndex.from_frame(rows[KEY]).isin(keys)].reset_index(drop=True)
