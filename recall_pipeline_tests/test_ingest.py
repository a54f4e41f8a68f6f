"""Ingestion as plain functions: every bad input ends in its clear error or its quarantine row."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from recall_pipeline.contract import (
    ADDRESS_HISTORY,
    INPUTS,
    JURISDICTIONS,
    MATCH_REVIEWS,
    PETITION_LINES,
    SECTIONS,
    SIGNATURE_REVIEWS,
    VOTER_ROLL,
    WITHDRAWALS,
)
from recall_pipeline.ingest.errors import StructuralError
from recall_pipeline.ingest.pipeline import ingest_input
from recall_pipeline_tests import datadir
from recall_pipeline_tests.datadir import (
    ROLL_HEADER,
    build_data_dir,
    petition_dir,
    roll_lookup,
    write_lines,
)


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_data_dir(tmp_path_factory.mktemp("clean"))


@pytest.fixture
def data_dir(tmp_path: Path, clean_dir: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(clean_dir, target)
    return target


def roll_file(root: Path) -> Path:
    return root / "voter_roll" / "roll_part_01.csv"


def assert_conserved(result) -> None:
    """Every row read sits in exactly one place, per file."""
    for ledger in result.files.to_pylist():
        file = ledger["source_file"]
        accepted = [r for r in result.accepted.column("source_file").to_pylist() if r == file]
        quarantined = [r for r in result.quarantined.column("source_file").to_pylist() if r == file]
        assert ledger["rows_read"] == len(accepted) + len(quarantined)
        rows = [
            row
            for table in (result.accepted, result.quarantined)
            for f, row in zip(
                table.column("source_file").to_pylist(),
                table.column("source_row").to_pylist(),
                strict=True,
            )
            if f == file
        ]
        assert sorted(rows) == list(range(1, ledger["rows_read"] + 1))


@pytest.mark.parametrize("spec", INPUTS, ids=lambda s: s.name)
def test_clean_inputs_are_accepted_whole(spec, clean_dir: Path) -> None:
    result = ingest_input(spec, clean_dir, lookup=roll_lookup)
    assert result.quarantined.num_rows == 0
    assert all(o.success for o in result.outcomes)
    assert result.accepted.num_rows == result.rows_read > 0
    assert_conserved(result)


def test_provenance_names_file_row_and_hash(clean_dir: Path) -> None:
    result = ingest_input(VOTER_ROLL, clean_dir)
    rows = {r["voter_id"]: r for r in result.accepted.to_pylist()}
    part_2 = clean_dir / "voter_roll" / "roll_part_02.csv"
    assert rows["V0004"]["source_file"] == "voter_roll/roll_part_02.csv"
    assert rows["V0004"]["source_row"] == 1
    assert rows["V0005"]["source_row"] == 2
    assert rows["V0004"]["source_sha256"] == hashlib.sha256(part_2.read_bytes()).hexdigest()
    assert rows["V0004"]["last_name"] == "MUÑOZ"


def test_values_are_typed_by_the_contract(clean_dir: Path) -> None:
    import datetime as dt

    roll = {r["voter_id"]: r for r in ingest_input(VOTER_ROLL, clean_dir).accepted.to_pylist()}
    assert roll["V0003"]["status_date"] == dt.date(2022, 3, 1)
    assert roll["V0002"]["birth_date"] is None
    assert roll["V0002"]["zip"] == "90028-1234"
    lines = ingest_input(PETITION_LINES, clean_dir).accepted.to_pylist()
    assert {type(r["page"]) for r in lines} == {int}
    assert lines[0]["petition_id"] == datadir.PETITION_ID
    assert [r["signature_present"] for r in lines[:3]] == [True, True, False]
    sections = ingest_input(SECTIONS, clean_dir).accepted.to_pylist()
    assert [s["declaration_signed"] for s in sections] == [True, False]


@pytest.mark.parametrize(
    ("broken_row", "reason"),
    [
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,1980-13-45,2010-01-01,ACTIVE,,",
            "birth_date: not an ISO date (YYYY-MM-DD)",
        ),
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,1980-02-30,2010-01-01,ACTIVE,,",
            "birth_date: not a real calendar date",
        ),
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,9001,,2010-01-01,ACTIVE,,",
            "zip: malformed ZIP (5 digits or ZIP+4)",
        ),
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-01-01,SUSPENDED,,",
            "status: unknown value (allowed: ACTIVE, INACTIVE, CANCELLED)",
        ),
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-01-01,CANCELLED,DECEASED,",
            "status_date: missing (required when status is CANCELLED)",
        ),
        (
            "V0101,19,,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-01-01,ACTIVE,,",
            "last_name: missing required value",
        ),
        ("V0101,19,DOE,JANE,,,1,,MAIN", "row has 9 field(s), the header has 21"),
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-01-01,ACTIVE,,,EXTRA",
            "row has 22 field(s), the header has 21",
        ),
    ],
    ids=[
        "unparseable-date",
        "impossible-date",
        "malformed-zip",
        "unknown-status",
        "cancelled-without-date",
        "missing-name",
        "truncated-row",
        "overlong-row",
    ],
)
def test_bad_rows_are_quarantined_with_file_row_and_reason(
    data_dir: Path, broken_row: str, reason: str
) -> None:
    lines = roll_file(data_dir).read_text(encoding="utf-8").splitlines()
    lines.insert(2, broken_row)  # becomes data row 2 of the file
    write_lines(roll_file(data_dir), lines)

    result = ingest_input(VOTER_ROLL, data_dir)

    quarantined = result.quarantined.to_pylist()
    assert len(quarantined) == 1
    row = quarantined[0]
    assert (row["source_file"], row["source_row"], row["reason"]) == (
        "voter_roll/roll_part_01.csv",
        2,
        reason,
    )
    assert row["input_name"] == "voter_roll"
    assert "V0101" not in result.accepted.column("voter_id").to_pylist()
    assert result.accepted.num_rows == datadir.ROLL_ROWS
    assert_conserved(result)


def test_a_row_breaking_several_rules_lists_every_reason(data_dir: Path) -> None:
    write_lines(
        roll_file(data_dir),
        [ROLL_HEADER, "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,9001A,,2010/01/01,GONE,,"],
    )
    (row,) = ingest_input(VOTER_ROLL, data_dir).quarantined.to_pylist()
    assert row["reason"] == (
        "zip: malformed ZIP (5 digits or ZIP+4); "
        "registration_date: not an ISO date (YYYY-MM-DD); "
        "status: unknown value (allowed: ACTIVE, INACTIVE, CANCELLED)"
    )
    assert row["record_key"] == "voter_id=V0101"


def test_quarantined_line_keeps_its_key_and_raw_cells(data_dir: Path) -> None:
    scans = petition_dir(data_dir) / "scans" / "batch_0001.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    lines[3] = "S001,1,3,Someone,1 Main St,LA,90012,2022-03-05,maybe,"
    write_lines(scans, lines)
    result = ingest_input(PETITION_LINES, data_dir)
    (row,) = result.quarantined.to_pylist()
    assert row["petition_id"] == datadir.PETITION_ID
    assert row["record_key"] == "section_id=S001, page=1, line=3"
    assert row["reason"] == "signature_present: not one of Y/N"
    assert '"signature_present": "maybe"' in row["raw_record"]
    assert_conserved(result)


def test_expectation_results_count_each_rule_per_file(data_dir: Path) -> None:
    part_2 = data_dir / "voter_roll" / "roll_part_02.csv"
    lines = part_2.read_text(encoding="utf-8").splitlines()
    fields = lines[1].split(",")
    fields[ROLL_HEADER.split(",").index("zip")] = "9001A"
    lines[1] = ",".join(fields)
    write_lines(part_2, lines)

    result = ingest_input(VOTER_ROLL, data_dir)

    read = {f["source_file"]: f["rows_read"] for f in result.files.to_pylist()}
    assert len(read) == 2
    rows = result.expectation_results().to_pylist()
    assert {r["rule_id"] for r in rows} == {o.rule.rule_id for o in result.outcomes}
    for row in rows:
        assert row["rows_evaluated"] == read[row["source_file"]]
    failing = {
        (r["source_file"], r["rule_id"]): r["rows_failing"] for r in rows if r["rows_failing"]
    }
    assert failing == {("voter_roll/roll_part_02.csv", "zip.format"): 1}


def test_match_reviews_with_a_bad_key_time_or_voter_are_quarantined(data_dir: Path) -> None:
    reviews = petition_dir(data_dir) / "match_reviews" / "match_reviews_001.csv"
    write_lines(
        reviews,
        [
            "section_id,page,line,voter_id,examiner_id,reviewed_at",
            "S001,1,1,V0001,EX01,2022-07-21T09:00:00",
            "S001,1,2,,EX01,2022-07-21 09:00",  # no registration found: kept
            "S001,one,3,V0001,EX01,2022-07-21T09:00:00",
            ",1,3,V0001,EX01,2022-07-21T09:00:00",
            "S001,1,3,V0001,EX01,2022-07-21",
            "S001,1,3,V0001,EX01,2022-02-30T09:00:00",
            "S001,1,3,V0001,EX01,2022-07-21T24:00:00",
            "S001,1,3,V0001,EX01,",
            "S001,1,3,V9999,EX01,2022-07-21T09:00:00.250",
            "S001,1,x,V9999,EX01,2022-07-21T9:00",
        ],
    )

    result = ingest_input(MATCH_REVIEWS, data_dir, lookup=roll_lookup)

    assert [(r["source_row"], r["voter_id"]) for r in result.accepted.to_pylist()] == [
        (1, "V0001"),
        (2, None),
    ]
    not_a_time = "reviewed_at: not an ISO date and time (YYYY-MM-DDTHH:MM[:SS])"
    unknown_voter = "voter_id: no such voter_id in voter_roll"
    assert {r["source_row"]: r["reason"] for r in result.quarantined.to_pylist()} == {
        3: "page: not a whole number",
        4: "section_id: missing required value",
        5: not_a_time,
        6: "reviewed_at: not a real calendar date",
        7: not_a_time,
        8: "reviewed_at: missing required value",
        9: unknown_voter,
        10: f"line: not a whole number; {unknown_voter}; {not_a_time}",
    }
    (row,) = [r for r in result.quarantined.to_pylist() if r["source_row"] == 9]
    assert row["record_key"] == "section_id=S001, page=1, line=3, voter_id=V9999"
    rules = {o.rule.rule_id: o for o in result.outcomes}
    assert rules["voter_id.known"].rule.engine == "warehouse"
    assert rules["voter_id.known"].failing_count == 2
    assert_conserved(result)


def test_a_reference_rule_needs_a_lookup(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="voter_id.known needs a lookup of voter_roll.voter_id"):
        ingest_input(MATCH_REVIEWS, data_dir)


# --- structural failures: the run stops, naming file, row and problem ---------------------------


def test_missing_required_column_names_file_and_column(data_dir: Path) -> None:
    table = pacsv.read_csv(roll_file(data_dir)).drop_columns(["status", "registration_date"])
    pacsv.write_csv(table, roll_file(data_dir))
    with pytest.raises(StructuralError) as caught:
        ingest_input(VOTER_ROLL, data_dir)
    assert str(caught.value) == (
        "voter_roll/roll_part_01.csv: required column(s) missing from the header: "
        "registration_date, status"
    )


def test_conditionally_required_column_may_be_absent(data_dir: Path) -> None:
    table = pacsv.read_csv(
        roll_file(data_dir), convert_options=pacsv.ConvertOptions(column_types={"zip": pa.string()})
    )
    table = table.filter(pa.compute.not_equal(table.column("status"), "CANCELLED"))
    pacsv.write_csv(table.drop_columns(["status_date"]), roll_file(data_dir))
    result = ingest_input(VOTER_ROLL, data_dir)
    assert result.quarantined.num_rows == 0
    assert result.accepted.num_rows == datadir.ROLL_ROWS - 1


def test_empty_file_fails(data_dir: Path) -> None:
    roll_file(data_dir).write_bytes(b"")
    with pytest.raises(StructuralError, match=r"voter_roll/roll_part_01.csv: the file is empty"):
        ingest_input(VOTER_ROLL, data_dir)


def test_non_utf8_file_names_the_row(data_dir: Path) -> None:
    lines = roll_file(data_dir).read_text(encoding="utf-8").splitlines()
    content = ("\n".join(lines[:2]) + "\n").encode() + lines[2].encode("latin-1") + b"\n"
    content += "\n".join(lines[3:]).replace("NGUYEN", "NGUY\u00c9N").encode("latin-1") + b"\n"
    roll_file(data_dir).write_bytes(content)
    with pytest.raises(StructuralError) as caught:
        ingest_input(VOTER_ROLL, data_dir)
    assert caught.value.file == "voter_roll/roll_part_01.csv"
    assert caught.value.row == 3
    assert "not valid UTF-8" in str(caught.value)


def test_duplicate_voter_id_across_files_names_both_rows(data_dir: Path) -> None:
    part_2 = data_dir / "voter_roll" / "roll_part_02.csv"
    lines = part_2.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("V0005", "V0002")
    write_lines(part_2, lines)
    with pytest.raises(StructuralError) as caught:
        ingest_input(VOTER_ROLL, data_dir)
    message = str(caught.value)
    assert "voter_id must be unique in voter_roll" in message
    assert "voter_id=V0002 at voter_roll/roll_part_01.csv row 2 and " in message
    assert "voter_roll/roll_part_02.csv row 2" in message
    assert "SMITH" not in message and "O'BRIEN" not in message


def test_duplicate_line_key_fails(data_dir: Path) -> None:
    scans = petition_dir(data_dir) / "scans" / "batch_0002.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("S002,1,1,", "S001,1,2,")
    write_lines(scans, lines)
    with pytest.raises(StructuralError) as caught:
        ingest_input(PETITION_LINES, data_dir)
    message = str(caught.value)
    assert "must be unique in petition_lines" in message
    assert "section_id=S001, page=1, line=2" in message
    assert "batch_0001.csv row 2" in message and "batch_0002.csv row 1" in message


def test_missing_required_input_fails(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "voter_roll")
    with pytest.raises(StructuralError, match="no input files for voter_roll"):
        ingest_input(VOTER_ROLL, data_dir)


def test_optional_inputs_may_be_absent(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "voter_roll" / "address_history")
    shutil.rmtree(petition_dir(data_dir) / "reviews")
    (petition_dir(data_dir) / "withdrawals.csv").unlink()
    shutil.rmtree(petition_dir(data_dir) / "match_reviews")
    for spec in (ADDRESS_HISTORY, SIGNATURE_REVIEWS, MATCH_REVIEWS, WITHDRAWALS):
        result = ingest_input(spec, data_dir)
        assert result.accepted.num_rows == 0 and result.files.num_rows == 0


def test_header_only_file_is_accepted_as_no_rows(data_dir: Path) -> None:
    write_lines(petition_dir(data_dir) / "withdrawals.csv", ["voter_id,received_date"])
    result = ingest_input(WITHDRAWALS, data_dir)
    assert result.rows_read == 0 and result.files.num_rows == 1


def test_unknown_extra_columns_are_kept_out_and_reported(data_dir: Path) -> None:
    write_lines(
        data_dir / "reference" / "jurisdictions.csv",
        ["jurisdiction_code,name,state,fips", "19,Los Angeles County,CA,06037"],
    )
    result = ingest_input(JURISDICTIONS, data_dir)
    assert result.accepted.column_names[:3] == ["jurisdiction_code", "name", "state"]
    assert "fips" not in result.accepted.column_names
    assert result.files.column("extra_columns").to_pylist() == ["fips"]


def test_column_order_is_free_and_bom_is_ignored(data_dir: Path) -> None:
    path = data_dir / "reference" / "jurisdictions.csv"
    path.write_bytes(b"\xef\xbb\xbfstate,name,jurisdiction_code\nCA,Los Angeles County,19\n")
    (row,) = ingest_input(JURISDICTIONS, data_dir).accepted.to_pylist()
    assert row["jurisdiction_code"] == "19" and row["state"] == "CA"


def test_parquet_roll_file_is_read_like_csv(data_dir: Path) -> None:
    csv_path = data_dir / "voter_roll" / "roll_part_02.csv"
    table = pacsv.read_csv(
        csv_path,
        convert_options=pacsv.ConvertOptions(
            column_types={"registration_date": pa.date32(), "zip": pa.string()}
        ),
    )
    pq.write_table(table, csv_path.with_suffix(".parquet"))
    csv_path.unlink()
    result = ingest_input(VOTER_ROLL, data_dir)
    rows = {r["voter_id"]: r for r in result.accepted.to_pylist()}
    assert rows["V0004"]["source_file"] == "voter_roll/roll_part_02.parquet"
    assert rows["V0004"]["registration_date"].isoformat() == "2001-03-03"
    assert result.quarantined.num_rows == 0
    assert_conserved(result)


def test_quoted_newline_in_a_value_keeps_row_numbers(data_dir: Path) -> None:
    scans = petition_dir(data_dir) / "scans" / "batch_0001.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("1234 N Main St Apt 5", '"1234 N Main St\nApt 5"')
    lines[2] = "S001,1,2,truncated"
    write_lines(scans, lines)
    result = ingest_input(PETITION_LINES, data_dir)
    (row,) = result.quarantined.to_pylist()
    assert (row["source_file"], row["source_row"]) == (
        "petitions/test-recall/scans/batch_0001.csv",
        2,
    )
    assert_conserved(result)
