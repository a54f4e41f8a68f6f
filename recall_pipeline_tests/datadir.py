"""A tiny, hand-written data directory that satisfies the contract, for ingestion tests.

Tests copy it into tmp_path and then break exactly one thing, so each failure they assert has a
single known cause.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# The project's committed sample data directory.
SAMPLE = Path(__file__).resolve().parents[1] / "data"
# What runs write into a working copy's data/ beside the sample (see .gitignore): copying it
# would put gigabytes into every test's directory after a `make run`.
_RUN_OUTPUTS = shutil.ignore_patterns("generated", "reports", "*.duckdb*")


def copy_sample(target: Path) -> Path:
    """The sample data directory copied to `target`, without what runs wrote beside it."""
    shutil.copytree(SAMPLE, target, ignore=_RUN_OUTPUTS)
    return target


PETITION_ID = "test-recall"

PETITION_YAML = """\
petition_id: test-recall
kind: local_recall
jurisdiction_code: "19"
target: District Attorney
approved_for_circulation: 2022-01-27
filed_date: 2022-07-06
registered_voters_basis: 5668569
basis_report_date: 2021-12-31
threshold_percent: null
verification:
  method: auto
  sample_seed: 20220709
  sufficient_when: greater_than
registration_cutoff: filed_date
duplicates_keep: earliest
unreviewed_signatures: presume_valid
"""

ROLL_HEADER = (
    "voter_id,jurisdiction_code,last_name,first_name,middle_name,name_suffix,house_number,"
    "street_predir,street_name,street_type,street_postdir,unit_type,unit_number,city,state,zip,"
    "birth_date,registration_date,status,status_reason,status_date"
)
ROLL_PART_1 = [
    "V0001,19,GARCIA,MARIA,ELENA,,1234 1/2,N,MAIN,ST,,APT,5,LOS ANGELES,CA,90012,1970-04-02,"
    "2010-05-01,ACTIVE,,",
    'V0002,19,"O\'BRIEN",PATRICK,,JR,88,,SUNSET,BLVD,,,,LOS ANGELES,CA,90028-1234,,'
    "2015-09-12,INACTIVE,,",
    "V0003,19,NGUYEN,AN,,,17,W,OLYMPIC,BOULEVARD,,,,LOS ANGELES,CA,900151234,1988-12-31,"
    "2019-01-07,CANCELLED,DECEASED,2022-03-01",
]
ROLL_PART_2 = [
    "V0004,19,MUÑOZ,JOSÉ,,,501,,ELM,AVENUE,NORTH,,,PASADENA,CA,91101,1955-07-04,2001-03-03,"
    "ACTIVE,,",
    "V0005,19,SMITH,ROBERT,JAMES,,9,,OAK,DR,,,,LONG BEACH,CA,90802,,2022-07-10,ACTIVE,,",
]
HISTORY = [
    "voter_id,house_number,street_predir,street_name,street_type,street_postdir,unit_type,"
    "unit_number,city,state,zip,valid_from,valid_to",
    "V0001,77,,PINE,ST,,,,LOS ANGELES,CA,90012,2001-01-01,2019-12-31",
]
SECTIONS = [
    "section_id,circulator_name,declaration_signed,declaration_date,jurisdiction_code,"
    "filed_with_petition",
    "S001,Circulator One,Y,2022-07-01,19,Y",
    "S002,Circulator Two,N,,19,Y",
]
SCAN_HEADER = (
    "section_id,page,line,printed_name,residence_address,city,zip,date_signed,"
    "signature_present,page_image"
)
SCAN_BATCH_1 = [
    'S001,1,1,"Garcia, Maria E",1234 N Main St Apt 5,Los Angeles,90012,2022-03-04,Y,'
    "images/S001/p001.png",
    "S001,1,2,Pat O'Brien Jr,88 Sunset Blvd,Hollywood,90028,2022-03-05,Y,images/S001/p001.png",
    "S001,1,3,,,,,2022-03-05,N,images/S001/p001.png",
]
SCAN_BATCH_2 = [
    "S002,1,1,Jose Munoz,501 Elm Ave N,Pasadena,91101,2022-04-01,Y,images/S002/p001.png",
    "S002,1,2,Bob Smith,9 Oak Dr,,90802,2022-04-02,Y,images/S002/p001.png",
]
REVIEWS = [
    "section_id,page,line,finding,examiner_id,reviewed_at",
    "S001,1,1,MATCH,EX01,2022-07-20T10:00:00",
    "S001,1,2,NO_MATCH,EX02,2022-07-20T10:05:00",
]
MATCH_REVIEWS = [
    "section_id,page,line,voter_id,examiner_id,reviewed_at",
    "S002,1,2,V0005,EX03,2022-07-21T09:00:00",
    # No registration found for the signer.
    "S001,1,2,,EX03,2022-07-21 09:05",
]
WITHDRAWALS = ["voter_id,received_date", "V0004,2022-06-30"]
# The proponents' examination (`build_data_dir(examination=True)`): one challenge, rejected.
CHALLENGES = [
    "challenge_id,section_id,page,line,ground,claimed_voter_id,evidence,filed_by,filed_at",
    "C001,S001,1,2,SIGNER_REGISTERED,V0002,found on the roll,PROPONENT01,2022-09-10T10:00",
]
RULINGS = [
    "challenge_id,ruling,ruled_by,ruled_at,note",
    "C001,REJECTED,REG01,2022-09-20T10:00,another signer",
]
CHALLENGE_IDS = frozenset({"C001"})

ROLL_ROWS = len(ROLL_PART_1) + len(ROLL_PART_2)
VOTER_IDS = frozenset(row.split(",")[0] for row in ROLL_PART_1 + ROLL_PART_2)
LINE_ROWS = len(SCAN_BATCH_1) + len(SCAN_BATCH_2)


def roll_lookup(table: str, column: str, values: list[str]) -> set[str]:
    """What `ingest.pipeline.published_lookup` answers once this roll (and these challenges)
    are published."""
    if (table, column) == ("challenges", "challenge_id"):
        return set(values) & CHALLENGE_IDS
    assert (table, column) == ("voter_roll", "voter_id")
    return set(values) & VOTER_IDS


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def petition_dir(root: Path) -> Path:
    return root / "petitions" / PETITION_ID


def build_data_dir(root: Path, examination: bool = False) -> Path:
    """The tiny data directory under `root`; with `examination`, the proponents' challenge and
    its ruling too (a petition under examination has its verdicts decided in full, never for
    some scan batches only)."""
    write_lines(
        root / "reference" / "jurisdictions.csv",
        ["jurisdiction_code,name,state", "19,Los Angeles County,CA", "30,Orange County,CA"],
    )
    write_lines(
        root / "reference" / "jurisdiction_zips.csv",
        ["jurisdiction_code,zip5", "19,90012", "19,90028", "19,90015", "19,91101", "19,90802"],
    )
    write_lines(root / "voter_roll" / "roll_part_01.csv", [ROLL_HEADER, *ROLL_PART_1])
    write_lines(root / "voter_roll" / "roll_part_02.csv", [ROLL_HEADER, *ROLL_PART_2])
    write_lines(root / "voter_roll" / "address_history" / "history.csv", HISTORY)
    petition = petition_dir(root)
    petition.mkdir(parents=True, exist_ok=True)
    (petition / "petition.yaml").write_text(PETITION_YAML, encoding="utf-8")
    write_lines(petition / "sections.csv", SECTIONS)
    write_lines(petition / "scans" / "batch_0001.csv", [SCAN_HEADER, *SCAN_BATCH_1])
    write_lines(petition / "scans" / "batch_0002.csv", [SCAN_HEADER, *SCAN_BATCH_2])
    write_lines(petition / "reviews" / "reviews_001.csv", REVIEWS)
    write_lines(petition / "match_reviews" / "match_reviews_001.csv", MATCH_REVIEWS)
    write_lines(petition / "withdrawals.csv", WITHDRAWALS)
    if examination:
        write_lines(petition / "challenges" / "challenges_001.csv", CHALLENGES)
        write_lines(petition / "rulings" / "rulings_001.csv", RULINGS)
    return root
