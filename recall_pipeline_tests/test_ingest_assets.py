"""The ingestion assets run through Dagster into a real warehouse, on both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import settings
from recall_pipeline.contract import INPUTS, VOTER_ROLL
from recall_pipeline.ingest.ledger import conservation_report
from recall_pipeline.publication import current
from recall_pipeline.runner import materialize_all
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests import datadir
from recall_pipeline_tests.datadir import build_data_dir, petition_dir, write_lines
from recall_pipeline_tests.faults import fail_writes

# Values from the test roll that must never appear in Dagster's event log.
PII_VALUES = ("GARCIA", "MARIA", "O'BRIEN", "MUÑOZ", "SUNSET", "1234 1/2", "1970-04-02", "OLYMPIC")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = build_data_dir(tmp_path / "data")
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    return root


@pytest.fixture
def store(warehouse_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)
    with Warehouse(warehouse_url) as opened:
        yield opened


def tamper(store: Warehouse, sql: str) -> None:
    """Change published rows where they are: in the current publication's own tables (the
    published names are views onto them)."""
    with Warehouse(store.url, publication=current(store)) as held:
        held.execute(sql)


def rows(store: Warehouse, table: str, order: str) -> list[dict]:
    return store.query(f"SELECT * FROM {table} ORDER BY {order}").to_dict("records")


def test_every_input_is_published_with_passing_checks(data_dir: Path, store: Warehouse) -> None:
    outcome = materialize_all()
    assert outcome.success, outcome.errors
    assert {spec.name for spec in INPUTS} | {"petitions"} <= set(outcome.materialized)
    assert outcome.checks and all(c.passed for c in outcome.checks)
    assert outcome.step_seconds["voter_roll"] > 0
    assert store.row_count("voter_roll") == datadir.ROLL_ROWS
    assert store.row_count("petition_lines") == datadir.LINE_ROWS
    assert store.row_count("quarantined_rows") == 0
    (petition,) = rows(store, "petitions", "petition_id")
    assert petition["petition_id"] == datadir.PETITION_ID
    assert petition["registered_voters_basis"] == 5668569
    ledger = rows(store, "ingested_files", "source_file")
    assert sum(r["rows_read"] for r in ledger if r["input_name"] == "voter_roll") == 5
    assert all(len(r["source_sha256"]) == 64 for r in ledger)


def test_bad_rows_land_in_quarantined_rows(data_dir: Path, store: Warehouse) -> None:
    roll = data_dir / "voter_roll" / "roll_part_02.csv"
    lines = roll.read_text(encoding="utf-8").splitlines()
    lines.append("V0009,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,9001,,2010-01-01,ACTIVE,,")
    write_lines(roll, lines)
    scans = petition_dir(data_dir) / "scans" / "batch_0002.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    lines.append("S002,1,3,Somebody")
    write_lines(scans, lines)

    outcome = materialize_all()

    assert outcome.success, outcome.errors
    quarantined = rows(store, "quarantined_rows", "source_file")
    assert [
        (q["input_name"], q["source_file"], q["source_row"], q["reason"]) for q in quarantined
    ] == [
        (
            "petition_lines",
            "petitions/test-recall/scans/batch_0002.csv",
            4,
            "row has 4 field(s), the header has 10",
        ),
        ("voter_roll", "voter_roll/roll_part_02.csv", 4, "zip: malformed ZIP (5 digits or ZIP+4)"),
    ]
    checks = {(c.asset, c.name): c for c in outcome.checks}
    assert not checks[("voter_roll", "expectations")].passed
    assert checks[("voter_roll", "expectations")].severity == "WARN"
    assert not checks[("petition_lines", "expectations")].passed
    assert all(c.passed for (_, name), c in checks.items() if name == "rows_conserved")
    assert store.row_count("voter_roll") == datadir.ROLL_ROWS
    ledger = {r["source_file"]: r for r in rows(store, "ingested_files", "source_file")}[
        "voter_roll/roll_part_02.csv"
    ]
    assert (ledger["rows_read"], ledger["rows_accepted"], ledger["rows_quarantined"]) == (3, 2, 1)


def test_structural_failure_stops_the_run_and_keeps_previous_tables(
    data_dir: Path, store: Warehouse
) -> None:
    assert materialize_all().success
    before = rows(store, "voter_roll", "voter_id")

    part_2 = data_dir / "voter_roll" / "roll_part_02.csv"
    lines = part_2.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("V0004", "V0001")
    write_lines(part_2, lines)
    outcome = materialize_all()

    assert not outcome.success
    (error,) = [e for e in outcome.errors if e.startswith("voter_roll")]
    assert "voter_roll/roll_part_01.csv" in error and "row 2" in error
    assert "voter_id must be unique" in error
    assert rows(store, "voter_roll", "voter_id") == before


def test_failed_publish_leaves_previous_table_whole(
    data_dir: Path, store: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert materialize_all().success
    before = rows(store, "voter_roll", "voter_id")
    write_lines(
        data_dir / "voter_roll" / "roll_part_02.csv",
        [datadir.ROLL_HEADER, datadir.ROLL_PART_2[0]],
    )

    fail_writes(monkeypatch, RuntimeError("simulated crash after staging"), table="voter_roll")
    outcome = materialize_all()

    assert not outcome.success
    assert any("simulated crash" in e for e in outcome.errors)
    assert rows(store, "voter_roll", "voter_id") == before
    assert not [n for n in store.table_names(include_staging=True) if n.startswith("_stage")]


def test_conservation_check_fails_when_a_row_goes_missing(data_dir: Path, store: Warehouse) -> None:
    assert materialize_all().success
    assert conservation_report(store, VOTER_ROLL).passed
    tamper(store, "DELETE FROM voter_roll WHERE voter_id = 'V0004'")
    report = conservation_report(store, VOTER_ROLL)
    assert not report.passed
    assert report.metadata["problems"] == [
        "voter_roll/roll_part_02.csv: 3 line(s), 1 header, 0 blank: 2 data line(s); "
        "read 2, landed 1 (1 distinct rows)"
    ]


def test_conservation_is_proved_against_the_lines_of_the_file(
    data_dir: Path, store: Warehouse
) -> None:
    # A reader that dropped a row and counted only what it returned would agree with itself;
    # the file's own line count does not.
    assert materialize_all().success
    tamper(store, "DELETE FROM voter_roll WHERE voter_id = 'V0004'")
    tamper(
        store,
        "UPDATE ingested_files SET rows_read = rows_read - 1, rows_accepted = rows_accepted - 1"
        " WHERE source_file = 'voter_roll/roll_part_02.csv'",
    )
    report = conservation_report(store, VOTER_ROLL)
    assert not report.passed
    assert report.metadata["problems"] == [
        "voter_roll/roll_part_02.csv: 3 line(s), 1 header, 0 blank: 2 data line(s); "
        "read 1, landed 1 (1 distinct rows)"
    ]


def test_conservation_check_fails_when_a_row_lands_twice(data_dir: Path, store: Warehouse) -> None:
    assert materialize_all().success
    tamper(
        store,
        "INSERT INTO quarantined_rows"
        " (input_name, source_file, source_row, source_sha256, reason, raw_record)"
        " SELECT 'voter_roll', source_file, source_row, source_sha256, 'copy', '{}'"
        " FROM voter_roll WHERE voter_id = 'V0001'",
    )
    assert not conservation_report(store, VOTER_ROLL).passed


def test_no_personal_data_in_dagster_events(
    data_dir: Path, store: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    roll = data_dir / "voter_roll" / "roll_part_01.csv"
    lines = roll.read_text(encoding="utf-8").splitlines()
    lines.append("V0010,19,GARCIA,MARIA,,,1234 1/2,,SUNSET,ST,,,,LA,CA,ABCDE,1970-04-02,bad,X,,")
    write_lines(roll, lines)
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    outcome = materialize_all()

    assert outcome.success
    instance = dg.DagsterInstance.get()
    # Both runs: the lines run (ingestion) and the petitions run (verdicts).
    assert len(outcome.run_ids) == 2
    logs = [entry for run_id in outcome.run_ids for entry in instance.all_logs(run_id)]
    assert logs
    # The whole stored event log, as Dagster serializes it.
    dumped = "\n".join(dg.serialize_value(entry) for entry in logs)
    assert "V0010" in dumped  # identifying keys are shown ...
    for value in PII_VALUES:  # ... personal data never
        assert value not in dumped, value
    instance.dispose()


def test_every_petition_folder_is_ingested(data_dir: Path, store: Warehouse) -> None:
    second = data_dir / "petitions" / "second-recall"
    shutil.copytree(petition_dir(data_dir), second)
    yaml_path = second / "petition.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace("petition_id: test-recall", "petition_id: second-recall")
    )
    assert materialize_all().success
    counts = store.query(
        "SELECT petition_id, count(*) AS n FROM petition_lines GROUP BY petition_id ORDER BY 1"
    ).to_dict("records")
    assert counts == [
        {"petition_id": "second-recall", "n": datadir.LINE_ROWS},
        {"petition_id": "test-recall", "n": datadir.LINE_ROWS},
    ]


def test_wrong_petition_settings_fail_with_every_problem(data_dir: Path, store: Warehouse) -> None:
    yaml_path = petition_dir(data_dir) / "petition.yaml"
    yaml_path.write_text(
        yaml_path.read_text()
        .replace("kind: local_recall", "kind: referendum")
        .replace("filed_date: 2022-07-06", "filed_date: 2022-13-06")
    )
    outcome = materialize_all()
    assert not outcome.success
    (error,) = [e for e in outcome.errors if e.startswith("petitions")]
    assert "petitions/test-recall/petition.yaml" in error
    assert "kind: 'referendum' is not one of" in error
    assert "filed_date" in error


def test_match_reviews_naming_no_voter_on_the_roll_are_quarantined(
    data_dir: Path, store: Warehouse
) -> None:
    reviews = petition_dir(data_dir) / "match_reviews" / "match_reviews_001.csv"
    write_lines(
        reviews,
        [
            *reviews.read_text(encoding="utf-8").splitlines(),
            "S001,1,3,V0404,EX04,2022-07-22T11:00:00",
            "S001,1,3,V0001,EX04,2022-07-22T11:00:00+02:00",
        ],
    )

    outcome = materialize_all()

    assert outcome.success, outcome.errors
    checks = {(c.asset, c.name): c for c in outcome.checks}
    assert checks[("match_reviews", "rows_conserved")].passed
    warning = checks[("match_reviews", "expectations")]
    assert not warning.passed and warning.severity == "WARN"
    assert warning.metadata["rules"]["voter_id.known"]["failing"] == 1
    quarantined = store.query(
        "SELECT source_file, source_row, reason, record_key FROM quarantined_rows"
        " WHERE input_name = 'match_reviews' ORDER BY source_row"
    ).to_dict("records")
    file = "petitions/test-recall/match_reviews/match_reviews_001.csv"
    assert quarantined == [
        {
            "source_file": file,
            "source_row": 4,
            "reason": "voter_id: no such voter_id in voter_roll",
            "record_key": "section_id=S001, page=1, line=3, voter_id=V0404",
        },
        {
            "source_file": file,
            "source_row": 5,
            "reason": "reviewed_at: not an ISO date and time (YYYY-MM-DDTHH:MM[:SS])",
            "record_key": "section_id=S001, page=1, line=3, voter_id=V0001",
        },
    ]
    kept = rows(store, "match_reviews", "source_row")
    assert [(r["section_id"], r["page"], r["line"], r["voter_id"]) for r in kept[:1]] == [
        ("S002", 1, 2, "V0005")
    ]
    # No registration found: the row is kept, without a voter.
    assert pd.isna(kept[1]["voter_id"]) and kept[1]["line"] == 2
    assert kept[1]["reviewed_at"] == "2022-07-21 09:05"
