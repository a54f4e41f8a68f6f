"""A line filed is a line counted: a petition line quarantined at ingestion stays in the raw
count, PENDING (INPUT_NEEDS_CORRECTION) with its problem, until the scan file is corrected."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import settings
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify.corrections import (
    INPUT_NEEDS_CORRECTION,
    set_aside,
    verdicts_needing_correction,
)
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import PETITION_ID, build_data_dir, petition_dir, write_lines


def quarantined(rows: list[tuple[object, int]]) -> pd.DataFrame:
    """quarantined_rows of petition_lines: (raw_record, source_row)."""
    return pd.DataFrame(
        {
            "petition_id": PETITION_ID,
            "source_file": "petitions/p/scans/b1.csv",
            "source_row": [row for _, row in rows],
            "source_sha256": "h",
            "reason": "signature_present: not one of Y/N",
            "raw_record": [text for text, _ in rows],
        }
    )


def cells(section, page, line) -> str:
    return json.dumps({"section_id": section, "page": page, "line": line, "printed_name": "x"})


def test_a_quarantined_line_keeps_its_written_key_when_it_can() -> None:
    taken = pd.DataFrame(
        {"petition_id": [PETITION_ID], "section_id": ["S001"], "page": [1], "line": [1]}
    )
    rows = quarantined(
        [
            (cells("S001", "1", "2"), 3),  # a whole key nobody holds: kept
            (cells("S001", "1", "1"), 4),  # held by an accepted line
            (cells("S001", "one", "3"), 5),  # not a number
            ('S001,1,9,"Bob Smith,1 Main St', 6),  # the parser could not split it
            (cells("S002", "2", "2"), 7),  # two quarantined lines with one key
            (cells("S002", "2", "2"), 8),
        ]
    )
    out = verdicts_needing_correction(rows, taken)
    keys = list(zip(out["section_id"], out["page"], out["line"], strict=True))
    where = "of petitions/p/scans/b1.csv)"
    assert keys == [
        ("S001", 1, 2),
        (f"(line 4 {where}", 0, 4),
        (f"(line 5 {where}", 0, 5),
        (f"(line 6 {where}", 0, 6),
        (f"(line 7 {where}", 0, 7),
        (f"(line 8 {where}", 0, 8),
    ]
    assert set(out["status"]) == {"PENDING"}
    assert set(out["pending_reason"]) == {INPUT_NEEDS_CORRECTION}
    assert out["input_problem"].tolist() == ["signature_present: not one of Y/N"] * 6
    assert out["voter_id"].isna().all() and out["reason_code"].isna().all()


def test_quarantined_lines_stay_in_the_raw_count(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_data_dir(tmp_path / "data")
    scans = petition_dir(root) / "scans" / "batch_0001.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    filed = len(lines) - 1
    assert ",Y," in lines[2]
    lines[2] = lines[2].replace(",Y,", ",maybe,")
    lines.append('S001,1,9,"Bob Smith,1 Main St,LA,90012,2022-03-05,Y,')
    write_lines(scans, lines)
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)

    outcome = materialize_all()

    assert outcome.success, outcome.errors
    checks = {(c.asset, c.name): c for c in outcome.checks}
    assert checks[("line_verdicts", "one_verdict_per_line")].metadata["quarantined_lines"] == 2
    with Warehouse(warehouse_url) as store:
        batches = store.query("SELECT count(*) AS n FROM petition_lines").iloc[0]["n"]
        report = load_determination(store, PETITION_ID)
        to_correct = store.query(
            "SELECT section_id, page, line, source_row, input_problem FROM line_verdicts"
            " WHERE pending_reason = 'INPUT_NEEDS_CORRECTION' ORDER BY source_row"
        ).to_dict("records")
    assert report["raw_count"] == batches + 2
    assert report["valid"] + report["invalid"] + report["pending"] == report["raw_count"]
    assert report["lines_to_correct"] == 2
    assert [(r["section_id"], r["page"], r["line"], r["source_row"]) for r in to_correct] == [
        ("S001", 1, 2, 3),
        ("(line " f"{filed + 2} of petitions/{PETITION_ID}/scans/batch_0001.csv)", 0, filed + 2,
         filed + 2),
    ]  # fmt: skip
    assert to_correct[0]["input_problem"] == "signature_present: not one of Y/N"
    assert to_correct[1]["input_problem"].startswith("the line opens a quoted value")


def test_a_side_file_row_set_aside_holds_its_lines_pending(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section declaration keyed `maybe`, a finding `no_match`, a withdrawal dated 06/30/2022:
    each row is set aside, and the lines it would have decided wait for the correction instead
    of turning SECTION_NOT_FILED, valid or counted."""
    root = build_data_dir(tmp_path / "data")
    folder = petition_dir(root)
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)

    def verdicts() -> dict[tuple, tuple]:
        outcome = materialize_all()
        assert outcome.success, outcome.errors
        with Warehouse(warehouse_url) as store:
            rows = store.query("SELECT * FROM line_verdicts").to_dict("records")
        return {
            (r["section_id"], r["page"], r["line"]): tuple(
                None if pd.isna(r[c]) else r[c]
                for c in ("status", "reason_code", "pending_reason", "input_problem")
            )
            for r in rows
        }

    before = verdicts()
    assert before[("S001", 1, 1)][0] == "VALID"
    for name, row, old, new in (
        ("sections.csv", 1, ",Y,", ",maybe,"),
        ("withdrawals.csv", 1, "2022-06-30", "06/30/2022"),
    ):
        path = folder / name
        lines = path.read_text(encoding="utf-8").splitlines()
        assert old in lines[row]
        lines[row] = lines[row].replace(old, new, 1)
        write_lines(path, lines)
    after = verdicts()

    section = "petition_sections petitions/test-recall/sections.csv row 2 set aside: "
    assert after[("S001", 1, 1)] == (
        "PENDING",
        None,
        INPUT_NEEDS_CORRECTION,
        section + "declaration_signed: not one of Y/N",
    )
    # A line another rule makes invalid stays invalid, the doubt on record.
    assert after[("S001", 1, 2)][:3] == ("INVALID", "NOT_REGISTERED", None)
    assert after[("S001", 1, 2)][3].startswith(section)
    assert after[("S001", 1, 3)][:2] == ("INVALID", "NO_SIGNATURE")
    # S002's declaration is unsigned: its lines are invalid whatever the withdrawal says.
    assert after[("S002", 1, 1)][:2] == ("INVALID", "CIRCULATOR_DECLARATION_DEFECT")
    assert after[("S002", 1, 1)][3].startswith("withdrawal_requests petitions/test-recall/")
    assert after[("S002", 1, 2)] == before[("S002", 1, 2)]


def test_set_aside_reads_what_each_row_was_about() -> None:
    rows = pd.DataFrame(
        {
            "input_name": ["petition_sections", "signature_reviews", "withdrawal_requests",
                           "signature_reviews"],
            "source_file": "f.csv",
            "source_row": [2, 3, 4, 5],
            "reason": "r",
            "raw_record": [
                json.dumps({"section_id": "S9", "declaration_signed": "maybe"}),
                json.dumps({"section_id": "S1", "page": "2", "line": "7", "finding": "no_match"}),
                json.dumps({"voter_id": "V7", "received_date": "06/30/2022"}),
                "S1,x,unparsed",
            ],
        }
    )  # fmt: skip
    found = set_aside(rows)
    assert found.sections == {"S9": "petition_sections f.csv row 2 set aside: r"}
    assert found.reviews == {("S1", 2, 7): "signature_reviews f.csv row 3 set aside: r"}
    assert found.withdrawals == {"V7": "withdrawal_requests f.csv row 4 set aside: r"}


def verify_with_first_registration(tmp_path: Path, url: str, monkeypatch, old: str, new: str):
    """Run the sample with `old` written `new` in the roll's first registration (V0001)."""
    root = build_data_dir(tmp_path / "data")
    roll = root / "voter_roll" / "roll_part_01.csv"
    lines = roll.read_text(encoding="utf-8").splitlines()
    assert old in lines[1]
    lines[1] = lines[1].replace(old, new)
    write_lines(roll, lines)
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, url)
    outcome = materialize_all()
    assert outcome.success, outcome.errors


def test_a_typo_in_a_birth_date_changes_no_verdict(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify_with_first_registration(tmp_path, warehouse_url, monkeypatch, "1970-04-02", "04/02/1970")
    with Warehouse(warehouse_url) as store:
        verdict = store.query(
            "SELECT status, voter_id FROM line_verdicts WHERE section_id = 'S001' AND line = 1"
        ).to_dict("records")
        nulled = store.query("SELECT source_row, column_name FROM nulled_values").to_dict("records")
        quarantined = store.query("SELECT count(*) AS n FROM quarantined_rows").iloc[0]["n"]
    assert verdict == [{"status": "VALID", "voter_id": "V0001"}]
    assert nulled == [{"source_row": 2, "column_name": "birth_date"}]
    assert quarantined == 0


def test_a_registration_set_aside_holds_its_signers_line_pending(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A registration date keyed 05/01/2010 sets V0001's registration aside; the line MARIA
    # GARCIA signed would find nobody on the roll, and must wait, not be NOT_REGISTERED.
    verify_with_first_registration(tmp_path, warehouse_url, monkeypatch, "2010-05-01", "05/01/2010")
    with Warehouse(warehouse_url) as store:
        rows = store.query(
            "SELECT section_id, page, line, status, reason_code, pending_reason, input_problem"
            " FROM line_verdicts ORDER BY section_id, page, line"
        ).to_dict("records")
    first = rows[0]
    assert (first["section_id"], first["status"], first["pending_reason"]) == (
        "S001",
        "PENDING",
        INPUT_NEEDS_CORRECTION,
    )
    assert first["input_problem"] == (
        "voter_roll voter_roll/roll_part_01.csv row 2 set aside: "
        "registration_date: not an ISO date (YYYY-MM-DD)"
    )
    # The other lines are as they were.
    assert [(r["status"], r["reason_code"]) for r in rows[1:]] == [
        ("INVALID", "NOT_REGISTERED"),
        ("INVALID", "NO_SIGNATURE"),
        ("INVALID", "CIRCULATOR_DECLARATION_DEFECT"),
        ("INVALID", "CIRCULATOR_DECLARATION_DEFECT"),
    ]


def test_set_aside_reads_decisions_and_past_addresses() -> None:
    rows = pd.DataFrame(
        {
            "input_name": ["match_reviews", "voter_address_history", "jurisdiction_zips",
                           "jurisdiction_zips"],
            "source_file": "f.csv",
            "source_row": [2, 3, 4, 5],
            "reason": "r",
            "raw_record": [
                json.dumps({"section_id": "S1", "page": "1", "line": "4", "voter_id": "V1"}),
                json.dumps({"voter_id": "V2", "house_number": "77", "zip": "90012"}),
                json.dumps({"jurisdiction_code": "30", "zip5": "9O"}),
                json.dumps({"jurisdiction_code": "19", "zip5": "9O"}),
            ],
        }
    )  # fmt: skip
    found = set_aside(rows, "19")
    assert found.match_reviews == {("S1", 1, 4): "match_reviews f.csv row 2 set aside: r"}
    assert found.history == {"V2": "voter_address_history f.csv row 3 set aside: r"}
    assert found.registrations == [("", "77", "90012", found.history["V2"])]
    # Another jurisdiction's ZIP leaves this one's list whole.
    assert found.zips == "jurisdiction_zips f.csv row 5 set aside: r"
