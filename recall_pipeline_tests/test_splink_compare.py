"""The link-accuracy scoring of benchmarks/splink_compare.py (pure pandas; Splink not needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.splink_compare import KEY, best_threshold, score_links


def _truth(*voters: str, cases: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "petition_id": "p",
            "section_id": "S1",
            "page": 1,
            "line": range(1, len(voters) + 1),
            "true_voter_id": list(voters),
        }
    )
    if cases is not None:
        frame["true_case"] = cases
    return frame


def _links(*voters: str | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "petition_id": "p",
            "section_id": "S1",
            "page": 1,
            "line": range(1, len(voters) + 1),
            "voter_id": list(voters),
        }
    )


def test_right_links_and_right_nones_both_count():
    truth = _truth("V1", "V2", "", "", "V5", cases=["a", "a", "b", "b", "c"])
    links = _links("V1", "V9", None, "V3", "")
    got = score_links(truth, links)
    # right: line 1 (same voter), line 3 (none == none); wrong: 2 (other voter), 4, 5.
    assert got["accuracy"] == pytest.approx(2 / 5)
    assert got["links"] == 3 and got["true_links"] == 3
    assert got["precision"] == pytest.approx(1 / 3)
    assert got["recall"] == pytest.approx(1 / 3)
    assert got["wrong"] == 3
    assert got["wrong_by_case"] == {"a": 1, "b": 1, "c": 1}


def test_a_line_the_system_never_mentions_is_unlinked():
    truth = _truth("V1", "")
    got = score_links(truth, _links("V1"))
    assert got["accuracy"] == 1.0 and got["links"] == 1


def test_two_links_for_one_line_are_refused():
    truth = _truth("V1")
    links = pd.concat([_links("V1"), _links("V2")])
    with pytest.raises(ValueError, match="at most one row per line"):
        score_links(truth, links)


def test_best_threshold_keeps_only_each_lines_best_voter_and_sweeps_the_cut():
    truth = _truth("V1", "V2", "", "V4")
    candidates = _links("V1", "V9", "V7", "V4", "V2").assign(
        match_weight=[20.0, 5.0, 8.0, 2.0, 12.0]
    )
    # The fifth row is line 2's second candidate: it outscores V9, so line 2's best is V2.
    candidates.loc[4, "line"] = 2
    got = best_threshold(truth, candidates)
    # Best weights: line 1 V1 20 (right), line 2 V2 12 (right), line 3 V7 8 (wrong: nobody
    # signed it), line 4 V4 2 (right). Cutting at 12 gets 3 of 4 (line 4 missed); cutting at 2
    # also 3 of 4 (line 3 a false link): the higher cut wins the tie.
    assert got["threshold_match_weight"] == 12.0
    assert got["accuracy"] == pytest.approx(3 / 4)
    assert got["links"] == 2 and got["precision"] == 1.0
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["lines_with_candidate"] == 4
    assert 0.999 < got["threshold_match_probability"] < 1


def test_best_threshold_ties_in_weight_go_to_the_lowest_voter_id():
    truth = _truth("V2")
    candidates = pd.concat([_links("V3"), _links("V2")]).assign(match_weight=[9.0, 9.0])
    got = best_threshold(truth, candidates)
    assert got["accuracy"] == 1.0


def test_best_threshold_may_link_nothing():
    truth = _truth("", "")
    candidates = _links("V1", "V2").assign(match_weight=[3.0, 4.0])
    got = best_threshold(truth, candidates)
    assert got["threshold_match_weight"] is None
    assert got["accuracy"] == 1.0 and got["links"] == 0


def test_columns_in_any_order_and_the_key_is_the_four_columns():
    assert KEY == ["petition_id", "section_id", "page", "line"]
    truth = _truth("V1")[["true_voter_id", *reversed(KEY)]]
    assert score_links(truth, _links("V1"))["accuracy"] == 1.0
