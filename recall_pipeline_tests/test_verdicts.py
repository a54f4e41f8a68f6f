"""Matching and verdicts as functions: the precedence, the duplicate rule, the hard cases."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.verify import match as m
from recall_pipeline.verify.model import default_model, roll_statistics
from recall_pipeline.verify.pipeline import decide_petition, match_petition

CONFIG = PetitionConfig(
    petition_id="p",
    kind="local_recall",
    jurisdiction_code="19",
    target="DA",
    approved_for_circulation=dt.date(2022, 1, 27),
    filed_date=dt.date(2022, 7, 6),
    registered_voters_basis=100,
    basis_report_date=dt.date(2021, 12, 31),
    threshold_percent=None,
    verification_method="full_count",
    sample_seed=1,
    sufficient_when="greater_than",
    registration_cutoff="filed_date",
    duplicates_keep="earliest",
    unreviewed_signatures="presume_valid",
)
ZIPS = {"90012", "90028"}


def voter(voter_id, first, last, house, street, stype="ST", zip_="90012", **extra):
    row = {
        "voter_id": voter_id,
        "jurisdiction_code": "19",
        "first_name": first,
        "middle_name": extra.pop("middle", None),
        "last_name": last,
        "house_number": house,
        "street_predir": extra.pop("predir", None),
        "street_name": street,
        "street_type": stype,
        "street_postdir": None,
        "city": "LOS ANGELES",
        "zip": zip_,
        "status": "ACTIVE",
        "status_date": None,
        "registration_date": dt.date(2010, 1, 1),
    }
    row.update(extra)
    return row


ROLL = [
    voter("V1", "MARIA", "GARCIA", "100", "MAIN", middle="ELENA"),
    voter("V2", "ROBERT", "SMITH", "100", "MAIN"),
    voter("V3", "ANA", "LOPEZ", "200", "OAK", "AVE"),
    voter(
        "V4", "KENJI", "TANAKA", "300", "ELM", status="CANCELLED", status_date=dt.date(2022, 2, 1)
    ),
    voter("V5", "PAT", "NGUYEN", "400", "PINE", registration_date=dt.date(2022, 8, 1)),
    voter("V6", "ZELDA", "QUIXOTE", "500", "CEDAR"),  # a unique full name
    voter("V7", "JOHN", "LEE", "600", "BIRCH"),
    voter("V8", "JOHN", "LEE", "700", "BIRCH"),  # a common full name
    voter("V9", "LENA", "PARK", "800", "WALNUT", registration_date=dt.date(2022, 5, 1)),
    voter(
        "V10", "OMAR", "HASSAN", "900", "LIME", status="CANCELLED", status_date=dt.date(2022, 6, 1)
    ),
]
HISTORY = [
    {"voter_id": "V3", "house_number": "12", "street_predir": None, "street_name": "ROSE",
     "street_type": "ST", "street_postdir": None, "city": "LOS ANGELES", "zip": "90012",
     "valid_from": dt.date(2015, 1, 1), "valid_to": dt.date(2020, 12, 31)},
    {"voter_id": "V7", "house_number": "14", "street_predir": None, "street_name": "ROSE",
     "street_type": "ST", "street_postdir": None, "city": "LOS ANGELES", "zip": "90012",
     "valid_from": dt.date(2015, 1, 1), "valid_to": dt.date(2022, 4, 30)},
]  # fmt: skip


def line(n, name, address, zip_="90012", signed="2022-03-01", section="S1", **extra):
    return {
        "petition_id": "p",
        "section_id": section,
        "page": 1,
        "line": n,
        "printed_name": name,
        "residence_address": address,
        "city": extra.pop("city", ""),
        "zip": zip_,
        "date_signed": pd.Timestamp(signed).date() if signed else None,
        "signature_present": extra.pop("signature_present", True),
        "source_file": "petitions/p/scans/b1.csv",
        "source_row": n,
        "source_sha256": "0" * 64,
    }


SECTIONS = pd.DataFrame(
    {
        "section_id": ["S1", "S2", "S3"],
        "circulator_name": ["A", "B", None],
        "declaration_signed": [True, True, True],
        "declaration_date": [dt.date(2022, 7, 1)] * 3,
        "filed_with_petition": [True, False, True],
    }
)
NO_REVIEWS = pd.DataFrame(
    columns=["section_id", "page", "line", "finding", "reviewed_at", "source_file", "source_row"]
)
NO_WITHDRAWALS = pd.DataFrame(columns=["voter_id", "received_date"])


def verdicts(
    lines,
    reviews=NO_REVIEWS,
    withdrawals=NO_WITHDRAWALS,
    config=CONFIG,
    roll=ROLL,
    match_reviews=None,
):
    roll_frame = pd.DataFrame(roll)
    lines_frame = pd.DataFrame(lines)
    prepared = m.prepare_roll(roll_frame)
    history = m.prepare_history(pd.DataFrame(HISTORY), prepared)
    stats = roll_statistics(prepared, default_model())
    matches, candidates, _ = match_petition("p", lines_frame, prepared, history, stats)
    out = decide_petition(
        config,
        lines_frame,
        matches,
        roll_frame,
        SECTIONS,
        reviews,
        withdrawals,
        ZIPS,
        match_reviews,
        pd.DataFrame(HISTORY),
    ).verdicts
    return out.set_index("line"), matches.set_index("line"), candidates


def outcome(out, n):
    row = out.loc[n]
    return tuple(
        None if pd.isna(v) else v for v in (row["status"], row["reason_code"], row["voter_id"])
    )


def test_noisy_lines_match_their_voter() -> None:
    out, matches, _ = verdicts(
        [
            line(
                1, "GARCIA, MARIA E.", "100 Main Street Apt 4", zip_="90012-3333", city="Hollywood"
            ),
            line(2, "Bob Smith", "100 main st"),
            line(3, "Ana Lpez", "200 Oak Avenue"),
            line(4, "ZELDA QUIXOTE", "77 Other St"),
        ]
    )
    assert outcome(out, 1) == ("VALID", None, "V1")
    assert outcome(out, 2) == ("VALID", None, "V2")
    assert matches.loc[2, "first_name_agreement"] == "nickname"
    assert outcome(out, 3) == ("VALID", None, "V3")
    assert matches.loc[3, "last_name_agreement"] == "typo"
    assert outcome(out, 4) == ("INVALID", "ADDRESS_MISMATCH", "V6")
    assert matches.loc[4, "match_method"] == "UNIQUE_NAME"


def test_hard_negatives_are_not_registered() -> None:
    out, _, _ = verdicts(
        [
            line(1, "Carlos Garcia", "100 Main St"),  # family member, not registered
            line(2, "John Lee", "999 Other St"),  # common name registered elsewhere
            line(3, "Nobody Atall", "100 Main St"),
        ]
    )
    for n in (1, 2, 3):
        assert outcome(out, n) == ("INVALID", "NOT_REGISTERED", None)


def test_history_address_before_and_during_circulation() -> None:
    out, matches, _ = verdicts(
        [
            line(1, "Ana Lopez", "12 Rose St"),  # left in 2020: wrong address
            line(2, "John Lee", "14 Rose St", signed="2022-03-01"),  # moved in May 2022
        ]
    )
    assert outcome(out, 1) == ("INVALID", "ADDRESS_MISMATCH", "V3")
    assert matches.loc[1, "match_method"] == "HISTORY_ADDRESS"
    assert outcome(out, 2) == ("VALID", None, "V7")


def test_status_and_registration_dates() -> None:
    out, _, _ = verdicts(
        [
            line(1, "Kenji Tanaka", "300 Elm St", signed="2022-03-01"),  # cancelled before
            line(2, "Omar Hassan", "900 Lime St", signed="2022-03-01"),  # cancelled after
            line(3, "Pat Nguyen", "400 Pine St"),  # registered after filing
            line(4, "Lena Park", "800 Walnut St", signed="2022-03-01"),  # after signing, in time
        ]
    )
    assert outcome(out, 1) == ("INVALID", "CANCELLED", "V4")
    assert outcome(out, 2) == ("VALID", None, "V10")
    assert outcome(out, 3) == ("INVALID", "REGISTERED_LATE", "V5")
    assert outcome(out, 4) == ("VALID", None, "V9")


def test_registration_cutoff_at_signing_date() -> None:
    config = CONFIG.__class__(**{**CONFIG.__dict__, "registration_cutoff": "signing_date"})
    out, _, _ = verdicts([line(1, "Lena Park", "800 Walnut St")], config=config)
    assert outcome(out, 1) == ("INVALID", "REGISTERED_LATE", "V9")


def test_line_level_reasons() -> None:
    out, _, _ = verdicts(
        [
            line(1, "Maria Garcia", "100 Main St", section="S2"),
            line(2, "Maria Garcia", "100 Main St", section="S3"),
            line(3, "Bob Smith", "100 Main St", signature_present=False),
            line(4, "Ana Lopez", "PO BOX 12"),
            line(5, "Ana Lopez", "200 Oak Ave", signed="2021-12-01"),
            line(6, "Ana Lopez", "200 Oak Ave", zip_="92701"),
            line(7, "Bob Smith", "100 Main St", section="S9"),
        ]
    )
    assert outcome(out, 1)[:2] == ("INVALID", "SECTION_NOT_FILED")
    assert outcome(out, 2)[:2] == ("INVALID", "CIRCULATOR_DECLARATION_DEFECT")
    assert outcome(out, 3)[:2] == ("INVALID", "NO_SIGNATURE")
    assert outcome(out, 4)[:2] == ("INVALID", "NO_RESIDENCE_ADDRESS")
    assert outcome(out, 5)[:2] == ("INVALID", "SIGNED_OUTSIDE_PERIOD")
    assert outcome(out, 6)[:2] == ("INVALID", "OUT_OF_JURISDICTION")
    assert outcome(out, 7)[:2] == ("INVALID", "SECTION_NOT_FILED")  # section not on record


def test_out_of_county_and_unregistered_is_out_of_jurisdiction() -> None:
    out, _, _ = verdicts([line(1, "Nobody Atall", "5 Far Rd", zip_="92701")])
    row = out.loc[1]
    assert (row["reason_code"], row["secondary_reasons"]) == (
        "OUT_OF_JURISDICTION",
        "NOT_REGISTERED",
    )


def test_secondary_reasons_are_every_other_rule_broken_in_precedence_order() -> None:
    out, _, _ = verdicts(
        [
            # Not filed, unsigned, signed before circulation and keyed from outside the county:
            # the first in precedence is the primary reason, the rest follow it in order.
            line(1, "Nobody Atall", "5 Far Rd", zip_="92701", signed="2021-12-01", section="S2",
                 signature_present=False),
            line(2, "Maria Garcia", "100 Main St", section="S3", signature_present=False),
            line(3, "Maria Garcia", "100 Main St", section="S3"),
            line(4, "Bob Smith", "100 Main St"),
        ]
    )  # fmt: skip
    assert (out.loc[1, "reason_code"], out.loc[1, "secondary_reasons"]) == (
        "SECTION_NOT_FILED",
        "NO_SIGNATURE;SIGNED_OUTSIDE_PERIOD;OUT_OF_JURISDICTION;NOT_REGISTERED",
    )
    assert (out.loc[2, "reason_code"], out.loc[2, "secondary_reasons"]) == (
        "CIRCULATOR_DECLARATION_DEFECT",
        "NO_SIGNATURE",
    )
    assert out.loc[3, "reason_code"] == "CIRCULATOR_DECLARATION_DEFECT"
    assert pd.isna(out.loc[3, "secondary_reasons"])
    assert outcome(out, 4) == ("VALID", None, "V2")
    assert pd.isna(out.loc[4, "secondary_reasons"])


def test_lines_given_in_any_order_are_decided_in_line_order() -> None:
    lines = [
        line(2, "GARCIA, MARIA", "100 MAIN STREET", signed="2022-03-01"),
        line(1, "Maria Garcia", "100 Main St", signed="2022-03-01"),
        line(3, "Bob Smith", "100 Main St", section="S2"),
    ]
    out, _, _ = verdicts(lines)
    assert list(out.index) == [1, 2, 3]
    # Signed the same day: the first line in line order is the one kept.
    assert outcome(out, 1) == ("VALID", None, "V1")
    assert outcome(out, 2) == ("INVALID", "DUPLICATE", "V1")


def test_withdrawal_and_examiner_findings() -> None:
    reviews = pd.DataFrame(
        {
            "section_id": ["S1", "S1", "S1"],
            "page": [1, 1, 1],
            "line": [2, 3, 3],
            "finding": ["NO_MATCH", "NO_MATCH", "MATCH"],
            "reviewed_at": ["2022-07-10T10:00", "2022-07-10T10:00", "2022-07-11T09:00"],
            "source_file": "petitions/p/reviews/r1.csv",
            "source_row": [1, 2, 3],
        }
    )
    withdrawals = pd.DataFrame(
        {"voter_id": ["V1", "V3"], "received_date": ["2022-06-01", "2022-08-01"]}
    )
    out, _, _ = verdicts(
        [
            line(1, "Maria Garcia", "100 Main St"),
            line(2, "Bob Smith", "100 Main St"),
            line(3, "Zelda Quixote", "500 Cedar St"),  # re-reviewed: MATCH wins
            line(4, "Ana Lopez", "200 Oak Ave"),  # withdrawal arrived after filing
        ],
        reviews=reviews,
        withdrawals=withdrawals,
    )
    assert outcome(out, 1)[:2] == ("INVALID", "WITHDRAWN")
    assert outcome(out, 2)[:2] == ("INVALID", "SIGNATURE_MISMATCH")
    assert outcome(out, 3)[:2] == ("VALID", None)
    assert outcome(out, 4)[:2] == ("VALID", None)
    assert (out.loc[2, "review_source_file"], out.loc[2, "review_source_row"]) == (
        "petitions/p/reviews/r1.csv",
        1,
    )
    assert out.loc[3, "review_source_row"] == 3  # the later review decides


def test_unreviewed_lines_pending_when_asked() -> None:
    config = CONFIG.__class__(**{**CONFIG.__dict__, "unreviewed_signatures": "pending"})
    out, _, _ = verdicts([line(1, "Maria Garcia", "100 Main St")], config=config)
    assert outcome(out, 1) == ("PENDING", None, "V1")


def test_duplicates_keep_exactly_one_valid_line_per_voter() -> None:
    lines = [
        line(1, "Maria Garcia", "100 Main St", signed="2022-04-01"),
        line(2, "GARCIA, MARIA", "100 MAIN STREET", signed="2022-03-01"),
        line(3, "maria e garcia", "100 Main St #2", signed="2022-05-01"),
        line(4, "Bob Smith", "100 Main St", signed="2022-03-01"),
    ]
    out, _, _ = verdicts(lines)
    assert outcome(out, 2) == ("VALID", None, "V1")  # the earliest signed
    assert outcome(out, 1) == ("INVALID", "DUPLICATE", "V1")
    assert outcome(out, 3) == ("INVALID", "DUPLICATE", "V1")
    valid_per_voter = out[out["status"] == "VALID"].groupby("voter_id").size()
    assert (valid_per_voter == 1).all()
    latest = CONFIG.__class__(**{**CONFIG.__dict__, "duplicates_keep": "latest"})
    out, _, _ = verdicts(lines, config=latest)
    assert outcome(out, 3) == ("VALID", None, "V1")


def test_duplicate_whose_first_line_is_in_a_defective_section() -> None:
    out, _, _ = verdicts(
        [
            line(1, "Maria Garcia", "100 Main St", signed="2022-02-01", section="S2"),
            line(2, "Maria Garcia", "100 Main St", signed="2022-03-01"),
        ]
    )
    assert outcome(out, 1)[:2] == ("INVALID", "SECTION_NOT_FILED")
    assert outcome(out, 2) == ("VALID", None, "V1")


def test_indistinguishable_candidates_go_to_an_examiner_with_both_listed() -> None:
    roll = [*ROLL, voter("V11", "MARIA", "GARCIA", "100", "MAIN")]
    out, matches, candidates = verdicts([line(1, "Maria Garcia", "100 Main St")], roll=roll)
    # A registrant signed, but which one decides duplicates and status: an examiner says.
    assert outcome(out, 1) == ("PENDING", None, None)
    assert out.loc[1, "pending_reason"] == "MATCH_REVIEW"
    assert matches.loc[1, "passing_candidates"] == 2
    both = candidates[candidates["address_agreement"] == "exact"].set_index("voter_id")
    both = both[both["first_name_agreement"] == "exact"]
    assert sorted(both.index) == ["V1", "V11"]
    assert both.loc["V1", "match_probability"] == both.loc["V11", "match_probability"]
    assert not both["chosen"].any()


@pytest.mark.parametrize("bad_key", ["section_id", "line", "missing row"])
def test_matches_must_line_up_with_lines(bad_key: str) -> None:
    lines_frame = pd.DataFrame(
        [line(1, "Maria Garcia", "100 Main St"), line(2, "Bob Smith", "100 Main St")]
    )
    prepared = m.prepare_roll(pd.DataFrame(ROLL))
    history = m.prepare_history(pd.DataFrame(HISTORY), prepared)
    stats = roll_statistics(prepared, default_model())
    matches, _, _ = match_petition("p", lines_frame, prepared, history, stats)
    if bad_key == "missing row":
        matches = matches.iloc[:1]
    else:
        matches.loc[1, bad_key] = "OTHER" if bad_key == "section_id" else 9
    with pytest.raises(ValueError, match="out of step"):
        decide_petition(
            CONFIG,
            lines_frame,
            matches,
            pd.DataFrame(ROLL),
            SECTIONS,
            NO_REVIEWS,
            NO_WITHDRAWALS,
            ZIPS,
        )


def test_in_jurisdiction_keeps_the_county_roll_and_its_voters_history() -> None:
    roll = pd.DataFrame(
        [
            voter("V1", "MARIA", "GARCIA", "100", "MAIN"),
            voter("V9", "JOHN", "DOE", "5", "ELM", jurisdiction_code="30"),
        ]
    ).astype({"voter_id": "str", "jurisdiction_code": "str"})
    history = pd.DataFrame(
        {"voter_id": pd.array(["V9", "V1", None, "V1", "V7"], dtype="str"), "row": range(5)}
    )
    here, past = m.in_jurisdiction(roll, history, "19")
    assert here["voter_id"].tolist() == ["V1"]
    assert past["row"].tolist() == [1, 3]
    assert m.in_jurisdiction(roll, history.iloc[:0], "19")[1].empty


def match_review(voter_id, n=1, at="2022-08-01T10:00", row=1):
    return {
        "petition_id": "p",
        "section_id": "S1",
        "page": 1,
        "line": n,
        "voter_id": voter_id,
        "examiner_id": "E7",
        "reviewed_at": at,
        "source_file": "petitions/p/match_reviews/r1.csv",
        "source_row": row,
    }


def test_an_examiners_decision_settles_a_line_routed_to_review() -> None:
    roll = [*ROLL, voter("V11", "MARIA", "GARCIA", "100", "MAIN")]
    pending = [line(1, "Maria Garcia", "100 Main St")]
    out, _, _ = verdicts(pending, roll=roll)
    assert outcome(out, 1) == ("PENDING", None, None)
    # The examiner picks V11, then, later, corrects it to V1: the latest decision counts.
    decided = pd.DataFrame([match_review("V11"), match_review("V1", at="2022-08-02T09:00", row=2)])
    out, _, _ = verdicts(pending, roll=roll, match_reviews=decided)
    assert outcome(out, 1) == ("VALID", None, "V1")
    assert out.loc[1, "match_status"] == "REVIEWED"
    assert (out.loc[1, "match_review_source_file"], out.loc[1, "match_review_source_row"]) == (
        "petitions/p/match_reviews/r1.csv",
        2,
    )
    # No registration found: not registered, the rules as usual.
    out, _, _ = verdicts(pending, roll=roll, match_reviews=pd.DataFrame([match_review(None)]))
    assert outcome(out, 1) == ("INVALID", "NOT_REGISTERED", None)
    # A registration at another address: the line is at the wrong address.
    out, _, _ = verdicts(pending, roll=roll, match_reviews=pd.DataFrame([match_review("V3")]))
    assert outcome(out, 1) == ("INVALID", "ADDRESS_MISMATCH", "V3")
