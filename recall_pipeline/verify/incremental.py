"""Which verdicts new scan batches can change, so a batch run decides only those again.

A line's verdict depends on the line itself, its match, its section, its examiners' findings
and match decisions, its voter's registration and withdrawals — and, through the duplicate
rule, on the other valid lines of the same voter. So when the lines of some scan files are
added or replaced, and nothing else changed, the verdicts that can change are:

- the lines of those files (new or changed);
- every line of every voter those files' lines were or are now matched to.

Everything else keeps its verdict — provided nothing else changed. The verdicts are published
with a snapshot, per petition, of what they were decided from (`verdict_inputs`: the hash of
every input file the petition's verdicts read — the shared roll, history and reference files,
and the files under its own folder — its settings hash and the verdict code version).
Duplicates are per petition, so a petition's verdicts depend on nothing of another's.

A petition run that follows a run for some scan batches compares its petitions' snapshot with
the ledger as it is now. When only scan files differ, the lines of exactly those files (not
just the run's own batches, so a batch whose verdicts an earlier failed run left behind is
caught too) and their voters' lines are decided again; when anything else differs, every line
of the petition is. A scan file no longer delivered counts as changed: the batch run's
ingestion and matching drop its rows (`ingest.batches.departed_files`), and its voters' other
lines are decided again from the verdicts it leaves behind.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from recall_pipeline.contract import PETITIONS_DIR
from recall_pipeline.ingest.ledger import ledger_files
from recall_pipeline.tables import LINE_KEY_COLUMNS, PETITION_ID, Column, TableSchema
from recall_pipeline.warehouse import Warehouse

KEY = LINE_KEY_COLUMNS
LINES_INPUT = "petition_lines"
# Inputs a verdict reads besides the lines (and their matches, which follow from the lines and
# the roll).
VERDICT_READS = (
    LINES_INPUT,
    "voter_roll",
    "voter_address_history",
    "petition_sections",
    "signature_reviews",
    "match_reviews",
    "withdrawal_requests",
    "jurisdiction_zips",
    "challenges",
    "challenge_rulings",
)
# Past this many voters to look up, reading everything is cheaper than the lookups.
MAX_VOTERS = 100_000

VERDICT_INPUTS = TableSchema(
    name="verdict_inputs",
    description=(
        "What each petition's published verdicts were decided from: each input file they "
        "read and its hash, the petition's settings hash (input_name 'petitions'), the hash "
        "of its matching model (input_name 'match_models') and the verdict code version "
        "(input_name 'code'). One row per petition, input and file."
    ),
    columns=(
        PETITION_ID,
        Column(
            "input_name",
            "string",
            False,
            "the contract input of the file, or petitions, match_models or code",
        ),
        Column("source_file", "string", False, "input file, petition_id, or code version"),
        Column(
            "source_sha256",
            "string",
            False,
            "the file's SHA-256, the settings' or the model's hash, or the code version",
        ),
    ),
    primary_key=("petition_id", "input_name", "source_file"),
)


def snapshot(store: Warehouse, code_version: str, petitions: list[str]) -> pd.DataFrame:
    """The inputs the verdicts of `petitions` are about to be decided from, as
    `verdict_inputs` rows."""
    ledger = ledger_files(store, VERDICT_READS)
    settings = store.read_frame(
        "petitions", columns=["petition_id", "settings_sha256"], where={"petition_id": petitions}
    )
    # A petition's verdicts read the shared files and those under its own folder.
    files = ledger["source_file"]
    shared = ~files.str.startswith(f"{PETITIONS_DIR}/")
    parts = [
        ledger[shared | files.str.startswith(f"{PETITIONS_DIR}/{petition}/")].assign(
            petition_id=petition
        )
        for petition in petitions
    ]
    settings = settings.assign(
        input_name="petitions",
        source_file=settings["petition_id"],
        source_sha256=settings["settings_sha256"],
    )
    code = pd.DataFrame(
        {
            "petition_id": petitions,
            "input_name": "code",
            "source_file": code_version,
            "source_sha256": code_version,
        }
    )
    models = _model_fingerprints(store, petitions)
    rows = pd.concat([*parts, settings, code, models], ignore_index=True)
    rows = rows[VERDICT_INPUTS.column_names]
    return rows.sort_values(VERDICT_INPUTS.column_names).reset_index(drop=True)


def _model_fingerprints(store: Warehouse, petitions: list[str]) -> pd.DataFrame:
    """Per petition, the hash of the matching model its lines were weighed with: when a new
    batch moves the fitted model, every line's match evidence moved, and every verdict is
    decided again (input_name 'match_models')."""
    rows = []
    if store.table_exists("match_models"):
        fitted = store.read_frame("match_models", where={"petition_id": petitions})
        for petition, part in fitted.groupby("petition_id"):
            ordered = part.drop(columns=["petition_id"]).sort_values(
                ["stage", "comparison", "level"]
            )
            digest = hashlib.sha256(ordered.to_csv(index=False).encode()).hexdigest()
            rows.append({"petition_id": petition, "source_sha256": digest})
    frame = pd.DataFrame(rows, columns=["petition_id", "source_sha256"])
    return frame.assign(input_name="match_models", source_file=frame["petition_id"])


def changed_scan_files(
    store: Warehouse, now: pd.DataFrame, petitions: list[str]
) -> list[str] | None:
    """The scan files of `petitions` whose lines differ from those their published verdicts
    were decided from, or None when something besides scan files differs (or nothing was
    published for one of them)."""
    if not store.table_exists(VERDICT_INPUTS.name) or _kept_whole(store):
        return None
    before = store.read_frame(VERDICT_INPUTS, where={"petition_id": petitions})
    if set(before["petition_id"]) != set(petitions):
        return None
    lines_now = now["input_name"] == LINES_INPUT
    lines_before = before["input_name"] == LINES_INPUT
    if not _same_rows(now[~lines_now], before[~lines_before]):
        return None
    pairs_now = _file_hashes(now[lines_now])
    pairs_before = _file_hashes(before[lines_before])
    return sorted({file for file, _ in pairs_now ^ pairs_before})


def publish_snapshot(
    store: Warehouse, rows: pd.DataFrame, replace_where: dict[str, object] | None
) -> None:
    """Publish the snapshot `rows` (the whole table, or the slice `replace_where`)."""
    # A snapshot from before it was kept per petition has no petition slices: replaced whole,
    # the other petitions' lines are all decided again next time.
    whole = replace_where is None or _kept_whole(store)
    store.publish(VERDICT_INPUTS, rows, replace_where=None if whole else replace_where)


def _kept_whole(store: Warehouse) -> bool:
    """Whether the published snapshot predates the per-petition one."""
    columns = store.column_names(VERDICT_INPUTS.name)
    return bool(columns) and "petition_id" not in columns


def _file_hashes(rows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(rows["source_file"], rows["source_sha256"], strict=True))


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    columns = VERDICT_INPUTS.column_names
    return set(map(tuple, a[columns].to_numpy())) == set(map(tuple, b[columns].to_numpy()))


def affected_matches(
    store: Warehouse, files: list[str], petitions: list[str]
) -> pd.DataFrame | None:
    """The `line_matches` rows of every line of `petitions` whose verdict the lines of `files`
    can change (see the module docstring), or None when they reach so many voters that
    deciding every line again is the cheaper way."""
    now = store.read_frame("line_matches", where={"source_file": files})
    before = store.read_frame("line_verdicts", columns=["voter_id"], where={"source_file": files})
    voters = sorted(set(now["voter_id"].dropna()) | set(before["voter_id"].dropna()))
    if len(voters) > MAX_VOTERS:
        return None
    parts = [now]
    if voters:
        parts.append(
            store.read_frame("line_matches", where={"voter_id": voters, "petition_id": petitions})
        )
    return pd.concat(parts, ignore_index=True).drop_duplicates(KEY).reset_index(drop=True)


def rows_of(store: Warehouse, table: str, affected: pd.DataFrame) -> pd.DataFrame:
    """The rows of `table` (keyed by line) for the affected lines."""
    files = sorted(set(affected["source_file"]))
    rows = store.read_frame(table, where={"source_file": files})
    keys = pd.MultiIndex.from_frame(affected[KEY])
    return rows[pd.MultiIndex.from_frame(rows[KEY]).isin(keys)].reset_index(drop=True)
