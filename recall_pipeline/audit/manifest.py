"""The run manifest: what went in, which code ran, and a fingerprint of what came out.

A determination is reproducible when the same inputs and the same code give the same verdicts.
The manifest records the inputs (every file's SHA-256 and row accounting, each petition's
settings hash, every expectation's result), the code (package version and git commit, each
stage's code version) and the outcome: `determination_fingerprint`, a SHA-256 over every
petition's verdicts sorted by line key — identical on a re-run, different if one line changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recall_pipeline.tables import LINE_KEY_COLUMNS, PETITION_ID, RUN_ID, Column, TableSchema
from recall_pipeline.verify.schemas import LINE_VERDICTS
from recall_pipeline.warehouse import Warehouse

RUN_MANIFEST = TableSchema(
    name="run_manifest",
    description="Per run: input files and hashes, settings, expectations, code, fingerprint. "
    "Each run adds its rows (a run's are replaced if it records again): one row per run, kind "
    "and item.",
    columns=(
        RUN_ID,
        Column("recorded_at", "timestamp", False, "when the run recorded its manifest (UTC)"),
        Column(
            "kind",
            "string",
            False,
            "trigger, input_file, petition_settings, expectation, code, determination",
        ),
        Column("item", "string", False, "file path, petition, input:rule, or code component"),
        Column("sha256", "string", True, "file hash, settings hash or determination fingerprint"),
        Column(
            "rows_read",
            "integer",
            True,
            "input_file: rows read from the file; expectation: rows checked; determination: "
            "the raw count",
        ),
        Column("rows_accepted", "integer", True, "input_file: rows accepted"),
        Column("rows_quarantined", "integer", True, "input_file: rows quarantined"),
        Column("detail", "string", True, "JSON: the rest of what was recorded"),
    ),
    primary_key=("run_id", "kind", "item"),
)

# Verdict columns that describe the line's outcome; provenance columns are part of it (a moved
# input row changes the fingerprint), the run that produced them is not.
RUN_COLUMNS = ("run_id", "code_version")
FINGERPRINT_COLUMNS = [c.name for c in LINE_VERDICTS.columns if c.name not in RUN_COLUMNS]
LINE_KEY = LINE_KEY_COLUMNS


VERDICT_FINGERPRINTS = TableSchema(
    name="verdict_fingerprints",
    description="Per petition, the SHA-256 of its verdicts sorted by line key (run left out): "
    "one row per petition.",
    columns=(
        PETITION_ID,
        Column("lines", "integer", False, "the petition's verdicts (its raw count)"),
        Column(
            "fingerprint",
            "string",
            False,
            "SHA-256 of the verdicts as CSV, sorted by line key, without run_id and code_version",
        ),
    ),
    primary_key=("petition_id",),
)


def fingerprint_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per petition: SHA-256 over its verdicts in the published column types, sorted by
    line key and written as CSV — computed once, from the verdicts as they are published."""
    table = LINE_VERDICTS.conform(pa.Table.from_pandas(verdicts, preserve_index=False))
    table = table.select(FINGERPRINT_COLUMNS).sort_by([(c, "ascending") for c in LINE_KEY])
    rows = []
    for petition_id in sorted(set(table.column("petition_id").to_pylist())):
        part = table.filter(pc.equal(table.column("petition_id"), petition_id))
        buffer = io.BytesIO()
        pacsv.write_csv(part, buffer)
        digest = hashlib.sha256(buffer.getvalue()).hexdigest()
        rows.append({"petition_id": petition_id, "lines": part.num_rows, "fingerprint": digest})
    return pd.DataFrame(rows, columns=VERDICT_FINGERPRINTS.column_names)


def content_version(fingerprints: pd.DataFrame) -> str:
    """One version for all verdicts: the hash of every petition's fingerprint, in order."""
    ordered = fingerprints.sort_values("petition_id")["fingerprint"]
    return hashlib.sha256("".join(ordered).encode()).hexdigest()


def code_identity(project_dir: Path | None = None) -> dict[str, str]:
    """The package version and, in a git checkout, the commit and whether it had edits."""
    identity = {"package_version": metadata.version("recall_pipeline")}
    where = project_dir or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return identity | {"git_commit": "unknown"}
    if commit.returncode == 0:
        identity["git_commit"] = commit.stdout.strip()
        identity["git_worktree"] = "modified" if dirty.stdout.strip() else "clean"
    else:
        identity["git_commit"] = "unknown"
    return identity


def _changes_since_last_run(store: Warehouse, run_id: str, files: pd.DataFrame) -> dict:
    """Which input files are new, changed or gone since the previous run's manifest: why this
    run's verdicts may differ from the last ones."""
    if not store.table_exists(RUN_MANIFEST.name):
        return {"previous_run": None}
    previous = store.query(
        f"SELECT run_id FROM {RUN_MANIFEST.name} WHERE run_id <> :run_id"
        " ORDER BY recorded_at DESC LIMIT 1",
        {"run_id": run_id},
    )
    if previous.empty:
        return {"previous_run": None}
    last = previous["run_id"].iloc[0]
    before = store.query(
        f"SELECT item, sha256 FROM {RUN_MANIFEST.name}"
        " WHERE run_id = :run_id AND kind = 'input_file'",
        {"run_id": last},
    )
    then = dict(zip(before["item"], before["sha256"], strict=True))
    now = dict(zip(files["source_file"], files["source_sha256"], strict=True))
    return {
        "previous_run": last,
        "new_files": sorted(set(now) - set(then)),
        "changed_files": sorted(f for f in set(now) & set(then) if now[f] != then[f]),
        "removed_files": sorted(set(then) - set(now)),
    }


def build_manifest(
    store: Warehouse,
    run_id: str,
    code_versions: dict[str, str],
    recorded_at: dt.datetime,
    reason: str = "run started by hand",
) -> pd.DataFrame:
    rows: list[dict] = []

    def add(kind, item, sha256=None, read=None, accepted=None, quarantined=None, detail=None):
        rows.append(
            {
                "run_id": run_id,
                "recorded_at": recorded_at,
                "kind": kind,
                "item": item,
                "sha256": sha256,
                "rows_read": read,
                "rows_accepted": accepted,
                "rows_quarantined": quarantined,
                "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None,
            }
        )

    files = store.query("SELECT * FROM ingested_files ORDER BY input_name, source_file")
    add("trigger", reason, detail=_changes_since_last_run(store, run_id, files))
    for f in files.itertuples(index=False):
        add(
            "input_file",
            f.source_file,
            f.source_sha256,
            int(f.rows_read),
            int(f.rows_accepted),
            int(f.rows_quarantined),
            detail={"input_name": f.input_name, "size_bytes": int(f.size_bytes)},
        )
    petitions = store.query("SELECT * FROM petitions ORDER BY petition_id")
    for p in petitions.to_dict("records"):
        settings = {k: v for k, v in p.items() if k not in ("settings_sha256", "source_sha256")}
        add("petition_settings", p["petition_id"], p["settings_sha256"], detail=settings)
    if store.table_exists("expectation_results"):
        results = store.query(
            "SELECT input_name, rule_id, min(engine) AS engine,"
            " sum(rows_evaluated) AS rows_evaluated, sum(rows_failing) AS rows_failing"
            " FROM expectation_results GROUP BY input_name, rule_id ORDER BY input_name, rule_id"
        )
        for r in results.itertuples(index=False):
            add(
                "expectation",
                f"{r.input_name}:{r.rule_id}",
                read=int(r.rows_evaluated),
                detail={
                    "passed": int(r.rows_failing) == 0,
                    "rows_failing": int(r.rows_failing),
                    "engine": r.engine,
                },
            )
    for component, version in {**code_identity(), **code_versions}.items():
        add("code", component, detail={"version": version})
    determinations = store.query("SELECT * FROM sufficiency_determination ORDER BY petition_id")
    fingerprints = store.query(f"SELECT petition_id, fingerprint FROM {VERDICT_FINGERPRINTS.name}")
    fingerprint = dict(zip(fingerprints["petition_id"], fingerprints["fingerprint"], strict=True))
    for d in determinations.to_dict("records"):
        add(
            "determination",
            d["petition_id"],
            fingerprint[d["petition_id"]],
            read=int(d["raw_count"]),
            detail={
                "result": d["result"],
                "valid": int(d["valid"]),
                "required": int(d["required"]),
                "method": d["method"],
            },
        )
    return pd.DataFrame(rows, columns=RUN_MANIFEST.column_names)
