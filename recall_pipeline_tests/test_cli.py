"""`recall-audit` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from recall_pipeline import settings
from recall_pipeline.cli import main
from recall_pipeline_tests.datadir import build_data_dir, write_lines


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.DATA_DIR_ENV, raising=False)
    monkeypatch.delenv(settings.WAREHOUSE_URL_ENV, raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def test_run_publishes_and_prints_tables(
    tmp_path: Path, warehouse_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = build_data_dir(tmp_path / "data")
    assert main(["run", "--data-dir", str(data_dir), "--warehouse", warehouse_url]) == 0
    out = capsys.readouterr().out
    assert "✓ voter_roll" in out
    assert "check rows_conserved: passed" in out
    table_lines = {
        line.split()[0]: line.split()[1] for line in out.splitlines() if line.count(" ") > 2
    }
    assert table_lines["voter_roll"] == "5"
    assert table_lines["petition_lines"] == "5"
    assert table_lines["quarantined_rows"] == "0"
    assert "checks: 22 passed, 0 failed" in out

    capsys.readouterr()
    assert main(["tables", "--warehouse", warehouse_url]) == 0
    assert "ingested_files" in capsys.readouterr().out


def test_run_reports_a_structural_error_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = build_data_dir(tmp_path / "data")
    write_lines(data_dir / "reference" / "jurisdictions.csv", ["jurisdiction_code,name", "19,LA"])
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    assert main(["run", "--data-dir", str(data_dir), "--warehouse", url]) == 1
    err = capsys.readouterr().err
    assert "run FAILED" in err
    assert (
        "jurisdictions: reference/jurisdictions.csv: required column(s) missing from the header:"
        " state" in err
    )


def test_a_failed_blocking_check_is_printed_with_what_it_found(
    tmp_path: Path, warehouse_url: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    from recall_pipeline.checks import CheckOutcome
    from recall_pipeline.defs.determination import assets as determination

    data_dir = build_data_dir(tmp_path / "data")
    problems = [f"p{i}: counts {i} != raw count 5" for i in range(12)]
    monkeypatch.setattr(
        determination,
        "determination_adds_up",
        lambda store, petitions: CheckOutcome(
            False, {"petitions": 12, "petitions_failing": ["p0", "p1"], "problems": problems}
        ),
    )

    assert main(["run", "--data-dir", str(data_dir), "--warehouse", warehouse_url]) == 1

    err = capsys.readouterr().err
    assert "sufficiency_determination: 1 blocking asset check failed with ERROR severity:" in err
    report = err[err.index("failed checks:") :].splitlines()
    assert report[1] == (
        "  ERROR sufficiency_determination.counts_add_up: valid + invalid + pending = raw count"
        " (or sample size); samples agree."
    )
    assert report[2:6] == [
        "        petitions: 12",
        "        petitions_failing: 2",
        "          - p0",
        "          - p1",
    ]
    assert report[6:8] == ["        problems: 12", "          - p0: counts 0 != raw count 5"]
    assert report[-1] == "          … 2 more"


def test_a_failed_warning_check_names_rows_without_personal_data(
    tmp_path: Path, warehouse_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = build_data_dir(tmp_path / "data")
    # A row quarantined for its ZIP: the expectations check fails as a warning, and what is
    # printed names the row by file, row and voter_id, never by the voter's name or address.
    roll = data_dir / "voter_roll" / "roll_part_02.csv"
    write_lines(
        roll,
        [
            *roll.read_text(encoding="utf-8").splitlines(),
            "V0009,19,QUIGLEYSON,WINIFRED,,,1,,MAIN,ST,,,,LA,CA,9001,,2010-01-01,ACTIVE,,",
        ],
    )
    assert main(["run", "--data-dir", str(data_dir), "--warehouse", warehouse_url]) == 0
    out = capsys.readouterr().out
    report = out[out.index("checks: ") :]
    assert "WARN  voter_roll.expectations: The contract's expectation suite" in report
    assert "rows_quarantined: 1" in report
    assert (
        "voter_roll/roll_part_02.csv row 4 (voter_id=V0009): zip: malformed ZIP (5 digits or"
        " ZIP+4)" in report
    )
    for personal in ("QUIGLEYSON", "WINIFRED", "MAIN"):
        assert personal not in out
