"""The dashboard's charts as drawn on the server (the browser tests measure them in Chromium)."""

from __future__ import annotations

import datetime as dt

from recall_pipeline.room import charts


def _reason(code: str, accepted: int, rejected: int, open_: int) -> dict:
    ruled = accepted + rejected
    return {
        "reason_code": code,
        "accepted": accepted,
        "rejected": rejected,
        "open_challenges": open_,
        "acceptance_rate": accepted / ruled if ruled else None,
        "acceptance_low": 0.0 if ruled else None,
        "acceptance_high": 1.0 if ruled else None,
    }


def test_the_clock_is_drawn_against_the_60_days_the_law_allows() -> None:
    """Elapsed and left both count the current day: their sum is 61, not the examination."""
    status = {"examination_started": dt.date(2026, 11, 21), "days_elapsed": 18, "days_left": 43}
    clock = charts.dashboard_charts({"status": status})["clock"]
    assert "days elapsed: 18 of 60 (30.0%)" in clock


def test_only_the_reasons_challenged_are_drawn() -> None:
    reasons = [
        _reason("NOT_REGISTERED", 1, 2, 3),
        _reason("SIGNATURE_MISMATCH", 0, 0, 1),
        _reason("CIRCULATOR_DECLARATION_DEFECT", 0, 0, 0),
    ]
    drawn = charts.dashboard_charts({"reasons": reasons})
    for chart in (drawn["challenges"], drawn["acceptance"]):
        assert "NOT_REGISTERED" in chart and "SIGNATURE_MISMATCH" in chart
        assert "CIRCULATOR_DECLARATION_DEFECT" not in chart
    assert "no ruling yet" in drawn["acceptance"]
    none_yet = charts.dashboard_charts({"reasons": [reasons[2]]})
    assert "challenges" not in none_yet and "acceptance" not in none_yet
