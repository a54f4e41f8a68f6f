"""Canonical forms of names and addresses, for every kind of keying noise."""

from __future__ import annotations

import pandas as pd
import pytest

from recall_pipeline.verify import normalize as nz

CANONICAL = ("1234", "N", "MAIN", "ST", "", "90012")


def parse(text: str, zip_text: str = "90012", city: str = "") -> tuple:
    parsed = nz.written_address(pd.Series([text]), pd.Series([city]), pd.Series([zip_text]))
    row = parsed.iloc[0]
    return (row.house, row.predir, row.street, row.stype, row.postdir, row.zip5)


@pytest.mark.parametrize(
    "written",
    [
        "1234 N Main St",
        "1234 1/2 N Main St",
        "1234 North Main Street",
        "1234 n. main st.",
        "1234 N MAIN ST APT 5",
        "1234 N Main St Apartment 12B",
        "1234 N Main St #5",
        "1234 N Main St # 5",
        "1234 N Main Str Unit C",
        "1234 N Main St, Spc 7",
        "01234 N Main St",
    ],
)
def test_written_address_variants(written: str) -> None:
    assert parse(written) == CANONICAL


def test_zip_plus_4_and_post_directional() -> None:
    assert parse("501 Elm Avenue North", "91101-1234") == ("501", "", "ELM", "AVE", "N", "91101")
    assert parse("501 Elm Ave N Apt 2", "911011234") == ("501", "", "ELM", "AVE", "N", "91101")


def test_two_word_and_numbered_streets() -> None:
    assert parse("88 W La Brea Blvd") == ("88", "W", "LA BREA", "BLVD", "", "90012")
    assert parse("3644 1/2 110TH AVE.") == ("3644", "", "110TH", "AVE", "", "90012")
    assert parse("4600 West 82Nd Way") == ("4600", "W", "82ND", "WAY", "", "90012")


@pytest.mark.parametrize(
    "written", ["", "PO BOX 1234", "P.O. Box 77", "SAME", "N/A", "HOMELESS", "Main St"]
)
def test_no_locatable_address(written: str) -> None:
    parsed = nz.written_address(pd.Series([written]), pd.Series([""]), pd.Series([""]))
    assert not parsed["has_address"].iloc[0]


def test_roll_address_full_words_and_abbreviations_agree() -> None:
    roll = pd.DataFrame(
        {
            "house_number": ["1234 1/2", "1234"],
            "street_predir": ["NORTH", "N"],
            "street_name": ["Main", "MAIN"],
            "street_type": ["STREET", "ST"],
            "street_postdir": [None, ""],
            "zip": ["90012-0001", "90012"],
            "city": ["Hollywood", "LOS ANGELES"],
        }
    )
    canon = nz.roll_address(roll)
    assert canon.iloc[0].tolist() == canon.iloc[1].tolist()
    assert canon["city"].tolist() == ["LOS ANGELES", "LOS ANGELES"]


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("Maria E. Garcia", ("MARIA", "E", "GARCIA")),
        ("GARCIA, MARIA ELENA", ("MARIA", "ELENA", "GARCIA")),
        ("garcia jr, maria", ("MARIA", "", "GARCIA")),
        ("Patrick O'Brien Jr", ("PATRICK", "", "OBRIEN")),
        ("José Muñoz", ("JOSE", "", "MUNOZ")),
        ("Robert J. Smith III", ("ROBERT", "J", "SMITH")),
        ("Cher", ("CHER", "", "")),
        ("", ("", "", "")),
    ],
)
def test_printed_name_variants(printed: str, expected: tuple) -> None:
    row = nz.printed_name(pd.Series([printed])).iloc[0]
    assert (row["first"], row["middle"], row["last"]) == expected


def test_osa_distance() -> None:
    a = ["ABCDE", "AB", "", "MARIA", "MARIA", "JOHNSON", "SMITH", "SAME"]
    b = ["BCDE", "BA", "ABC", "MRAIA", "MARIO", "JONSHON", "SMYTHE", "SAME"]
    assert nz.osa_distance(a, b, limit=2).tolist() == [1, 1, 3, 1, 1, 2, 2, 0]
    assert nz.osa_distance(["ABCDEFG"], ["GFEDCBA"], limit=1).tolist() == [2]
