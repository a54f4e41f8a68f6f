"""The examination's standing (margin to flip, acceptance rates, projections, the clock) and
its set of lines, as plain functions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from recall_pipeline.verify import examination as ex

LA = {
    "petition_id": "la-2022-da-recall",
    "method": "random_sample_then_full_count",
    "result": "INSUFFICIENT",
    "valid": 520_050,
    "required": 566_857,
    "sufficient_when": "at_least",
}
NO_CHALLENGES = pd.DataFrame({"challenge_id": pd.Series(dtype=str), "reason_code": []})
NO_RULINGS = pd.DataFrame({"challenge_id": pd.Series(dtype=str), "ruling": []})


def verdicts(**invalid_by_reason: int) -> pd.DataFrame:
    rows = [
        {"status": "INVALID", "reason_code": code, "registrar_category": code.title()}
        for code, n in invalid_by_reason.items()
        for _ in range(n)
    ]
    return pd.DataFrame(rows + [{"status": "VALID", "reason_code": None}] * 3)


def test_the_la_shortfall_is_the_lines_to_reinstate() -> None:
    assert ex.lines_to_flip(520_050, 566_857, "at_least") == (46_807, "reinstate")
    # When the law asks for more than the requirement, one more line is needed.
    assert ex.lines_to_flip(520_050, 566_857, "greater_than") == (46_808, "reinstate")
    # A sufficient petition changes only if valid lines are found invalid.
    assert ex.lines_to_flip(600_000, 566_857, "at_least") == (33_144, "invalidate")
    assert ex.lines_to_flip(566_857, 566_857, "at_least") == (1, "invalidate")


def test_the_wilson_interval_matches_published_values() -> None:
    assert ex.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert ex.wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert ex.wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert ex.wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        ex.wilson_interval(3, 2)


def test_each_reasons_share_needed_and_the_clock_of_the_la_examination() -> None:
    found = verdicts(NOT_REGISTERED=50, DUPLICATE=30)
    petition, reasons = ex.standing(
        {**LA, "valid": 1_000, "required": 1_040},
        found,
        NO_CHALLENGES,
        NO_RULINGS,
        examination_started=dt.date(2022, 9, 6),
        as_of=dt.date(2022, 9, 6),
    )
    assert (petition.lines_to_flip, petition.flip_direction) == (40, "reinstate")
    share = {r.reason_code: r.share_needed_to_flip for r in reasons}
    assert share == {"DUPLICATE": pytest.approx(40 / 30), "NOT_REGISTERED": pytest.approx(0.8)}
    # More lines to reinstate than the reason has: its lines alone cannot change the result.
    shown = {r.reason_code: ex.share_to_flip_text(r.share_needed_to_flip) for r in reasons}
    assert shown == {"DUPLICATE": "cannot alone", "NOT_REGISTERED": "80.0%"}
    assert "cannot alone" in ex.render(petition, reasons)
    assert petition.acceptance_rate is None and petition.projected_valid_open is None
    assert (petition.examination_ends, petition.days_elapsed, petition.days_left) == (
        dt.date(2022, 11, 4),
        1,
        60,
    )
    assert petition.lines_per_day_needed == pytest.approx(80 / 60)


def test_the_la_pace_needed_is_about_3300_lines_a_day() -> None:
    la = verdicts(NOT_REGISTERED=195_783)
    started = dt.date(2022, 9, 6)
    petition, _ = ex.standing(
        LA, la, NO_CHALLENGES, NO_RULINGS, examination_started=started, as_of=started
    )
    assert round(petition.lines_per_day_needed) == 3_263
    last, _ = ex.standing(
        LA, la, NO_CHALLENGES, NO_RULINGS, examination_started=started, as_of=dt.date(2022, 11, 4)
    )
    assert (last.days_elapsed, last.days_left) == (60, 1)
    over, _ = ex.standing(
        LA, la, NO_CHALLENGES, NO_RULINGS, examination_started=started, as_of=dt.date(2023, 1, 1)
    )
    assert (over.days_left, over.lines_per_day_needed) == (0, None)


def test_rulings_give_rates_and_projections_per_reason() -> None:
    # 10 NOT_REGISTERED lines challenged: 4 accepted (decided again: 3 now VALID, one a
    # DUPLICATE of its voter's counted line), 4 rejected, 2 open; 50 DUPLICATE lines, none
    # ruled.
    found = verdicts(NOT_REGISTERED=100, DUPLICATE=50)
    reinstated = pd.DataFrame(
        {
            "status": ["VALID"] * 3 + ["INVALID"],
            "reason_code": [None] * 3 + ["DUPLICATE"],
            "challenge_id": ["C0", "C1", "C2", "C3"],
            "finding_reason_code": ["NOT_REGISTERED"] * 4,
        }
    )
    found = pd.concat([found.iloc[4:], reinstated], ignore_index=True)
    challenges = pd.DataFrame(
        {"challenge_id": [f"C{i}" for i in range(10)], "reason_code": ["NOT_REGISTERED"] * 10}
    )
    rulings = pd.DataFrame(
        {
            "challenge_id": [f"C{i}" for i in range(8)],
            "ruling": [ex.ACCEPTED] * 4 + [ex.REJECTED] * 4,
        }
    )
    petition, reasons = ex.standing(
        {**LA, "valid": 1_003, "required": 1_100},
        found,
        challenges,
        rulings,
        examination_started=None,
        as_of=dt.date(2022, 10, 1),
    )
    by = {r.reason_code: r for r in reasons}
    nr = by["NOT_REGISTERED"]
    # The lines decided again count with their reason at the finding.
    assert (nr.invalid_lines, nr.challenged_lines, nr.ruled, nr.accepted, nr.open_challenges) == (
        100,
        10,
        8,
        4,
        2,
    )
    assert nr.acceptance_rate == 0.5
    assert (nr.acceptance_low, nr.acceptance_high) == pytest.approx(ex.wilson_interval(4, 8))
    assert nr.projected_from_open == 1.0 and nr.projected_from_unchallenged == 45.0
    assert nr.share_needed_to_flip == pytest.approx(97 / 100)
    assert by["DUPLICATE"].acceptance_rate is None
    assert petition.lines_to_flip == 97 and petition.invalid_lines == 150
    # Projected: 1 more from the 2 open challenges, 46 with the 90 unchallenged lines too;
    # DUPLICATE has no rate yet and stays as found.
    assert petition.projected_valid_open == pytest.approx(1_004)
    assert petition.projected_valid_all == pytest.approx(1_049)
    assert petition.projected_result_all == "INSUFFICIENT"
    low, high = ex.wilson_interval(4, 8)
    assert petition.projected_valid_all_low == pytest.approx(1_003 + 92 * low)
    assert petition.projected_valid_all_high == pytest.approx(1_003 + 92 * high)
    assert "reinstate 97 of the 150 invalid lines (64.7%)" in ex.render(petition, reasons)
    # Before the rulings, the 3 lines they reinstated were not valid.
    assert (petition.valid_at_finding, petition.result_at_finding) == (1_000, "INSUFFICIENT")
    assert "At the finding: valid 1,000, margin -100" in ex.render(petition, reasons)


def test_a_sampled_result_has_no_lines_to_flip() -> None:
    petition, reasons = ex.standing(
        {**LA, "method": "random_sample", "result": "SUFFICIENT"},
        verdicts(NOT_REGISTERED=5),
        NO_CHALLENGES,
        NO_RULINGS,
        examination_started=None,
        as_of=dt.date(2022, 9, 6),
    )
    assert petition.lines_to_flip is None
    assert [r.share_needed_to_flip for r in reasons] == [None]
    assert "decided by its sample" in ex.render(petition, reasons)


def test_the_examination_set_holds_invalid_lines_and_their_own_registrations_only() -> None:
    key = {"petition_id": "p", "section_id": "S1", "page": 1}
    lines = pd.DataFrame(
        [
            {**key, "line": n, "printed_name": f"NAME {n}", "residence_address": "1 MAIN ST",
             "city": "LA", "zip": "90001", "date_signed": dt.date(2022, 3, 1),
             "signature_present": True, "page_image": None}
            for n in (1, 2, 3)
        ]
    )  # fmt: skip
    found = pd.DataFrame(
        [
            {**key, "line": 1, "status": "VALID", "reason_code": None, "voter_id": "V1"},
            {**key, "line": 2, "status": "INVALID", "reason_code": "DUPLICATE", "voter_id": "V1"},
            {**key, "line": 3, "status": "INVALID", "reason_code": "NOT_REGISTERED",
             "voter_id": None},
        ]
    )  # fmt: skip
    for column in ex.EXAMINATION_SET.column_names:
        if (
            column not in found
            and column not in lines
            and not column.startswith(
                ("written_", "registered_", "reason_description", "review_priority", "priority_")
            )
        ):
            found[column] = None
    found["registrar_category"] = found["reason_code"].fillna("")
    registrations = pd.DataFrame(
        [{"voter_id": v, **{c: f"{c} of {v}" for c in ex.REGISTRATION_SHOWN}} for v in ("V1", "V9")]
    )
    priority = pd.DataFrame(
        [{**key, "line": 3, "review_priority": 0.7, "priority_evidence": "candidate close"}]
    )
    shown = ex.examination_set(found, lines, registrations, priority)
    assert list(shown["line"]) == [2, 3]
    assert list(shown["review_priority"]) == [0.0, 0.7]
    assert list(shown.columns) == ex.EXAMINATION_SET.column_names
    assert shown.loc[0, "registered_last_name"] == "last_name of V1"
    assert shown.loc[1, "registered_last_name"] is None or pd.isna(
        shown.loc[1, "registered_last_name"]
    )
    assert shown.loc[0, "written_printed_name"] == "NAME 2"
    assert shown.loc[1, "reason_description"]
    assert not any("birth" in c for c in shown.columns)


def test_the_review_priority_weighs_each_lines_own_evidence() -> None:
    key = {"petition_id": "p", "section_id": "S1", "page": 1}
    invalid = pd.DataFrame(
        [
            {**key, "line": 1, "reason_code": "NOT_REGISTERED", "voter_id": None},
            {**key, "line": 2, "reason_code": "NOT_REGISTERED", "voter_id": None},
            {**key, "line": 3, "reason_code": "ADDRESS_MISMATCH", "voter_id": "V3"},
            {**key, "line": 4, "reason_code": "DUPLICATE", "voter_id": "V4"},
            {**key, "line": 5, "reason_code": "CANCELLED", "voter_id": "V5"},
            # A strong candidate does not make a withdrawn line's reason doubtful.
            {**key, "line": 6, "reason_code": "WITHDRAWN", "voter_id": "V4"},
            # V5 signed twice and neither line counts; V3 and V7 signed once.
            {**key, "line": 7, "reason_code": "ADDRESS_MISMATCH", "voter_id": "V5"},
            {**key, "line": 8, "reason_code": "CANCELLED", "voter_id": "V7"},
            # Signatures found unlike: against one signature on file, three, a count not given;
            # and a count of one on a line whose reason is not the signature's.
            {**key, "line": 9, "reason_code": "SIGNATURE_MISMATCH", "voter_id": "V9"},
            {**key, "line": 10, "reason_code": "SIGNATURE_MISMATCH", "voter_id": "V10"},
            {**key, "line": 11, "reason_code": "SIGNATURE_MISMATCH", "voter_id": "V11"},
            {**key, "line": 12, "reason_code": "DUPLICATE", "voter_id": "V12"},
        ]
    )
    compared = pd.DataFrame(
        [{**key, "line": n, "signatures_compared": c} for n, c in ((9, 1), (10, 3), (12, 1))]
    )
    best = pd.DataFrame(
        [{**key, "line": n, "best_probability": p} for n, p in ((1, 0.88), (2, 0.05), (6, 0.99))]
    )
    moves = pd.DataFrame(
        {
            "voter_id": ["V3", "V5"],
            "valid_from": [dt.date(2015, 1, 1), dt.date(2010, 1, 1)],
            # V3 left a past address during circulation; V5 long before it.
            "valid_to": [dt.date(2022, 3, 15), dt.date(2019, 1, 1)],
        }
    )
    found = ex.review_priority(
        invalid, best, moves, {"V4"}, (dt.date(2022, 1, 27), dt.date(2022, 7, 6)), compared
    ).set_index("line")
    assert found.loc[1, "review_priority"] == 0.88
    assert found.loc[1, "priority_evidence"] == "candidate close to accepted"
    assert found.loc[2, "review_priority"] == 0.05
    assert found.loc[3, "review_priority"] == ex.MOVED_IN_PERIOD
    assert found.loc[3, "priority_evidence"] == "voter moved during circulation"
    assert found.loc[4, "review_priority"] == 0.0 and found.loc[4, "priority_evidence"] == ""
    assert found.loc[5, "review_priority"] == ex.EVERY_LINE_REJECTED
    assert found.loc[7, "priority_evidence"] == "every line of the voter rejected"
    assert found.loc[6, "review_priority"] == 0.0
    # One line of its voter, rejected: nothing beyond its own reason to go on.
    assert found.loc[8, "review_priority"] == 0.0 and found.loc[8, "priority_evidence"] == ""
    assert found.loc[9, "review_priority"] == ex.ONE_SIGNATURE_COMPARED
    assert found.loc[9, "priority_evidence"] == "signature compared with one on file only"
    assert found.loc[[10, 11, 12], "review_priority"].tolist() == [0.0, 0.0, 0.0]
