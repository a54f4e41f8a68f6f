"""Writing the scenario: the county's data directory, and the truth kept apart from it.

Files follow /work/shared/data-contract.md. All CSVs are written in bulk through pyarrow (empty
cells for missing values), and every random choice comes from the seeded generators upstream,
so the same scenario, scale and seed give byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recall_pipeline.reference import read_reference
from recall_pipeline.scenario.calibration import Targets
from recall_pipeline.scenario.geography import COUNTIES, LA_CODE
from recall_pipeline.scenario.streets import AddressWriter, written_zip

PETITION_ID = "la-2022-da-recall"
ROLL_ROWS_PER_FILE = 1_500_000
REVIEW_ROWS_PER_FILE = 100_000


def _arrow(frame: pd.DataFrame) -> pa.Table:
    arrays = []
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind in "iuf":
            arrays.append(pa.array(col.to_numpy()))
        else:
            values = pa.Array.from_pandas(col.astype("str")).cast(pa.string())
            arrays.append(pc.if_else(pc.equal(values, ""), None, values))
    return pa.Table.from_arrays(arrays, names=list(frame.columns))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV with a header; empty strings become empty (missing) cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _arrow(frame)
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """The same columns as write_csv, as Parquet (the contract accepts either)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_arrow(frame), path)


def iso(days: np.ndarray) -> pd.Series:
    """ISO dates from day numbers; NO_DATE becomes an empty cell."""
    from recall_pipeline.scenario.la2022 import NO_DATE

    days = np.asarray(days, dtype=np.int64)
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    return pd.Series(np.where(days > NO_DATE, text, ""), dtype="str")


def write_reference(out: Path, zips: pd.DataFrame, cities=()) -> None:
    """Counties and their ZIPs; `cities` adds (code, name, zip5 list) of cities inside one."""
    jur = pd.DataFrame(
        {
            "jurisdiction_code": list(COUNTIES) + [c[0] for c in cities],
            "name": [f"{n} County" for n in COUNTIES.values()] + [c[1] for c in cities],
            "state": "CA",
        }
    )
    write_csv(jur, out / "reference" / "jurisdictions.csv")
    zip_rows = [zips[["jurisdiction_code", "zip5"]]]
    zip_rows += [pd.DataFrame({"jurisdiction_code": code, "zip5": z}) for code, _, z in cities]
    write_csv(pd.concat(zip_rows, ignore_index=True), out / "reference" / "jurisdiction_zips.csv")


def _address_columns(d: pd.DataFrame, style: np.ndarray, writer: AddressWriter) -> dict:
    """Address parts as a county file writes them: USPS abbreviations or full words."""
    full = style == "full"
    out = {}
    for col in ("street_predir", "street_type", "street_postdir", "unit_type"):
        std = d[col].reset_index(drop=True)
        words = writer.full_words(std)
        if col == "unit_type":
            words = words.where(std != "#", "UNIT")
        out[col] = std.where(~full, words)
    house = d["house_number"].astype(str).reset_index(drop=True)
    frac = d["fraction"].reset_index(drop=True)
    out["house_number"] = house.where(frac == "", house + " " + frac)
    out["street_name"] = d["street_name"].reset_index(drop=True)
    out["unit_number"] = d["unit_number"].reset_index(drop=True)
    out["city"] = d["city"].reset_index(drop=True)
    out["state"] = pd.Series("CA", index=out["city"].index, dtype="str")
    return out


def write_roll(
    out: Path, roll, voter_ids: np.ndarray, rng: np.random.Generator, habits=None
) -> int:
    """The registration file in several parts, each with its own way of writing addresses
    (and, under a keying profile's roll habits, another county's way of writing records)."""
    writer = AddressWriter()
    pools = roll.pools
    n = roll.n
    order = rng.permutation(n)
    n_files = max(2, int(np.ceil(n / ROLL_ROWS_PER_FILE)))
    styles = ["usps", "full", "mixed"]
    for i, rows in enumerate(np.array_split(order, n_files)):
        k = len(rows)
        file_style = styles[i % len(styles)]
        if file_style == "mixed":
            style = np.where(rng.random(k) < 0.5, "full", "usps")
        else:
            style = np.full(k, file_style)
        d = roll.dwellings.iloc[roll.household[rows]]
        addr = _address_columns(d, style, writer)
        first = np.where(
            roll.accent_first[rows],
            pools.first_display[roll.first[rows]],
            pools.first[roll.first[rows]],
        )
        last = np.where(
            roll.accent_last[rows], pools.last_display[roll.last[rows]], pools.last[roll.last[rows]]
        )
        middle = np.where(roll.middle[rows] >= 0, pools.first[np.maximum(roll.middle[rows], 0)], "")
        birth = iso(roll.birth[rows])
        frame = pd.DataFrame(
            {
                "voter_id": voter_ids[rows],
                "jurisdiction_code": LA_CODE,
                "last_name": last,
                "first_name": first,
                "middle_name": middle,
                "name_suffix": roll.suffix[rows],
                "house_number": addr["house_number"],
                "street_predir": addr["street_predir"],
                "street_name": addr["street_name"],
                "street_type": addr["street_type"],
                "street_postdir": addr["street_postdir"],
                "unit_type": addr["unit_type"],
                "unit_number": addr["unit_number"],
                "city": addr["city"],
                "state": addr["state"],
                "zip": written_zip(d["zip5"].reset_index(drop=True), rng, 0.3),
                "birth_date": birth.where(~roll.birth_blank[rows], ""),
                "registration_date": iso(roll.registration[rows]),
                "status": roll.status[rows],
                "status_reason": roll.status_reason[rows],
                "status_date": iso(roll.status_date[rows]),
            }
        )
        if habits is not None:
            frame = habits.apply(frame, rows, d["zip5"].reset_index(drop=True), i)
        write_csv(frame, out / "voter_roll" / f"roll_part_{i + 1:02d}.csv")
    return n_files


def write_history(out: Path, roll, voter_ids: np.ndarray) -> int:
    h = roll.history.sort_values(["voter", "valid_from"], kind="stable").reset_index(drop=True)
    d = roll.dwellings.iloc[h["dwelling"].to_numpy()]
    addr = _address_columns(d, np.full(len(h), "usps"), AddressWriter())
    frame = pd.DataFrame(
        {
            "voter_id": voter_ids[h["voter"].to_numpy(np.int64)],
            **{
                c: addr[c]
                for c in (
                    "house_number",
                    "street_predir",
                    "street_name",
                    "street_type",
                    "street_postdir",
                    "unit_type",
                    "unit_number",
                    "city",
                    "state",
                )
            },
            "zip": d["zip5"].reset_index(drop=True),
            "valid_from": iso(h["valid_from"].to_numpy(np.int64)),
            "valid_to": iso(h["valid_to"].to_numpy(np.int64)),
        }
    )
    write_csv(frame, out / "voter_roll" / "address_history" / "history.csv")
    return len(frame)


def petition_yaml(targets: Targets) -> str:
    if targets.threshold_override is None:
        threshold = (
            "threshold_percent: null            # null: EC §11221 table; a number overrides "
            "(charter cities)"
        )
    else:
        threshold = (
            f"threshold_percent: {targets.threshold_override}"
            "                # a scaled scenario keeps LA's 10 %: the §11221 table would "
            "give a higher percent for this small basis"
        )
    return f"""petition_id: {PETITION_ID}
kind: local_recall                 # selects the statutory defaults (percent table, 5 %, 90–110 %)
jurisdiction_code: "{LA_CODE}"
target: District Attorney
approved_for_circulation: 2022-01-27
filed_date: 2022-07-06
registered_voters_basis: {targets.registered_voters_basis}   # last report before approval
basis_report_date: 2021-12-31
{threshold}
verification:
  method: auto                     # full_count | random_sample | auto (sample; full count in band)
  sample_seed: 20220709
  sufficient_when: greater_than    # greater_than | at_least
registration_cutoff: filed_date    # filed_date | signing_date
duplicates_keep: earliest          # which of a voter's valid lines counts
unreviewed_signatures: presume_valid   # presume_valid | pending
"""


def expected_determination(truth: pd.DataFrame, targets: Targets) -> dict:
    return full_count(
        truth,
        PETITION_ID,
        targets.registered_voters_basis,
        targets.threshold_percent,
        targets.required,
    )


def full_count(
    truth: pd.DataFrame, petition_id: str, basis: int, percent: int, required: int
) -> dict:
    """The determination a correct full count reaches on `truth` (one petition's lines)."""
    codes = read_reference("reason_codes.csv")
    category = dict(zip(codes["code"], codes["registrar_category"], strict=True))
    invalid = truth[truth["true_status"] == "INVALID"]
    by_reason = invalid["true_reason_code"].value_counts()
    by_reason = {code: int(by_reason.get(code, 0)) for code in codes["code"]}
    by_category: dict[str, int] = {}
    for code, count in by_reason.items():
        by_category[category[code]] = by_category.get(category[code], 0) + count
    valid = int((truth["true_status"] == "VALID").sum())
    return {
        "petition_id": petition_id,
        "method": "full_count",
        "raw_count": len(truth),
        "valid": valid,
        "invalid": len(invalid),
        "pending": 0,
        "by_reason": by_reason,
        "by_registrar_category": by_category,
        "registered_voters_basis": basis,
        "threshold_percent": percent,
        "required": required,
        "result": "SUFFICIENT" if valid > required else "INSUFFICIENT",
        "margin": valid - required,
    }


def write_json(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
