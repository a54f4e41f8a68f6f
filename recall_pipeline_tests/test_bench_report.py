"""The benchmark's report of its targets (benchmarks/bench.py): judged, never asserted."""

from __future__ import annotations

import copy

from benchmarks.bench import render_targets

SCALE_ONE = {
    "scale": 1.0,
    "wall_seconds": 42.1,
    "peak_rss_gib": 3.66,
    "link": {"accuracy": 0.99383},
    "splink": {"seconds_vs_our_match": 3.53, "link": {"accuracy": 0.93947}},
}


def verdicts(report: list[str]) -> dict[str, str]:
    rows = [line.strip("|").split("|") for line in report if line.startswith("| ")]
    return {name.strip(): verdict.strip() for name, _figure, verdict in rows[1:]}


def test_every_target_met_is_reported_met() -> None:
    assert verdicts(render_targets([SCALE_ONE])) == {
        "full run ≤ 60 s": "met",
        "peak RSS ≤ 4 GiB": "met",
        "matching ≥ 3× faster than Splink": "met",
        "link accuracy ≥ Splink's": "met",
    }


def test_each_target_missed_is_reported_missed() -> None:
    slow = copy.deepcopy(SCALE_ONE)
    slow.update(wall_seconds=62.4, peak_rss_gib=4.02)
    slow["splink"]["seconds_vs_our_match"] = 2.96
    slow["link"]["accuracy"] = 0.9
    report = render_targets([slow])
    assert set(verdicts(report).values()) == {"MISSED"}
    # The figure is printed finely enough not to read as the target it misses.
    assert any("2.96×" in line for line in report)


def test_targets_are_judged_on_scale_one_only() -> None:
    small = {**SCALE_ONE, "scale": 0.1, "wall_seconds": 10.6}
    slow_at_one = {**SCALE_ONE, "wall_seconds": 75.0}
    assert verdicts(render_targets([small, slow_at_one]))["full run ≤ 60 s"] == "MISSED"
    assert "not judged" in render_targets([small])[-1]


def test_without_splink_the_speed_ratio_is_not_judged() -> None:
    alone = {k: v for k, v in SCALE_ONE.items() if k != "splink"}
    assert verdicts(render_targets([alone]))["matching against Splink"] == "not judged"
