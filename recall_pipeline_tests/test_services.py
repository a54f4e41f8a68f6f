"""The stages as plain functions (`recall_pipeline.services`), run without Dagster on the tiny
data directory: what they report is what they published."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recall_pipeline.audit.certificate import chromium_binary
from recall_pipeline.audit.manifest import content_version
from recall_pipeline.contract import INPUTS, PETITION_LINES
from recall_pipeline.ingest.pipeline import (
    EXPECTATION_RESULTS,
    INGESTED_FILES,
    NULLED_VALUES,
    PETITIONS,
    QUARANTINED_ROWS,
    ingest_input,
    load_petitions,
    petitions_table,
    published_lookup,
)
from recall_pipeline.publication import open_publication
from recall_pipeline.services.audit import record_run_manifest, write_certificates
from recall_pipeline.services.determination import determine_sufficiency
from recall_pipeline.services.matching import match_lines
from recall_pipeline.services.verdicts import VERDICTS_CODE_VERSION, decide_verdicts
from recall_pipeline.verify.schemas import INVALID_TABLES
from recall_pipeline.versions import STAGES, stage_version
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests import datadir
from recall_pipeline_tests.datadir import PETITION_ID, build_data_dir, petition_dir, write_lines

PROJECT = Path(__file__).resolve().parents[1]
PUBLICATION = "services_test"
SCOPE = [PETITION_ID]
BATCH_2 = f"{PETITION_ID}/batch_0002"


class Said:
    """A `services.io.Log` that keeps what it was told."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []

    def info(self, msg: str) -> None:
        self.infos.append(msg)

    def warning(self, msg: str) -> None:
        self.warnings.append(msg)


def ingest(store: Warehouse, data_dir: Path, spec=None, only: list[str] | None = None) -> None:
    """What the ingestion assets publish: every input, or one input's files `only`."""
    if spec is None:
        store.publish(PETITIONS, petitions_table(load_petitions(data_dir)))
    for each in [spec] if spec else INPUTS:
        result = ingest_input(
            each,
            data_dir,
            set(only) if only else None,
            published_lookup(lambda: Warehouse(store.url, publication=PUBLICATION)),
        )
        table_slice = {"source_file": only} if only else None
        input_slice = {"input_name": each.name} | (table_slice or {})
        store.publish(each.table_schema(), result.accepted, replace_where=table_slice)
        for schema, rows in (
            (QUARANTINED_ROWS, result.quarantined),
            (NULLED_VALUES, result.nulled),
            (INGESTED_FILES, result.files),
            (EXPECTATION_RESULTS, result.expectation_results()),
        ):
            store.publish(schema, rows, replace_where=input_slice)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return build_data_dir(tmp_path / "data")


@pytest.fixture
def store(warehouse_url: str, data_dir: Path):
    """The tiny data directory ingested into a run's publication, as the ingestion assets
    would have left it."""
    open_publication(warehouse_url, PUBLICATION)
    with Warehouse(warehouse_url, publication=PUBLICATION) as opened:
        ingest(opened, data_dir)
        assert opened.row_count("petition_lines") == datadir.LINE_ROWS
        assert opened.row_count("quarantined_rows") == 0
        yield opened


def by_status(store: Warehouse) -> dict[str, int]:
    counts = store.query("SELECT status, count(*) AS n FROM line_verdicts GROUP BY status")
    return {row["status"]: int(row["n"]) for row in counts.to_dict("records")}


def test_each_stage_reports_what_it_published(
    store: Warehouse, data_dir: Path, tmp_path: Path
) -> None:
    said = Said()
    matched = match_lines(store, data_dir, [f"{PETITION_ID}/batch_0001", BATCH_2], True, log=said)
    assert matched.match_rows == store.row_count("line_matches") == datadir.LINE_ROWS
    assert sum(matched.lines_by_status.values()) == datadir.LINE_ROWS
    assert sum(matched.lines_by_method.values()) == datadir.LINE_ROWS
    assert matched.lines_by_status.get("MATCHED", 0) > 0
    assert matched.candidate_rows == store.row_count("match_candidates")
    fitted = store.query("SELECT DISTINCT petition_id FROM match_models")
    assert matched.petitions_fitted == len(fitted) == 1
    assert any(m.startswith(f"{PETITION_ID}: {datadir.LINE_ROWS} lines, ") for m in said.infos)

    verdicts = decide_verdicts(store, SCOPE, True, "run-1", log=said)
    assert verdicts.verdict_rows == store.row_count("line_verdicts") == datadir.LINE_ROWS
    assert verdicts.by_status == by_status(store)
    assert verdicts.by_status.get("VALID", 0) > 0 and verdicts.by_status.get("INVALID", 0) > 0
    assert set(verdicts.invalid_rows) == set(INVALID_TABLES)
    for code, rows in verdicts.invalid_rows.items():
        assert rows == store.row_count(INVALID_TABLES[code].name), code
    assert sum(verdicts.invalid_rows.values()) == verdicts.by_status["INVALID"]
    assert sum(verdicts.lines_by_reason.values()) == verdicts.by_status["INVALID"]
    assert verdicts.reason_rows == store.row_count("reason_summary")
    assert verdicts.category_rows == store.row_count("registrar_summary")
    assert verdicts.pending_input_needs_correction == 0
    assert verdicts.checks.keys() == {
        "one_verdict_per_line",
        "reasons_partition_invalid",
        "one_valid_line_per_voter",
        "rulings_accounted",
    }
    assert all(check.passed for check in verdicts.checks.values()), verdicts.checks
    fingerprints = store.read_frame("verdict_fingerprints")
    assert verdicts.fingerprint_rows == len(fingerprints) == 1
    assert verdicts.fingerprints == {PETITION_ID: fingerprints["fingerprint"].iloc[0]}
    assert verdicts.data_version == content_version(fingerprints)
    assert verdicts.snapshot_rows == store.row_count("verdict_inputs") > 0
    kept = store.query("SELECT DISTINCT run_id, code_version FROM line_verdicts")
    assert kept.to_dict("records") == [{"run_id": "run-1", "code_version": VERDICTS_CODE_VERSION}]
    assert any(m.startswith(f"{PETITION_ID}: {{") and "'VALID'" in m for m in said.infos)
    assert said.warnings == []

    determined = determine_sufficiency(store, SCOPE, True, log=said)
    table = store.read_frame("sufficiency_determination")
    assert determined.determination_rows == len(table) == 1
    assert determined.results == {PETITION_ID: table["result"].iloc[0]}
    assert determined.sample_rows == store.row_count("sample_lines")
    assert determined.counts_add_up.passed, determined.counts_add_up.metadata
    assert any(m.startswith(f"{PETITION_ID}: ") and " → " in m for m in said.infos)

    versions = {stage: stage_version(stage) for stage in STAGES if stage != "keys"}
    manifest = record_run_manifest(store, "run-1", versions, "a test")
    rows = store.query("SELECT * FROM run_manifest WHERE run_id = 'run-1'")
    assert manifest.manifest_rows == len(rows)
    assert manifest.input_files == store.row_count("ingested_files") > 0
    assert manifest.determination_fingerprint == verdicts.fingerprints
    for stage, version in versions.items():
        assert json.loads(manifest.code[stage]) == {"version": version}, stage

    certificates = write_certificates(store, SCOPE, True, tmp_path / "reports", PUBLICATION)
    assert certificates.certificate_rows == store.row_count("determination_certificates") == 1
    html = Path(certificates.certificates[PETITION_ID])
    assert html == tmp_path / "reports" / PETITION_ID / PUBLICATION / "certificate.html"
    assert PETITION_ID in html.read_text(encoding="utf-8")
    assert certificates.pdf == bool(chromium_binary())


def test_a_changed_input_changes_the_verdicts_outcome(store: Warehouse, data_dir: Path) -> None:
    match_lines(store, data_dir, [], True)
    before = decide_verdicts(store, SCOPE, True, "run-1")
    assert before.by_status.get("VALID") == 1
    # The one valid signer withdraws before the petition was filed.
    write_lines(
        petition_dir(data_dir) / "withdrawals.csv",
        [*datadir.WITHDRAWALS, "V0001,2022-07-01"],
    )
    (withdrawals,) = [spec for spec in INPUTS if spec.name == "withdrawal_requests"]
    ingest(store, data_dir, withdrawals)
    after = decide_verdicts(store, SCOPE, True, "run-2")
    assert after.by_status == by_status(store)
    assert after.by_status.get("VALID", 0) == 0
    assert after.by_status["INVALID"] == before.by_status["INVALID"] + 1
    assert after.lines_by_reason["WITHDRAWN"] == before.lines_by_reason.get("WITHDRAWN", 0) + 1
    assert after.fingerprints[PETITION_ID] != before.fingerprints[PETITION_ID]
    assert after.data_version != before.data_version
    assert all(check.passed for check in after.checks.values())


def test_a_run_for_one_changed_batch_decides_only_its_lines_again(
    store: Warehouse, data_dir: Path
) -> None:
    match_lines(store, data_dir, [], True)
    whole = decide_verdicts(store, SCOPE, True, "run-1")
    # Line 2 of the second batch now has no signature.
    scans = petition_dir(data_dir) / "scans" / "batch_0002.csv"
    text = scans.read_text(encoding="utf-8").replace("2022-04-02,Y,", "2022-04-02,N,")
    scans.write_text(text, encoding="utf-8")
    batch = scans.relative_to(data_dir).as_posix()
    ingest(store, data_dir, PETITION_LINES, only=[batch])
    said = Said()
    matched = match_lines(store, data_dir, [BATCH_2], False, log=said)
    assert matched.match_rows == 2
    redone = decide_verdicts(store, SCOPE, True, "run-2", changed_lines_only=True, log=said)
    assert "1 changed scan file(s): 2 of 5 lines decided again" in said.infos
    assert redone.verdict_rows == store.row_count("line_verdicts") == datadir.LINE_ROWS
    assert redone.by_status == by_status(store)
    assert redone.fingerprints != whole.fingerprints
    assert all(check.passed for check in redone.checks.values())
    kept = store.query("SELECT source_file, run_id FROM line_verdicts ORDER BY source_file")
    assert set(kept.loc[kept["source_file"] == batch, "run_id"]) == {"run-2"}
    assert set(kept.loc[kept["source_file"] != batch, "run_id"]) == {"run-1"}


def test_the_services_import_no_dagster() -> None:
    services = sorted(
        path.stem
        for path in (PROJECT / "recall_pipeline" / "services").glob("*.py")
        if path.stem != "__init__"
    )
    assert {"io", "matching", "verdicts", "determination", "audit"} <= set(services)
    script = (
        "import importlib, sys\n"
        f"for name in {services!r}:\n"
        "    importlib.import_module(f'recall_pipeline.services.{name}')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))\n"
        # The control: the Dagster wiring does load it, so the check above can see it.
        "import recall_pipeline.defs.common\n"
        "print('dagster' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["[]", "True"]
