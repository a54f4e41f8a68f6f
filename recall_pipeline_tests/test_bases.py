"""The signature requirement under each basis (`verify/bases.py`): the LA 2022 figures, the
percent by each count, the roll's own counts in the jurisdiction, read from both warehouses."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from recall_pipeline.contract import VOTER_ROLL
from recall_pipeline.ingest.petition_config import Basis, PetitionConfig
from recall_pipeline.services.determination import read_roll
from recall_pipeline.verify.bases import (
    RollCount,
    RollExtract,
    requirement_bases,
    roll_counts,
    valid_lines,
)
from recall_pipeline.warehouse import Warehouse

LA_2022 = PetitionConfig(
    petition_id="la-2022-da-recall",
    kind="local_recall",
    jurisdiction_code="19",
    target="District Attorney",
    approved_for_circulation=dt.date(2022, 1, 27),
    filed_date=dt.date(2022, 7, 6),
    registered_voters_basis=5_668_569,
    basis_report_date=dt.date(2021, 12, 31),
    threshold_percent=None,
    verification_method="auto",
    sample_seed=20220709,
    sufficient_when="greater_than",
    registration_cutoff="filed_date",
    duplicates_keep="earliest",
    unreviewed_signatures="presume_valid",
    alternative_bases=(
        Basis("active voters", 5_438_400, dt.date(2021, 12, 31), "proponents, 2022"),
    ),
)
LA_VALID = 520_050


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["basis"]: row for row in rows}


def test_la_2022_under_the_official_and_the_active_voter_basis() -> None:
    rows = requirement_bases(LA_2022, LA_VALID, None)
    assert [(r["position"], r["kind"]) for r in rows] == [(1, "official"), (2, "alternative")]
    official, active = rows
    assert (official["registered_voters"], official["threshold_percent"]) == (5_668_569, 10.0)
    assert (official["required"], official["margin"]) == (566_857, -46_807)
    assert (active["registered_voters"], active["threshold_percent"]) == (5_438_400, 10.0)
    assert (active["required"], active["margin"]) == (543_840, -23_790)
    assert official["result"] == active["result"] == "INSUFFICIENT"
    # LA's rule is greater_than: reinstating the shortfall would only tie.
    assert (official["lines_to_flip"], active["lines_to_flip"]) == (46_808, 23_791)
    assert (active["as_of"], active["source"]) == (dt.date(2021, 12, 31), "proponents, 2022")
    assert official["as_of"] == LA_2022.basis_report_date
    assert "registered_voters_basis" in official["source"]
    assert {r["valid"] for r in rows} == {LA_VALID}


def test_each_basis_takes_the_percent_its_own_count_falls_in() -> None:
    city = dataclasses.replace(
        LA_2022,
        registered_voters_basis=100_000,
        alternative_bases=(
            Basis("active", 99_999, dt.date(2021, 12, 31), "report"),
            Basis("small", 9_999, dt.date(2021, 12, 31), "report"),
        ),
    )
    rows = by_name(requirement_bases(city, 14_000, None))
    assert rows["registered voters (official basis)"]["threshold_percent"] == 10.0
    assert rows["registered voters (official basis)"]["required"] == 10_000
    # One voter fewer and the table's next band: 15 % of 99,999 rounded up.
    assert (rows["active"]["threshold_percent"], rows["active"]["required"]) == (15.0, 15_000)
    assert (rows["small"]["threshold_percent"], rows["small"]["required"]) == (25.0, 2_500)
    assert rows["registered voters (official basis)"]["result"] == "SUFFICIENT"
    assert rows["active"]["result"] == "INSUFFICIENT"
    # A charter's own percent applies whatever the count.
    charter = by_name(requirement_bases(dataclasses.replace(city, threshold_percent=15), 1, None))
    assert {r["threshold_percent"] for r in charter.values()} == {15.0}
    assert charter["small"]["required"] == 1_500


@pytest.mark.parametrize(
    ("rule", "result"), [("greater_than", "INSUFFICIENT"), ("at_least", "SUFFICIENT")]
)
def test_a_tie_under_a_basis_follows_the_petitions_rule(rule: str, result: str) -> None:
    config = dataclasses.replace(LA_2022, sufficient_when=rule)
    active = by_name(requirement_bases(config, 543_840, None))["active voters"]
    assert (active["margin"], active["result"]) == (0, result)
    # One line either way changes a tie: reinstated under greater_than, found invalid under
    # at_least.
    assert active["lines_to_flip"] == 1


ROLL_GROUPS = pd.DataFrame(
    [
        # County 19's roll: the county petition counts every row of it.
        ("19", "90012", "ACTIVE", 5),
        ("19", "90012", "INACTIVE", 2),
        ("19", "90012", "CANCELLED", 4),
        ("19", "91101", "ACTIVE", 7),
        ("19", "91101", "INACTIVE", 1),
        # Another county's voters: inside county 19 by neither code nor ZIP.
        ("30", "92801", "ACTIVE", 100),
    ],
    columns=["jurisdiction_code", "zip", "status", "registrations"],
)
ROLL = RollExtract(ROLL_GROUPS, dt.date(2022, 11, 22), ("voter_roll/part_1.csv",))


def test_the_roll_counts_active_and_registered_voters_in_the_jurisdiction() -> None:
    county = roll_counts(ROLL, "19", frozenset({"90012", "91101"}))
    assert (county.active, county.registered) == (12, 15)
    # A city inside the county: the roll's rows whose residence ZIP is listed for it.
    city = roll_counts(ROLL, "1950", frozenset({"90012"}))
    assert (city.active, city.registered) == (5, 7)
    assert city.as_of == dt.date(2022, 11, 22)
    assert "voter_roll/part_1.csv" in city.source


def test_the_rolls_rows_follow_the_others() -> None:
    counted = RollCount(10_877, 11_337, dt.date(2022, 11, 22), "voter_roll as published")
    rows = requirement_bases(LA_2022, 1_040, counted)
    assert [r["kind"] for r in rows] == ["official", "alternative", "roll", "roll"]
    assert [r["position"] for r in rows] == [1, 2, 3, 4]
    active, registered = rows[2:]
    assert (active["registered_voters"], active["required"], active["margin"]) == (
        10_877,
        2_176,  # ceil(20 % of 10,877): the table by the count, not LA's 10 %
        1_040 - 2_176,
    )
    assert (registered["registered_voters"], registered["threshold_percent"]) == (11_337, 20.0)
    assert active["as_of"] == dt.date(2022, 11, 22)
    # A roll that counts nobody in the jurisdiction is no basis.
    nobody = requirement_bases(LA_2022, 1_040, dataclasses.replace(counted, active=0, registered=0))
    assert [r["kind"] for r in nobody] == ["official", "alternative"]


def test_valid_lines_counts_every_valid_verdict() -> None:
    verdicts = pd.DataFrame({"status": ["VALID", "INVALID", "PENDING", "VALID"]})
    assert valid_lines(verdicts) == 2


def test_the_roll_is_counted_in_the_warehouse(warehouse: Warehouse) -> None:
    rows = [
        # ZIP+4 with and without the hyphen: the jurisdiction rule reads the first five digits.
        ("V1", "19", "90012-1234", "ACTIVE", "2010-01-01", None, "voter_roll/a.csv"),
        ("V2", "19", "900121234", "INACTIVE", "2011-01-01", "2021-03-28", "voter_roll/a.csv"),
        ("V3", "19", "90012", "CANCELLED", "2012-01-01", "2022-03-01", "voter_roll/b.csv"),
        ("V4", "19", "91101", "ACTIVE", "2022-07-10", None, "voter_roll/b.csv"),
        ("V5", "30", "90012", "ACTIVE", "2001-01-01", None, "voter_roll/b.csv"),
        ("V6", "30", "92801", "ACTIVE", "2001-01-01", None, "voter_roll/b.csv"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "voter_id",
            "jurisdiction_code",
            "zip",
            "status",
            "registration_date",
            "status_date",
            "source_file",
        ],
    )
    for column in ("registration_date", "status_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    for column in ("last_name", "first_name", "house_number", "street_name", "city", "state"):
        frame[column] = "X"
    frame["source_row"] = range(2, 2 + len(frame))
    frame["source_sha256"] = "0" * 64
    schema = VOTER_ROLL.table_schema()
    for column in schema.column_names:
        if column not in frame:
            frame[column] = None
    warehouse.publish(schema, frame)

    roll = read_roll(warehouse)

    assert roll.files == ("voter_roll/a.csv", "voter_roll/b.csv")
    assert roll.latest_date == dt.date(2022, 7, 10)
    county = roll_counts(roll, "19", frozenset())
    assert (county.active, county.registered) == (2, 3)
    # A city whose ZIP holds voters of two counties' rolls (V5 is registered in county 30).
    city = roll_counts(roll, "1950", frozenset({"90012"}))
    assert (city.active, city.registered) == (2, 3)
