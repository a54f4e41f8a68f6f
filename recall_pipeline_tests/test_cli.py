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
    assert "checks: 20 passed, 0 failed" in out

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
