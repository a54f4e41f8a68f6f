"""Every kind of bad input, through the Dagster asset into each warehouse backend: a clear
error naming file, row and problem, or a quarantine row — and nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from recall_pipeline import settings
from recall_pipeline.runner import materialize_all
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests import datadir
from recall_pipeline_tests.datadir import build_data_dir, petition_dir, write_lines

ROLL_FILE = "voter_roll/roll_part_01.csv"
SCAN_FILE = "petitions/test-recall/scans/batch_0001.csv"
GOOD_ROLL_ROW = datadir.ROLL_PART_1[0]


def _append(relative: str, row: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / relative
        write_lines(path, [*path.read_text(encoding="utf-8").splitlines(), row])

    return apply


def _rewrite(relative: str, content: bytes) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / relative).write_bytes(content)

    return apply


def _drop_status_column(root: Path) -> None:
    path = root / ROLL_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    at = header.index("status")
    write_lines(
        path, [",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines]
    )


def _not_utf8(root: Path) -> None:
    path = root / ROLL_FILE
    text = (
        path.read_text(encoding="utf-8")
        + "V0100,19,NU\xd1EZ,ANA,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-01-01,ACTIVE,,\n"
    )
    path.write_bytes(text.encode("latin-1"))


def _duplicate_line_key(root: Path) -> None:
    path = petition_dir(root) / "scans" / "batch_0002.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("S002,1,1,", "S001,1,1,")
    write_lines(path, lines)


@dataclass
class Structural:
    asset: str
    fault: Callable[[Path], None]
    message: str


@dataclass
class Quarantined:
    asset: str
    fault: Callable[[Path], None]
    file: str
    row: int
    reason: str


CASES = {
    "missing-column": Structural(
        "voter_roll",
        _drop_status_column,
        f"{ROLL_FILE}: required column(s) missing from the header: status",
    ),
    "empty-file": Structural(
        "voter_roll", _rewrite(ROLL_FILE, b""), f"{ROLL_FILE}: the file is empty"
    ),
    "not-utf8": Structural("voter_roll", _not_utf8, f"{ROLL_FILE}, row 5: not valid UTF-8"),
    "duplicate-voter-id": Structural(
        "voter_roll",
        _append(ROLL_FILE, GOOD_ROLL_ROW),
        "voter_id must be unique in voter_roll, but 1 value(s) repeat: voter_id=V0001 at "
        f"{ROLL_FILE} row 2 and {ROLL_FILE} row 5",
    ),
    "duplicate-line-key": Structural(
        "petition_lines",
        _duplicate_line_key,
        "section_id+page+line must be unique",
    ),
    "unparseable-date": Quarantined(
        "voter_roll",
        _append(
            ROLL_FILE, GOOD_ROLL_ROW.replace("V0001", "V0100").replace("2010-05-01", "05/01/2010")
        ),
        ROLL_FILE,
        5,
        "registration_date: not an ISO date (YYYY-MM-DD)",
    ),
    "malformed-zip": Quarantined(
        "voter_roll",
        _append(ROLL_FILE, GOOD_ROLL_ROW.replace("V0001", "V0100").replace("90012", "9O012")),
        ROLL_FILE,
        5,
        "zip: malformed ZIP (5 digits or ZIP+4)",
    ),
    "unknown-status": Quarantined(
        "voter_roll",
        _append(ROLL_FILE, GOOD_ROLL_ROW.replace("V0001", "V0100").replace("ACTIVE", "PURGED")),
        ROLL_FILE,
        5,
        "status: unknown value (allowed: ACTIVE, INACTIVE, CANCELLED)",
    ),
    "truncated-row": Quarantined(
        "petition_lines",
        _append(SCAN_FILE, "S001,1,4,Someone"),
        SCAN_FILE,
        5,
        "row has 4 field(s), the header has 10",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_through_the_asset(
    case, tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_data_dir(tmp_path / "data")
    case.fault(root)
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)

    outcome = materialize_all(selection=[case.asset])

    if isinstance(case, Structural):
        assert not outcome.success
        (error,) = outcome.errors
        assert error.startswith(f"{case.asset}: ")
        assert case.message in error
        with Warehouse(warehouse_url) as store:
            assert not store.table_exists(case.asset)
        return
    assert outcome.success, outcome.errors
    checks = {c.name: c for c in outcome.checks}
    assert not checks["expectations"].passed
    assert checks["rows_conserved"].passed
    with Warehouse(warehouse_url) as store:
        quarantined = store.query(
            "SELECT source_file, source_row, reason FROM quarantined_rows"
        ).to_dict("records")
        assert quarantined == [
            {"source_file": case.file, "source_row": case.row, "reason": case.reason}
        ]
        ledger = store.query(
            "SELECT rows_read, rows_accepted, rows_quarantined FROM ingested_files"
            " WHERE source_file = :f",
            {"f": case.file},
        ).iloc[0]
        assert ledger["rows_read"] == ledger["rows_accepted"] + ledger["rows_quarantined"]
        assert ledger["rows_quarantined"] == 1
        accepted = store.query(
            "SELECT sum(rows_accepted) AS n FROM ingested_files WHERE input_name = :i",
            {"i": case.asset},
        ).iloc[0]["n"]
        assert store.row_count(case.asset) == accepted
