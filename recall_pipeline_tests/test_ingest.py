"""Ingestion as plain functions: every bad input ends in its clear error or its quarantine row."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from recall_pipeline.ingest.files import read_input_file
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
    return build_data_dir(tmp_path_factory.mktemp("clean"), examination=True)


@pytest.fixture
def data_dir(tmp_path: Path, clean_dir: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(clean_dir, target)
    return target


def roll_file(root: Path) -> Path:
    return root / "voter_roll" / "roll_part_01.csv"


def assert_conserved(result, root: Path | None = None) -> None:
    """Every row read sits in exactly one place, per file; with the data directory `root`, the
    rows are the file's data lines as its bytes hold them."""
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
        assert sorted(rows) == data_lines(root / file) if root else len(set(rows)) == len(rows)


def data_lines(path: Path) -> list[int]:
    """The physical line numbers of a file's records, read from its bytes by hand: a CSV's
    lines but the header and blank ones, a Parquet file's records from 1."""
    if path.suffix == ".parquet":
        return list(range(1, pq.read_metadata(path).num_rows + 1))
    content = path.read_bytes()
    if b"\n" not in content:  # lines ended by CR alone
        content = content.replace(b"\r", b"\n")
    lines = content.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [i + 1 for i, line in enumerate(lines) if i > 0 and line.strip(b" \t")]


@pytest.mark.parametrize("spec", INPUTS, ids=lambda s: s.name)
def test_clean_inputs_are_accepted_whole(spec, clean_dir: Path) -> None:
    result = ingest_input(spec, clean_dir, lookup=roll_lookup)
    assert result.quarantined.num_rows == 0
    assert all(o.success for o in result.outcomes)
    assert result.accepted.num_rows == result.rows_read > 0
    assert_conserved(result, clean_dir)


def test_provenance_names_file_row_and_hash(clean_dir: Path) -> None:
    result = ingest_input(VOTER_ROLL, clean_dir)
    rows = {r["voter_id"]: r for r in result.accepted.to_pylist()}
    part_2 = clean_dir / "voter_roll" / "roll_part_02.csv"
    assert rows["V0004"]["source_file"] == "voter_roll/roll_part_02.csv"
    # The file's second and third lines: the header is line 1.
    assert rows["V0004"]["source_row"] == 2
    assert rows["V0005"]["source_row"] == 3
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
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-13-45,ACTIVE,,",
            "registration_date: not an ISO date (YYYY-MM-DD)",
        ),
        (
            "V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,,2010-02-30,ACTIVE,,",
            "registration_date: not a real calendar date",
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
    lines.insert(2, broken_row)  # becomes line 3 of the file
    write_lines(roll_file(data_dir), lines)

    result = ingest_input(VOTER_ROLL, data_dir)

    quarantined = result.quarantined.to_pylist()
    assert len(quarantined) == 1
    row = quarantined[0]
    assert (row["source_file"], row["source_row"], row["reason"]) == (
        "voter_roll/roll_part_01.csv",
        3,
        reason,
    )
    assert row["input_name"] == "voter_roll"
    assert "V0101" not in result.accepted.column("voter_id").to_pylist()
    assert result.accepted.num_rows == datadir.ROLL_ROWS
    assert_conserved(result, data_dir)


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
    assert_conserved(result, data_dir)


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
        (2, "V0001"),
        (3, None),
    ]
    not_a_time = "reviewed_at: not an ISO date and time (YYYY-MM-DDTHH:MM[:SS])"
    unknown_voter = "voter_id: no such voter_id in voter_roll"
    assert {r["source_row"]: r["reason"] for r in result.quarantined.to_pylist()} == {
        4: "page: not a whole number",
        5: "section_id: missing required value",
        6: not_a_time,
        7: "reviewed_at: not a real calendar date",
        8: not_a_time,
        9: "reviewed_at: missing required value",
        10: unknown_voter,
        11: f"line: not a whole number; {unknown_voter}; {not_a_time}",
    }
    (row,) = [r for r in result.quarantined.to_pylist() if r["source_row"] == 10]
    assert row["record_key"] == "section_id=S001, page=1, line=3, voter_id=V9999"
    rules = {o.rule.rule_id: o for o in result.outcomes}
    assert rules["voter_id.known"].rule.engine == "warehouse"
    assert rules["voter_id.known"].failing_count == 2
    assert_conserved(result, data_dir)


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
    assert caught.value.row == 4
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
    assert "voter_id=V0002 at voter_roll/roll_part_01.csv row 3 and " in message
    assert "voter_roll/roll_part_02.csv row 3" in message
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
    assert "batch_0001.csv row 3" in message and "batch_0002.csv row 2" in message


def test_a_line_key_written_two_ways_is_one_key(data_dir: Path) -> None:
    """Page "01" and page "1" are both published as page 1: the run stops naming both rows,
    rather than at the warehouse's primary key with no row named."""
    scans = petition_dir(data_dir) / "scans" / "batch_0002.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("S002,1,1,", "S001,01,002,")
    write_lines(scans, lines)
    with pytest.raises(StructuralError) as caught:
        ingest_input(PETITION_LINES, data_dir)
    message = str(caught.value)
    assert "must be unique in petition_lines" in message
    assert "section_id=S001, page=1, line=2 at " in message
    assert "batch_0001.csv row 3" in message and "batch_0002.csv row 2" in message


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
    assert_conserved(result, data_dir)


def test_a_value_spanning_lines_is_quarantined_line_by_line(data_dir: Path) -> None:
    # Records are lines: a line break inside quotes leaves two lines whose quotes do not
    # close, each quarantined; the lines after them keep their numbers.
    scans = petition_dir(data_dir) / "scans" / "batch_0001.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("1234 N Main St Apt 5", '"1234 N Main St\nApt 5"')
    lines[2] = "S001,1,2,truncated"
    write_lines(scans, lines)
    result = ingest_input(PETITION_LINES, data_dir)
    quarantined = {r["source_row"]: r["reason"] for r in result.quarantined.to_pylist()}
    unclosed = "the line opens a quoted value it does not close (a value may not span lines)"
    assert quarantined == {2: unclosed, 3: unclosed, 4: "row has 4 field(s), the header has 10"}
    accepted = [r for r in result.accepted.to_pylist() if r["source_file"].endswith("0001.csv")]
    assert accepted[0]["source_row"] == 5
    assert_conserved(result, data_dir)


# --- the strict line pass: what a file holds is counted from its bytes ------------------------

HEADER3 = b"a,b,c\n"


@pytest.mark.parametrize(
    ("body", "accepted", "quarantined", "blank"),
    [
        # A stray quote stays on its line; the lines after it are read as usual.
        (b'1,"Bob Smith,3\n4,5,6\n7,8,9\n', [3, 4], {2: "opens a quoted value"}, 0),
        # Blank lines are counted and hold no record; the lines after keep their numbers.
        (b"1,2,3\n\n   \n4,5,6\n\t\n", [2, 5], {}, 3),
        (b"1,2\x003\n4,5,6\n", [3], {2: "control character (byte 0x00 at column 4)"}, 0),
        (b"1,2\r3,4\n4,5,6\n", [3], {2: "control character (byte 0x0D at column 4)"}, 0),
        (b"1,2\x1b,3\n4,5,6\n", [3], {2: "control character (byte 0x1B"}, 0),
        (b"1,2\n4,5,6\n7,8,9,10\n", [3], {2: "2 field(s)", 4: "4 field(s)"}, 0),
        # Quotes that pair up but do not make CSV: read line by line, the line quarantined.
        (b'1,x"y,"z\n4,5,6\n', [3], {2: "not valid CSV"}, 0),
        (b'"1","2 ""two""","3"\n4,5,6', [2, 3], {}, 0),  # no LF after the last line
        (b"1,2,3\r\n\r\n4,5,6\r\n", [2, 4], {}, 1),
        # NULs in a short file are bad lines, not a file in UTF-16 (found by the fuzzer).
        (b"\x00\n\x00\x00\n", [], {2: "byte 0x00", 3: "byte 0x00"}, 0),
    ],
    ids=[
        "stray-quote", "blank-lines", "nul", "lone-cr", "escape", "field-counts",
        "bad-quoting", "doubled-quotes", "crlf", "nul-lines",
    ],
)  # fmt: skip
def test_each_physical_line_is_accepted_quarantined_or_blank(
    tmp_path: Path, body: bytes, accepted: list[int], quarantined: dict[int, str], blank: int
) -> None:
    path = tmp_path / "lines.csv"
    path.write_bytes(HEADER3 + body)
    raw = read_input_file(path, tmp_path, ["a", "b", "c"], ["a"])
    assert raw.table.column("source_row").to_pylist() == accepted
    assert {r.source_row: r.problem for r in raw.invalid_rows}.keys() == quarantined.keys()
    for row in raw.invalid_rows:
        assert quarantined[row.source_row] in row.problem
        assert "\x00" not in row.raw_text and "\r" not in row.raw_text
    assert raw.blank_lines == blank
    assert raw.rows_read == len(accepted) + len(quarantined)
    assert sorted([*accepted, *quarantined]) == data_lines(path)


def test_a_stray_quote_in_a_long_file_loses_no_line(data_dir: Path) -> None:
    """The probe's case: one unclosed quote in a file quoted only where needed used to swallow
    the lines after it into one quarantined record."""
    scans = petition_dir(data_dir) / "scans" / "batch_0001.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    template = lines[1].split(",")
    rows = [lines[0]]
    for n in range(1, 505):
        fields = [*template]
        fields[:3] = ["S001", str(1 + (n - 1) // 10), str(1 + (n - 1) % 10)]
        rows.append(",".join(fields))
    rows[7] = rows[7].replace("1234 N Main St Apt 5", '"Bob Smith')
    write_lines(scans, rows)
    result = ingest_input(PETITION_LINES, data_dir)
    (ledger,) = [f for f in result.files.to_pylist() if f["source_file"].endswith("0001.csv")]
    assert ledger["rows_read"] == 504
    assert (ledger["rows_accepted"], ledger["rows_quarantined"]) == (503, 1)
    (row,) = result.quarantined.to_pylist()
    assert row["source_row"] == 8 and "opens a quoted value" in row["reason"]
    assert_conserved(result, data_dir)


def test_lines_ended_by_cr_alone_are_read(tmp_path: Path) -> None:
    path = tmp_path / "old_mac.csv"
    path.write_bytes(b"a,b,c\r1,2,3\r4,5,6\r")
    raw = read_input_file(path, tmp_path, ["a", "b", "c"], ["a"])
    assert raw.table.column("a").to_pylist() == ["1", "4"]
    assert raw.table.column("source_row").to_pylist() == [2, 3]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("a,b,c\n1,2,3\n".encode("utf-16"), "encoded as UTF-16 (little-endian)"),
        ("a,b,c\n1,2,3\n".encode("utf-16-be"), "encoded as UTF-16 (NUL bytes between"),
        (
            "a,b,c\n1,José Muñoz Peña,García\n".encode("latin-1"),
            "not valid UTF-8 (byte offset 11, it looks like",
        ),
    ],
    ids=["utf16-bom", "utf16-no-bom", "latin-1"],
)
def test_a_file_not_in_utf8_is_named_with_its_encoding(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "encoded.csv"
    path.write_bytes(content)
    with pytest.raises(StructuralError) as caught:
        read_input_file(path, tmp_path, ["a", "b", "c"], ["a"])
    assert caught.value.file == "encoded.csv"
    assert problem in caught.value.problem


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list('ab,"\x00\r\t \u00e9')), max_size=12),
        max_size=12,
    ),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_fuzz_every_line_ends_in_one_place(lines: list[str], end: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(b"a,b,c" + end + end.join(t.encode() for t in lines) + end)
        raw = read_input_file(path, Path(folder), ["a", "b", "c"], ["a"])
        rows = [
            *raw.table.column("source_row").to_pylist(),
            *(r.source_row for r in raw.invalid_rows),
        ]
        assert sorted(rows) == data_lines(path)
        assert raw.rows_read == len(rows)


# --- every entry of an input's folder is accounted for ----------------------------------------


def _scans(root: Path) -> Path:
    return petition_dir(root) / "scans"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: (d / "batch_0009.csv").symlink_to("/etc/passwd"), "a link to a file outside"),
        (lambda d: (d / "batch_0009.csv").symlink_to(d / "gone.csv"), "a link to nothing"),
        (lambda d: (d / "batch_0009.csv").mkdir(), "a folder"),
        (lambda d: os.mkfifo(d / "batch_0009.csv"), "a named pipe (FIFO)"),
    ],
    ids=["link-out", "dangling-link", "folder", "fifo"],
)
def test_an_entry_that_is_not_a_regular_file_fails_the_run_by_name(
    data_dir: Path, make, problem: str
) -> None:
    make(_scans(data_dir))
    with pytest.raises(StructuralError) as caught:
        ingest_input(PETITION_LINES, data_dir)
    assert caught.value.file == "petitions/test-recall/scans/batch_0009.csv"
    assert caught.value.problem.startswith(problem)


def test_a_file_of_another_kind_is_listed_as_ignored(data_dir: Path) -> None:
    (_scans(data_dir) / "notes.txt").write_text("keyed by the night shift\n", encoding="utf-8")
    result = ingest_input(PETITION_LINES, data_dir)
    ledger = {f["source_file"]: f for f in result.files.to_pylist()}
    note = ledger["petitions/test-recall/scans/notes.txt"]
    assert note["ignored"] == "not a CSV or PARQUET file"
    assert (note["rows_read"], note["physical_lines"], note["size_bytes"]) == (0, 0, 25)
    assert all(f["ignored"] is None for k, f in ledger.items() if k.endswith(".csv"))
    assert_conserved(result, data_dir)


def test_a_link_inside_the_data_directory_is_read_under_its_own_name(data_dir: Path) -> None:
    scans = _scans(data_dir)
    (scans / "batch_0002.csv").rename(data_dir / "delivered.csv")
    (scans / "batch_0002.csv").symlink_to(data_dir / "delivered.csv")
    result = ingest_input(PETITION_LINES, data_dir)
    files = set(result.accepted.column("source_file").to_pylist())
    assert "petitions/test-recall/scans/batch_0002.csv" in files
    assert "delivered.csv" not in files


@pytest.mark.parametrize(
    ("birth_date", "problem"),
    [("04/11/1983", "not an ISO date (YYYY-MM-DD)"), ("1983-02-30", "not a real calendar date")],
)
def test_a_bad_birth_date_costs_the_value_not_the_registration(
    data_dir: Path, birth_date: str, problem: str
) -> None:
    # No rule of verification reads a birth date: setting the registration aside would make
    # its voter's signature NOT_REGISTERED for a typo in it.
    lines = roll_file(data_dir).read_text(encoding="utf-8").splitlines()
    lines.insert(
        2, f"V0101,19,DOE,JANE,,,1,,MAIN,ST,,,,LA,CA,90012,{birth_date},2010-01-01,ACTIVE,,"
    )
    write_lines(roll_file(data_dir), lines)
    result = ingest_input(VOTER_ROLL, data_dir)
    assert result.quarantined.num_rows == 0
    (kept,) = [r for r in result.accepted.to_pylist() if r["voter_id"] == "V0101"]
    assert kept["birth_date"] is None and kept["last_name"] == "DOE"
    assert result.nulled.to_pylist() == [
        {
            "input_name": "voter_roll",
            "petition_id": None,
            "source_file": "voter_roll/roll_part_01.csv",
            "source_row": 3,
            "source_sha256": kept["source_sha256"],
            "column_name": "birth_date",
            "problem": problem,
            "record_key": "voter_id=V0101",
        }
    ]
    assert birth_date not in str(result.nulled.to_pylist())
    assert_conserved(result, data_dir)
