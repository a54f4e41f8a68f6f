"""Jurisdictions inside a county: a city petition served by the county's roll, by ZIP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recall_pipeline import cli, settings
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify import jurisdiction
from recall_pipeline.verify import match as m
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import ROLL_HEADER, SCAN_HEADER, write_lines

CITY, COUNTY = "LA-CITY", "19"
CITY_ZIPS = ("90012", "90028", "90015")


def test_a_voter_belongs_by_the_rolls_code_or_the_zip_of_the_residence() -> None:
    roll = pd.DataFrame(
        {
            "voter_id": ["V1", "V2", "V3", "V4", "V5"],
            "jurisdiction_code": [COUNTY, COUNTY, COUNTY, "30", CITY],
            "zip": ["90012", "90028-1234", "91101", "92701", None],
        }
    ).astype("str")
    history = pd.DataFrame({"voter_id": ["V3", "V2", "V1", "V2"], "row": range(4)}).astype(
        {"voter_id": "str"}
    )
    members = jurisdiction.memberships(roll, {CITY: CITY_ZIPS, COUNTY: (), "30": ["92701"]})
    # ZIP+4 counts by its first five digits; a row carrying the city's own code belongs too.
    np.testing.assert_array_equal(members[CITY], [True, True, False, False, True])
    np.testing.assert_array_equal(members[COUNTY], [True, True, True, False, False])
    np.testing.assert_array_equal(members["30"], [False, False, False, True, False])
    here, past = m.in_jurisdiction(roll, history, CITY, CITY_ZIPS)
    assert here["voter_id"].tolist() == ["V1", "V2", "V5"]
    assert past["row"].tolist() == [1, 2, 3]
    # Without the city's ZIPs only rows carrying its code belong.
    assert m.in_jurisdiction(roll, history, CITY)[0]["voter_id"].tolist() == ["V5"]
    # A county's own roll is read as it is.
    county_roll = roll[roll["jurisdiction_code"] == COUNTY]
    assert jurisdiction.in_jurisdiction(county_roll, history, COUNTY, ["90012"])[0] is county_roll


def test_a_written_address_is_inside_by_the_same_zips() -> None:
    written = pd.Series(["90012", "91101", "", "90015"], dtype="str")
    outside = jurisdiction.written_outside([True, True, True, False], written, CITY_ZIPS)
    # A line without a ZIP, or without an address, is judged by the other rules.
    np.testing.assert_array_equal(outside, [False, True, False, False])


def test_zips_by_code() -> None:
    table = pd.DataFrame({"jurisdiction_code": [CITY, COUNTY, CITY], "zip5": ["1", "2", "3"]})
    assert jurisdiction.zips_by_code(table) == {
        CITY: frozenset({"1", "3"}),
        COUNTY: frozenset({"2"}),
    }


# The county's roll: every voter under the county's code "19", three of them living inside the
# city (by ZIP, one as ZIP+4 with a hyphen, one without), two in Pasadena, outside it.
ROLL = [
    "V1,19,GARCIA,MARIA,,,100,,MAIN,ST,,,,LOS ANGELES,CA,90012,,2010-01-01,ACTIVE,,",
    "V2,19,SMITH,ROBERT,,,200,,OAK,AVE,,,,LOS ANGELES,CA,90028-1234,,2010-01-01,ACTIVE,,",
    "V3,19,LOPEZ,ANA,,,300,,ELM,ST,,,,PASADENA,CA,91101,,2010-01-01,ACTIVE,,",
    "V4,19,NGUYEN,AN,,,400,,PINE,ST,,,,LOS ANGELES,CA,900151234,,2010-01-01,ACTIVE,,",
    "V5,19,PARK,LENA,,,500,,BIRCH,ST,,,,PASADENA,CA,91101,,2010-01-01,ACTIVE,,",
]
BATCH_1 = [
    "S1,1,1,Maria Garcia,100 Main St,Los Angeles,90012,2022-03-01,Y,",
    "S1,1,2,Robert Smith,200 Oak Ave,Los Angeles,90028,2022-03-01,Y,",
    "S1,1,3,Ana Lopez,300 Elm St,Pasadena,91101,2022-03-01,Y,",
    # Lena Park is registered only in Pasadena: the county finds her by her name alone.
    "S1,1,4,Lena Park,77 Main St,Los Angeles,90012,2022-03-01,Y,",
]
BATCH_2 = [
    "S1,2,1,An Nguyen,400 Pine St,Los Angeles,90015,2022-03-02,Y,",
    "S1,2,2,Nobody Here,5 Far Rd,Santa Ana,92701,2022-03-02,Y,",
]
# (page, line) → (status, reason, voter) of each petition's verdict.
CITY_VERDICTS = {
    (1, 1): ("VALID", None, "V1"),
    (1, 2): ("VALID", None, "V2"),
    (1, 3): ("INVALID", "OUT_OF_JURISDICTION", None),
    (1, 4): ("INVALID", "NOT_REGISTERED", None),
    (2, 1): ("VALID", None, "V4"),
    (2, 2): ("INVALID", "OUT_OF_JURISDICTION", None),
}
COUNTY_VERDICTS = {
    **CITY_VERDICTS,
    (1, 3): ("VALID", None, "V3"),
    (1, 4): ("INVALID", "ADDRESS_MISMATCH", "V5"),
}
PETITION_YAML = """\
petition_id: {petition}
kind: local_recall
jurisdiction_code: "{code}"
target: Mayor
approved_for_circulation: 2022-01-27
filed_date: 2022-07-06
registered_voters_basis: 20
basis_report_date: 2021-12-31
threshold_percent: null
verification:
  method: full_count
  sample_seed: 1
  sufficient_when: greater_than
registration_cutoff: filed_date
duplicates_keep: earliest
unreviewed_signatures: presume_valid
"""
PETITIONS = {"city-recall": CITY, "county-recall": COUNTY}


def city_and_county(root: Path, batches=(1, 2)) -> Path:
    """The county's roll and two petitions signed on the same lines: one in the county, one in
    the city inside it."""
    write_lines(
        root / "reference" / "jurisdictions.csv",
        [
            "jurisdiction_code,name,state",
            "19,Los Angeles County,CA",
            f"{CITY},City of Los Angeles,CA",
            "30,Orange County,CA",
        ],
    )
    write_lines(
        root / "reference" / "jurisdiction_zips.csv",
        [
            "jurisdiction_code,zip5",
            *[f"19,{z}" for z in (*CITY_ZIPS, "91101")],
            *[f"{CITY},{z}" for z in CITY_ZIPS],
            "30,92701",
        ],
    )
    write_lines(root / "voter_roll" / "roll.csv", [ROLL_HEADER, *ROLL])
    for petition, code in PETITIONS.items():
        folder = root / "petitions" / petition
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "petition.yaml").write_text(
            PETITION_YAML.format(petition=petition, code=code), encoding="utf-8"
        )
        write_lines(
            folder / "sections.csv",
            [
                "section_id,circulator_name,declaration_signed,declaration_date,"
                "jurisdiction_code,filed_with_petition",
                f"S1,Circulator,Y,2022-07-01,{code},Y",
            ],
        )
        for n in batches:
            lines = BATCH_1 if n == 1 else BATCH_2
            write_lines(folder / "scans" / f"batch_{n}.csv", [SCAN_HEADER, *lines])
    return root


def verdicts_of(store: Warehouse, petition: str) -> dict:
    found = store.query(
        "SELECT page, line, status, reason_code, voter_id FROM line_verdicts"
        " WHERE petition_id = :p ORDER BY page, line",
        {"p": petition},
    )
    return {
        (int(r.page), int(r.line)): tuple(
            None if pd.isna(v) else v for v in (r.status, r.reason_code, r.voter_id)
        )
        for r in found.itertuples()
    }


@pytest.fixture
def use(tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))

    def at(data_dir: Path) -> str:
        monkeypatch.setenv(settings.DATA_DIR_ENV, str(data_dir))
        monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)
        return warehouse_url

    return at


def test_a_city_petition_is_verified_against_its_countys_roll(tmp_path: Path, use) -> None:
    url = use(city_and_county(tmp_path / "data"))
    outcome = materialize_all()
    assert outcome.success, outcome.errors
    assert all(c.passed for c in outcome.checks), [c for c in outcome.checks if not c.passed]
    with Warehouse(url) as store:
        assert verdicts_of(store, "city-recall") == CITY_VERDICTS
        assert verdicts_of(store, "county-recall") == COUNTY_VERDICTS
        kept = store.query(
            "SELECT jurisdiction_code, roll_rows FROM match_key_versions ORDER BY 1"
        ).to_dict("records")
    # The city's keys are those of the voters living inside it.
    assert kept == [
        {"jurisdiction_code": COUNTY, "roll_rows": 5},
        {"jurisdiction_code": CITY, "roll_rows": 3},
    ]


def test_a_batch_of_a_city_petition_reaches_the_citys_voters(
    tmp_path: Path, use, instance, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = city_and_county(tmp_path / "data", batches=(1,))
    url = use(data_dir)
    assert materialize_all().success
    later = data_dir / "petitions" / "city-recall" / "scans" / "batch_2.csv"
    write_lines(later, [SCAN_HEADER, *BATCH_2])
    # By hand, as the arrivals sensor would launch it: only the registrations its lines reach
    # are read, through the keys kept for the city.
    assert cli.main(["run", "--batch", "city-recall/batch_2"]) == 0
    assert "✓ voter_roll" not in capsys.readouterr().out
    with Warehouse(url) as store:
        assert verdicts_of(store, "city-recall") == CITY_VERDICTS
        county = verdicts_of(store, "county-recall")
    assert county == {k: v for k, v in COUNTY_VERDICTS.items() if k[0] == 1}


def test_kept_keys_follow_the_zip_lists(tmp_path: Path, use) -> None:
    from recall_pipeline.verify import roll_cache

    data_dir = city_and_county(tmp_path / "data")
    url = use(data_dir)
    assert materialize_all().success
    with Warehouse(url) as store:
        before = roll_cache.roll_version(store)
    zips = data_dir / "reference" / "jurisdiction_zips.csv"
    zips.write_text(zips.read_text(encoding="utf-8") + f"{CITY},91101\n", encoding="utf-8")
    assert materialize_all().success
    with Warehouse(url) as store:
        assert roll_cache.roll_version(store) != before
        # Pasadena in the city's list: Ana Lopez and Lena Park are the city's voters now.
        city = verdicts_of(store, "city-recall")
    assert city[(1, 3)] == ("VALID", None, "V3")
    assert city[(1, 4)] == ("INVALID", "ADDRESS_MISMATCH", "V5")
