"""The bad-input corpus: the ways a county's files arrive wrong, each run through the whole
pipeline on the sample data directory, table-driven.

Every case asserts its outcome class — the run stops with an error naming the file; a row is
quarantined with its reason; lines wait PENDING for a correction; a value is set to missing; a
file is listed as ignored; or the file reads as if nothing were wrong — and, whenever the run
goes through, that nothing was lost and nothing moved in silence:

- per file, the rows read are the file's data lines as its bytes hold them, and each landed
  accepted or quarantined;
- the raw count is the number of data lines in the scan files (a line filed is a line counted);
- no verdict differs from the clean run's but those of the lines the case touches.

CI runs every third case, on DuckDB and PostgreSQL in turn (about three minutes); `make corpus`
runs every case on both.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import settings
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify.corrections import INPUT_NEEDS_CORRECTION
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.datadir import CHALLENGES, RULINGS, build_data_dir, write_lines
from recall_pipeline_tests.test_ingest import data_lines

PETITION = "petitions/test-recall"
SCAN = f"{PETITION}/scans/batch_0001.csv"
SCAN_2 = f"{PETITION}/scans/batch_0002.csv"
ROLL = "voter_roll/roll_part_01.csv"
HISTORY = "voter_roll/address_history/history.csv"

# The sample's lines (see datadir.py): S001/1/1 MARIA GARCIA (V0001, VALID), S001/1/2 (no
# registration found), S001/1/3 (no signature), S002/1/1-2 (section without a declaration).
VALID_LINE = ("S001", 1, 1)
LINE_2 = ("S001", 1, 2)


def where(file: str, row: int) -> tuple[str, int, int]:
    """The key a line quarantined unparsed is listed under: its physical line."""
    return (f"(line {row} of {file})", 0, row)


# --- faults ------------------------------------------------------------------------------------


def rewrite(file: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def fault(root: Path) -> None:
        path = root / file
        path.write_bytes(change(path.read_bytes()))

    return fault


def replace(file: str, old: str | bytes, new: str | bytes, count: int = 1):
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new

    def change(content: bytes) -> bytes:
        assert old_b in content, (file, old_b)
        return content.replace(old_b, new_b, count)

    return rewrite(file, change)


def append(file: str, text: str):
    return rewrite(file, lambda content: content + text.encode())


def lines_of(file: str, change: Callable[[list[str]], list[str]]):
    def fault(root: Path) -> None:
        path = root / file
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")

    return fault


def encoded(file: str, encoding: str):
    def fault(root: Path) -> None:
        path = root / file
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))

    return fault


def entry(file: str, make: Callable[[Path, Path], None]):
    def fault(root: Path) -> None:
        make(root / file, root)

    return fault


def drop_column(file: str, column: str):
    def change(lines: list[str]) -> list[str]:
        at = lines[0].split(",").index(column)
        return [",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines]

    return lines_of(file, change)


# --- cases -------------------------------------------------------------------------------------


CHALLENGES_FILE = f"{PETITION}/challenges/challenges_001.csv"
RULINGS_FILE = f"{PETITION}/rulings/rulings_001.csv"
# A well-formed challenge to S001/1/2 (NOT_REGISTERED at the finding), filed after the finding.
CHALLENGE = "C001,S001,1,2,SIGNER_REGISTERED,V0002,,PROPONENT01,2022-09-10T10:00"


def examination(challenges: list[str], rulings: list[str] = ()):
    """The proponents' files, as the examination room would deliver them."""

    def fault(root: Path) -> None:
        write_lines(root / CHALLENGES_FILE, [CHALLENGES[0], *challenges])
        if rulings:
            write_lines(root / RULINGS_FILE, [RULINGS[0], *rulings])

    return fault


@dataclass(frozen=True)
class Case:
    id: str
    fault: Callable[[Path], None]
    # error | quarantine | pending | nulled | ignored | read
    outcome: str
    # The file the error or the row names.
    file: str | None = None
    # What the error or the quarantine reason says.
    says: str = ""
    # Lines whose verdict may change (the others must not).
    touched: frozenset = field(default_factory=frozenset)
    # pending: the lines that must be PENDING for a correction.
    pending: frozenset = field(default_factory=frozenset)


def case(id, fault, outcome, file=None, says="", touched=(), pending=None) -> Case:
    touched = frozenset(touched)
    return Case(id, fault, outcome, file, says, touched, frozenset(pending or ()))


CASES = [
    # Scan files: a line filed stays a line, PENDING until corrected.
    case("scan-stray-quote", replace(SCAN, "Pat O'Brien Jr", '"Pat O\'Brien Jr'), "pending",
         SCAN, "opens a quoted value", {LINE_2, where(SCAN, 3)}, {where(SCAN, 3)}),
    case("scan-stray-quote-mid-value", replace(SCAN, "1234 N Main", '1234 "N Main'), "pending",
         SCAN, "opens a quoted value", {VALID_LINE, where(SCAN, 2)}, {where(SCAN, 2)}),
    case("scan-value-spanning-lines",
         replace(SCAN, "1234 N Main St Apt 5", '"1234 N Main St\nApt 5"'), "pending", SCAN,
         "opens a quoted value", {VALID_LINE, where(SCAN, 2), where(SCAN, 3)},
         {where(SCAN, 2), where(SCAN, 3)}),
    case("scan-nul", replace(SCAN, "Pat O'Brien", "Pat\x00O'Brien"), "pending", SCAN,
         "byte 0x00", {LINE_2, where(SCAN, 3)}, {where(SCAN, 3)}),
    case("scan-lone-cr", replace(SCAN, "Pat O'Brien", "Pat\rO'Brien"), "pending", SCAN,
         "byte 0x0D", {LINE_2, where(SCAN, 3)}, {where(SCAN, 3)}),
    case("scan-escape", replace(SCAN, "Pat O'Brien", "Pat\x1bO'Brien"), "pending", SCAN,
         "byte 0x1B", {LINE_2, where(SCAN, 3)}, {where(SCAN, 3)}),
    case("scan-delete-char", replace(SCAN, "Pat O'Brien", "Pat\x7fO'Brien"), "pending", SCAN,
         "byte 0x7F", {LINE_2, where(SCAN, 3)}, {where(SCAN, 3)}),
    case("scan-truncated-row", append(SCAN, "S001,1,4,Someone\n"), "pending", SCAN,
         "4 field(s)", {where(SCAN, 5)}, {where(SCAN, 5)}),
    case("scan-overlong-row", append(SCAN, "S001,1,4,A,B,C,D,2022-03-05,Y,img,EXTRA\n"), "pending",
         SCAN, "11 field(s)", {where(SCAN, 5)}, {where(SCAN, 5)}),
    case("scan-signature-maybe", replace(SCAN, "2022-03-05,Y,", "2022-03-05,maybe,"), "pending",
         SCAN, "signature_present", {LINE_2}, {LINE_2}),
    case("scan-signature-lowercase", replace(SCAN, "2022-03-04,Y,", "2022-03-04,y,"), "pending",
         SCAN, "signature_present", {VALID_LINE}, {VALID_LINE}),
    case("scan-date-us", replace(SCAN, "2022-03-04", "03/04/2022"), "pending", SCAN,
         "date_signed", {VALID_LINE}, {VALID_LINE}),
    case("scan-date-impossible", replace(SCAN, "2022-03-04", "2022-02-30"), "pending", SCAN,
         "date_signed", {VALID_LINE}, {VALID_LINE}),
    case("scan-page-word", replace(SCAN, "S001,1,1,", "S001,one,1,"), "pending", SCAN,
         "page", {VALID_LINE, where(SCAN, 2)}, {where(SCAN, 2)}),
    case("scan-line-negative", replace(SCAN, "S001,1,1,", "S001,1,-1,"), "pending", SCAN,
         "line", {VALID_LINE, where(SCAN, 2)}, {where(SCAN, 2)}),
    case("scan-section-blank", replace(SCAN, "S001,1,1,", ",1,1,"), "pending", SCAN,
         "section_id", {VALID_LINE, where(SCAN, 2)}, {where(SCAN, 2)}),
    # Scan files that read as if nothing were wrong.
    case("scan-blank-lines", replace(SCAN, "\nS001,1,2,", "\n\n  \nS001,1,2,"), "read"),
    case("scan-blank-lines-at-end", append(SCAN, "\n\n\n"), "read"),
    case("scan-crlf", replace(SCAN, b"\n", b"\r\n", -1), "read"),
    case("scan-cr-only", replace(SCAN, b"\n", b"\r", -1), "read"),
    case("scan-utf8-bom", rewrite(SCAN, lambda c: b"\xef\xbb\xbf" + c), "read"),
    case("scan-all-quoted", lines_of(SCAN, lambda ls: [ls[0]] + [
        ",".join(f'"{v}"' for v in next(csv.reader([line]))) for line in ls[1:]
    ]), "read"),
    case("scan-padded-values", replace(SCAN, ",Y,images/S001", ",  Y  ,images/S001", -1), "read"),
    case("scan-extra-column", lines_of(SCAN, lambda ls: [ls[0] + ",keyer"]
                                       + [line + ",K9" for line in ls[1:]]), "read"),
    case("scan-columns-reordered", lines_of(SCAN, lambda ls: [
        ",".join(reversed(next(csv.reader([line])))) if i == 0 else
        ",".join(f'"{v}"' for v in reversed(next(csv.reader([line]))))
        for i, line in enumerate(ls)
    ]), "read"),
    case("scan-header-only", lines_of(SCAN_2, lambda ls: ls[:1]), "read",
         touched={("S002", 1, 1), ("S002", 1, 2)}),
    # Scan files the run cannot read: it stops, naming the file.
    case("scan-utf16", encoded(SCAN, "utf-16"), "error", SCAN, "encoded as UTF-16"),
    case("scan-utf16-no-bom", encoded(SCAN, "utf-16-le"), "error", SCAN, "encoded as UTF-16"),
    case("scan-latin1", rewrite(SCAN, lambda c: c.decode().replace("Pat", "Pât").encode("latin-1")),
         "error", SCAN, "not valid UTF-8"),
    case("scan-duplicate-key", replace(SCAN, "S001,1,2,", "S001,1,1,"), "error", SCAN,
         "must be unique"),
    case("scan-duplicate-key-across-batches", replace(SCAN_2, "S002,1,1,", "S001,1,1,"), "error",
         None, "must be unique"),
    case("scan-missing-column", drop_column(SCAN, "signature_present"), "error", SCAN,
         "required column(s) missing"),
    case("scan-repeated-header", replace(SCAN, "city,zip", "city,city"), "error", SCAN,
         "repeated in the header"),
    case("scan-unnamed-column", replace(SCAN, "city,zip", "city,,zip"), "error", SCAN,
         "unnamed column"),
    case("scan-empty", rewrite(SCAN, lambda c: b""), "error", SCAN, "the file is empty"),
    case("scan-link-out", entry(f"{PETITION}/scans/batch_0009.csv",
                                lambda p, r: p.symlink_to("/etc/passwd")),
         "error", f"{PETITION}/scans/batch_0009.csv", "a link to a file outside"),
    case("scan-dangling-link", entry(f"{PETITION}/scans/batch_0009.csv",
                                     lambda p, r: p.symlink_to(p.parent / "gone.csv")),
         "error", f"{PETITION}/scans/batch_0009.csv", "a link to nothing"),
    case("scan-folder", entry(f"{PETITION}/scans/batch_0009.csv", lambda p, r: p.mkdir()),
         "error", f"{PETITION}/scans/batch_0009.csv", "a folder"),
    case("scan-fifo", entry(f"{PETITION}/scans/batch_0009.csv", lambda p, r: os.mkfifo(p)),
         "error", f"{PETITION}/scans/batch_0009.csv", "a named pipe"),
    case("scan-notes", entry(f"{PETITION}/scans/notes.txt", lambda p, r: p.write_text("hi\n")),
         "ignored", f"{PETITION}/scans/notes.txt"),
    case("scan-spreadsheet", entry(f"{PETITION}/scans/batch_0009.xlsx",
                                   lambda p, r: p.write_bytes(b"PK\x03\x04\x00\x00")),
         "ignored", f"{PETITION}/scans/batch_0009.xlsx"),
    case("scan-hidden-file", entry(f"{PETITION}/scans/.DS_Store",
                                   lambda p, r: p.write_bytes(b"\x00\x00\x00\x01Bud1")),
         "ignored", f"{PETITION}/scans/.DS_Store"),
    # The roll: a registration set aside holds its signer's line PENDING; a bad value no rule
    # reads costs the value only.
    case("roll-birth-date-us", replace(ROLL, "1970-04-02", "04/02/1970"), "nulled", ROLL,
         "birth_date"),
    case("roll-birth-date-impossible", replace(ROLL, "1970-04-02", "1970-02-30"), "nulled", ROLL,
         "birth_date"),
    case("roll-registration-date-us", replace(ROLL, "2010-05-01", "05/01/2010"), "quarantine",
         ROLL, "registration_date", {VALID_LINE}, {VALID_LINE}),
    case("roll-status-unknown", replace(ROLL, "2010-05-01,ACTIVE", "2010-05-01,PURGED"),
         "quarantine", ROLL, "status", {VALID_LINE}, {VALID_LINE}),
    case("roll-zip-malformed", replace(ROLL, ",90012,", ",9OO12,"), "quarantine", ROLL, "zip",
         {VALID_LINE}, {VALID_LINE}),
    case("roll-last-name-missing", replace(ROLL, "V0001,19,GARCIA,", "V0001,19,,"), "quarantine",
         ROLL, "last_name", {VALID_LINE}, {VALID_LINE}),
    case("roll-nul", replace(ROLL, "V0001,19,GARCIA", "V0001,19,GAR\x00CIA"), "quarantine", ROLL,
         "byte 0x00", {VALID_LINE}, {VALID_LINE}),
    case("roll-stray-quote", replace(ROLL, "V0001,19,GARCIA", 'V0001,19,"GARCIA'), "quarantine",
         ROLL, "opens a quoted value", {VALID_LINE}, {VALID_LINE}),
    case("roll-cancelled-without-date", replace(ROLL, "CANCELLED,DECEASED,2022-03-01",
                                                "CANCELLED,DECEASED,"),
         "quarantine", ROLL, "status_date"),
    case("roll-duplicate-voter", append(ROLL, "V0002,19,X,Y,,,1,,MAIN,ST,,,,LA,CA,90012,,"
                                              "2010-01-01,ACTIVE,,\n"),
         "error", None, "voter_id must be unique"),
    case("roll-blank-lines", replace(ROLL, b"\nV0002", b"\n\n\nV0002"), "read"),
    case("history-date-bad", replace(HISTORY, "2019-12-31", "12/31/2019"), "quarantine",
         HISTORY, "valid_to"),
    case("history-voter-blank", replace(HISTORY, "V0001,77,", ",77,"), "quarantine", HISTORY,
         "voter_id"),
    case("match-review-key-word", replace(f"{PETITION}/match_reviews/match_reviews_001.csv",
                                          "S002,1,2,V0005", "S002,one,2,V0005"),
         "quarantine", f"{PETITION}/match_reviews/match_reviews_001.csv", "page",
         {("S002", 1, 2)}),
    # Side files of the petition: the rules a set-aside row would have decided stay unknown.
    case("section-declaration-maybe", replace(f"{PETITION}/sections.csv", "One,Y,", "One,maybe,"),
         "quarantine", f"{PETITION}/sections.csv", "declaration_signed",
         {VALID_LINE, LINE_2, ("S001", 1, 3)}, {VALID_LINE}),
    case("section-filed-blank", replace(f"{PETITION}/sections.csv", "2022-07-01,19,Y",
                                        "2022-07-01,19,"),
         "quarantine", f"{PETITION}/sections.csv", "filed_with_petition",
         {VALID_LINE, LINE_2, ("S001", 1, 3)}, {VALID_LINE}),
    case("section-duplicate", append(f"{PETITION}/sections.csv", "S001,Other,Y,2022-07-01,19,Y\n"),
         "error", None, "must be unique"),
    case("review-finding-lowercase", replace(f"{PETITION}/reviews/reviews_001.csv", "1,MATCH,",
                                             "1,match,"),
         "quarantine", f"{PETITION}/reviews/reviews_001.csv", "finding", {VALID_LINE},
         {VALID_LINE}),
    case("review-no-match-lowercase", replace(f"{PETITION}/reviews/reviews_001.csv", "NO_MATCH",
                                              "no_match"),
         "quarantine", f"{PETITION}/reviews/reviews_001.csv", "finding", {LINE_2}),
    case("match-review-bad-time", replace(f"{PETITION}/match_reviews/match_reviews_001.csv",
                                          "2022-07-21T09:00:00", "21/07/2022 9am"),
         "quarantine", f"{PETITION}/match_reviews/match_reviews_001.csv", "reviewed_at"),
    case("match-review-unknown-voter", replace(f"{PETITION}/match_reviews/match_reviews_001.csv",
                                               "V0005", "V9999"),
         "quarantine", f"{PETITION}/match_reviews/match_reviews_001.csv", "no such voter_id",
         {("S002", 1, 2)}),
    case("withdrawal-date-us", replace(f"{PETITION}/withdrawals.csv", "2022-06-30", "06/30/2022"),
         "quarantine", f"{PETITION}/withdrawals.csv", "received_date", {("S002", 1, 1)}),
    case("zip-malformed", replace("reference/jurisdiction_zips.csv", "19,90012", "19,9OO12"),
         "quarantine", "reference/jurisdiction_zips.csv", "zip5", {VALID_LINE}, {VALID_LINE}),
    # The examination's files: a row that cannot be read as written is set aside with its
    # reason, and decides nothing.
    case("challenge-ground-unknown",
         examination([CHALLENGE.replace("SIGNER_REGISTERED", "BECAUSE")]),
         "quarantine", CHALLENGES_FILE, "ground"),
    case("challenge-filed-at-words",
         examination([CHALLENGE.replace("2022-09-10T10:00", "Sept 10")]),
         "quarantine", CHALLENGES_FILE, "filed_at"),
    case("ruling-lowercase", examination([CHALLENGE], ["C001,accepted,REG01,2022-09-20T10:00,"]),
         "quarantine", RULINGS_FILE, "ruling"),
    case("ruling-unknown-challenge",
         examination([CHALLENGE], ["C999,ACCEPTED,REG01,2022-09-20T10:00,"]),
         "quarantine", RULINGS_FILE, "challenge_id"),
    # A challenge to a line counted VALID is set aside by the verdict step, not read as one.
    case("challenge-on-a-valid-line",
         examination([CHALLENGE.replace("S001,1,2,", "S001,1,1,")],
                     ["C001,ACCEPTED,REG01,2022-09-20T10:00,"]),
         "read"),
    # petition.yaml: refused, every problem named.
    case("yaml-key-twice", replace(f"{PETITION}/petition.yaml", "threshold_percent: null",
                                   "threshold_percent: 10\nthreshold_percent: 1"),
         "error", f"{PETITION}/petition.yaml", "given twice"),
    case("yaml-unknown-key", replace(f"{PETITION}/petition.yaml", "verification:",
                                     "verification_typo:"),
         "error", f"{PETITION}/petition.yaml", "not a setting petition.yaml has"),
    case("yaml-date-as-number", replace(f"{PETITION}/petition.yaml", "filed_date: 2022-07-06",
                                        "filed_date: 20220706"),
         "error", f"{PETITION}/petition.yaml", "is not a date"),
    case("yaml-not-yaml", replace(f"{PETITION}/petition.yaml", "kind: local_recall",
                                  "kind: [local_recall"),
         "error", f"{PETITION}/petition.yaml", "not valid YAML"),
    # A count of signatures on file no rule reads: a bad one costs the value, not the finding.
    case("review-signatures-compared-word",
         lines_of(f"{PETITION}/reviews/reviews_001.csv", lambda ls: [ls[0] + ",signatures_compared"]
                  + [line + (",two" if i == 0 else ",1") for i, line in enumerate(ls[1:])]),
         "nulled", f"{PETITION}/reviews/reviews_001.csv", "signatures_compared"),
    case("review-signatures-compared-negative",
         lines_of(f"{PETITION}/reviews/reviews_001.csv", lambda ls: [ls[0] + ",signatures_compared"]
                  + [line + (",-1" if i == 0 else ",") for i, line in enumerate(ls[1:])]),
         "nulled", f"{PETITION}/reviews/reviews_001.csv", "signatures_compared"),
]  # fmt: skip

CI_CASES = {c.id: ("duckdb", "postgresql")[i // 3 % 2] for i, c in enumerate(CASES) if i % 3 == 0}


def _params():
    for c in CASES:
        for backend in ("duckdb", "postgresql"):
            marks = () if CI_CASES.get(c.id) == backend else (pytest.mark.corpus_full,)
            yield pytest.param(c, backend, id=f"{c.id}-{backend}", marks=marks)


# --- the run and what must hold -----------------------------------------------------------------


def _verdicts(url: str) -> dict[tuple, tuple]:
    with Warehouse(url) as store:
        rows = store.query(
            "SELECT section_id, page, line, status, reason_code, pending_reason FROM line_verdicts"
        )
    return {
        (r.section_id, int(r.page), int(r.line)): (
            r.status, None if pd.isna(r.reason_code) else r.reason_code,
            None if pd.isna(r.pending_reason) else r.pending_reason,
        )
        for r in rows.itertuples(index=False)
    }  # fmt: skip


def _run(root: Path, url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return materialize_all()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Each backend's verdicts of the clean sample."""
    found = {}
    for backend in ("duckdb", "postgresql"):
        root = tmp_path_factory.mktemp(f"clean-{backend}")
        data = build_data_dir(root / "data")
        with (
            fresh_warehouse_url(backend, root) as url,
            pytest.MonkeyPatch.context() as patch,
        ):
            outcome = _run(data, url, patch)
            assert outcome.success, outcome.errors
            found[backend] = _verdicts(url)
    return found


@pytest.mark.parametrize(("bad", "backend"), list(_params()))
def test_bad_input(
    bad: Case, backend: str, clean, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_data_dir(tmp_path / "data")
    bad.fault(root)
    with fresh_warehouse_url(backend, tmp_path) as url:
        outcome = _run(root, url, monkeypatch)
        if bad.outcome == "error":
            assert not outcome.success
            assert len(outcome.errors) == 1, outcome.errors
            (error,) = outcome.errors
            assert bad.says in error
            if bad.file:
                assert bad.file in error
            return
        assert outcome.success, outcome.errors
        with Warehouse(url) as store:
            ledger = store.query("SELECT * FROM ingested_files").to_dict("records")
            quarantined = store.query("SELECT * FROM quarantined_rows").to_dict("records")
            nulled = store.query("SELECT * FROM nulled_values").to_dict("records")
            raw_count = int(
                store.query("SELECT raw_count FROM sufficiency_determination").iloc[0, 0]
            )
        verdicts = _verdicts(url)
    _nothing_lost(root, ledger)
    filed = sum(len(data_lines(p)) for p in (root / PETITION / "scans").glob("*.csv"))
    assert raw_count == filed == len(verdicts)
    before = clean[backend]
    moved = {k for k in before.keys() | verdicts.keys() if before.get(k) != verdicts.get(k)}
    assert moved <= bad.touched, f"verdicts moved beyond the lines touched: {moved - bad.touched}"
    for key in bad.pending:
        assert verdicts[key] == ("PENDING", None, INPUT_NEEDS_CORRECTION), key
    if bad.outcome in ("quarantine", "pending"):
        named = [q for q in quarantined if q["source_file"] == bad.file and bad.says in q["reason"]]
        assert named, quarantined
    elif bad.outcome == "nulled":
        assert [(n["source_file"], n["column_name"]) for n in nulled] == [(bad.file, bad.says)]
        assert not quarantined
    elif bad.outcome == "ignored":
        (listed,) = [f for f in ledger if f["source_file"] == bad.file]
        assert listed["ignored"] and listed["rows_read"] == 0
    else:
        assert bad.outcome == "read" and not quarantined and not nulled


def _nothing_lost(root: Path, ledger: list[dict]) -> None:
    """Per file: the rows read are its data lines as its bytes hold them (counted by hand),
    and each landed accepted or quarantined once."""
    for f in ledger:
        if f["ignored"]:
            continue
        assert f["rows_read"] == f["physical_lines"] - f["header_lines"] - f["blank_lines"]
        assert f["rows_read"] == f["rows_accepted"] + f["rows_quarantined"]
        path = root / f["source_file"]
        if path.suffix == ".csv":
            assert f["rows_read"] == len(data_lines(path)), f["source_file"]


def test_the_corpus_is_large_and_covers_every_outcome() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.outcome for c in CASES} == {
        "error", "quarantine", "pending", "nulled", "ignored", "read"
    }  # fmt: skip
    assert set(CI_CASES.values()) == {"duckdb", "postgresql"}


def test_a_case_that_loses_a_line_is_caught(tmp_path: Path) -> None:
    """The harness's own check fails on a ledger that agrees with itself but not with the
    file's bytes."""
    root = build_data_dir(tmp_path / "data")
    path = root / SCAN
    rows = {
        "source_file": SCAN, "ignored": None, "physical_lines": 3, "header_lines": 1,
        "blank_lines": 0, "rows_read": 2, "rows_accepted": 2, "rows_quarantined": 0,
    }  # fmt: skip
    assert len(data_lines(path)) == 3
    with pytest.raises(AssertionError):
        _nothing_lost(root, [rows])
    shutil.rmtree(root)
