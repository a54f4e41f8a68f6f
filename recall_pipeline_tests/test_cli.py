"""`recall-audit` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from recall_pipeline import settings
from recall_pipeline.cli import main
from recall_pipeline.runner import load_definitions
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
    # Every check the definitions declare ran, and passed.
    declared = len(load_definitions().resolve_asset_graph().asset_check_keys)
    assert f"checks: {declared} passed, 0 failed" in out

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
    from recall_pipeline.services import determination

    data_dir = build_data_dir(tmp_path / "data")
    problems = [f"p{i}: counts {i} != raw count 5" for i in range(12)]
    monkeypatch.setattr(
        determination,
        "determination_adds_up",
        lambda store, petitions: CheckOutcome(
            False, {"petitions": 12, "petitions_failing": ["p0", "p1"], "problems": problems}
        ),
    )

    assert main(["run", "--data-dir", str(data_dir), "--warehouse", warehouse_url]) == 4

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


# --- errors are one line and an exit code ----------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB warehouse the sample data directory was run into."""
    root = tmp_path_factory.mktemp("published")
    data_dir = build_data_dir(root / "data")
    path = root / "w.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        for name in (settings.DATA_DIR_ENV, settings.WAREHOUSE_URL_ENV, "DAGSTER_HOME"):
            patch.delenv(name, raising=False)
        assert main(["run", "--data-dir", str(data_dir), "--warehouse", f"duckdb:///{path}"]) == 0
    return path


def one_error_line(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"recall-audit {command}: ")
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    ("argv", "code", "problem"),
    [
        (["trace", "nope", "--reason", "VALID"], 2, "no petition 'nope' in the warehouse"),
        (["explain", "test-recall", "S999", "1", "1"], 2, "no line S999/1/1"),
        (["determination", "nope"], 2, "no determination for 'nope'"),
        (["trace", "test-recall", "--reason", "VALID", "--csv", "/nonexistent/dir/out.csv"], 2,
         "--csv /nonexistent/dir/out.csv: cannot write (No such file or directory)"),
    ],
    ids=["trace-unknown-petition", "explain-unknown-line", "unknown-petition", "unwritable-csv"],
)  # fmt: skip
def test_a_usage_error_is_one_line_and_exit_2(
    published: Path, capsys: pytest.CaptureFixture[str], argv, code: int, problem: str
) -> None:
    capsys.readouterr()
    assert main([*argv, "--warehouse", f"duckdb:///{published}"]) == code
    assert problem in one_error_line(capsys, argv[0])


def test_a_bad_warehouse_url_or_data_dir_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tables", "--warehouse", "not a url"]) == 2
    assert "--warehouse: 'not a url' is not a warehouse URL" in one_error_line(capsys, "tables")
    assert main(["run", "--data-dir", str(tmp_path / "missing")]) == 2
    assert "--data-dir: " in one_error_line(capsys, "run")
    with pytest.raises(SystemExit) as caught:
        main(["trace", "test-recall", "--reason", "VALID", "--limit", "-5"])
    assert caught.value.code == 2
    assert "'-5' is not a count" in one_error_line(capsys, "trace")
    with pytest.raises(SystemExit) as caught:
        main(["trace"])
    assert caught.value.code == 2
    assert "required" in one_error_line(capsys, "trace")


def test_a_warehouse_that_cannot_be_opened_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.duckdb"
    assert main(["determination", "x", "--warehouse", f"duckdb:///{missing}"]) == 3
    assert f"no warehouse file at {missing}" in one_error_line(capsys, "determination")
    assert not missing.exists()
    unreachable = "postgresql://postgres@127.0.0.1:1/recall"
    assert main(["trace", "x", "--reason", "VALID", "--warehouse", unreachable]) == 3
    assert "cannot open or read the warehouse" in one_error_line(capsys, "trace")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert main(["determination", "x", "--warehouse", f"duckdb:///{empty}"]) == 3
    assert "holds no published run" in one_error_line(capsys, "determination")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from recall_pipeline.warehouse import WarehouseUnavailable

    with pytest.raises(WarehouseUnavailable):
        main(["--debug", "tables", "--warehouse", f"duckdb:///{tmp_path / 'none.duckdb'}"])
    with pytest.raises(WarehouseUnavailable):
        main(["tables", "--warehouse", f"duckdb:///{tmp_path / 'none.duckdb'}", "--debug"])


def test_read_commands_read_a_copy_without_writing_it(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "auditor.duckdb"
    copy.write_bytes(published.read_bytes())
    before = copy.read_bytes()
    url = f"duckdb:///{copy}"
    assert main(["determination", "test-recall", "--warehouse", url]) == 0
    assert main(["trace", "test-recall", "--reason", "INVALID", "--warehouse", url]) == 0
    assert main(["explain", "test-recall", "S001", "1", "1", "--warehouse", url]) == 0
    assert main(["tables", "--warehouse", url]) == 0
    assert copy.read_bytes() == before
    assert "test-recall" in capsys.readouterr().out
