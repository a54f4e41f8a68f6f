"""The scoring of benchmarks/accuracy.py (pure pandas, small frames; nothing is run)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.accuracy import (
    confusion,
    examiner_figures,
    has_verdict_truth,
    join_verdicts,
    pass_figures,
    render_summary,
    resolve,
    verdict_figures,
)
from benchmarks.splink_compare import KEY


def _lines(n: int, **columns) -> pd.DataFrame:
    return pd.DataFrame(
        {"petition_id": "p", "section_id": "S1", "page": 1, "line": range(1, n + 1), **columns}
    )


def _truth(statuses: list[str], reasons: list[str], voters: list[str]) -> pd.DataFrame:
    return _lines(
        len(statuses), true_status=statuses, true_reason_code=reasons, true_voter_id=voters
    )


def test_pending_lines_count_against_all_lines_but_not_against_decided_ones():
    truth = _truth(
        ["VALID", "VALID", "INVALID", "INVALID"],
        ["", "", "NOT_REGISTERED", "ADDRESS_MISMATCH"],
        ["V1", "V2", "", "V4"],
    )
    verdicts = _lines(
        4,
        status=["VALID", "PENDING", "INVALID", "INVALID"],
        reason_code=[None, None, "NOT_REGISTERED", "NOT_REGISTERED"],
        voter_id=["V1", "V2", None, None],
    )
    got = verdict_figures(join_verdicts(truth, verdicts))
    assert got["pending"] == 1 and got["pending_share"] == pytest.approx(1 / 4)
    assert got["decided"] == 3
    # Status: lines 1, 3, 4 agree; line 2 is PENDING.
    assert got["status_accuracy"] == pytest.approx(3 / 4)
    assert got["status_accuracy_decided"] == pytest.approx(1.0)
    # Reason: lines 1 and 3 agree; line 4 has the wrong reason, line 2 is PENDING.
    assert got["reason_accuracy"] == pytest.approx(2 / 4)
    assert got["reason_accuracy_decided"] == pytest.approx(2 / 3)
    assert got["reason_wrong"] == 2 and got["reason_wrong_decided"] == 1
    assert got["published_status"] == {"INVALID": 2, "VALID": 1, "PENDING": 1}
    assert got["published_reason"] == {"NOT_REGISTERED": 2}


def test_a_line_never_published_is_wrong_and_counted_apart():
    truth = _truth(["VALID", "VALID"], ["", ""], ["V1", "V2"])
    verdicts = _lines(1, status=["VALID"], reason_code=[None], voter_id=["V1"])
    joined = join_verdicts(truth, verdicts)
    got = verdict_figures(joined)
    assert got["only_in_truth"] == 1 and got["only_published"] == 0
    assert got["status_accuracy"] == pytest.approx(1 / 2)
    assert got["status_accuracy_decided"] == pytest.approx(1 / 2)
    assert joined.loc[joined["line"] == 2, "got_reason"].item() == "MISSING"


def test_without_verdict_truth_only_the_published_counts_are_given():
    truth = _lines(2, true_voter_id=["V1", ""])
    verdicts = _lines(
        2, status=["VALID", "INVALID"], reason_code=[None, "NOT_REGISTERED"], voter_id=["V1", None]
    )
    assert not has_verdict_truth(truth)
    got = verdict_figures(join_verdicts(truth, verdicts))
    assert got["status_accuracy"] is None and got["reason_accuracy_decided"] is None
    assert got["published_status"] == {"VALID": 1, "INVALID": 1}
    assert got["published_reason"] == {"NOT_REGISTERED": 1}


def test_confusion_holds_only_the_off_diagonal_cells_largest_first():
    truth = _truth(
        ["VALID", "INVALID", "INVALID", "INVALID", "VALID"],
        ["", "NOT_REGISTERED", "NOT_REGISTERED", "CANCELLED", ""],
        ["V1", "", "", "V4", "V5"],
    )
    verdicts = _lines(
        5,
        status=["VALID", "INVALID", "INVALID", "INVALID", "PENDING"],
        reason_code=[None, "ADDRESS_MISMATCH", "ADDRESS_MISMATCH", "CANCELLED", None],
        voter_id=["V1", None, None, "V4", None],
    )
    cells = confusion(join_verdicts(truth, verdicts))
    assert cells.to_dict("records") == [
        {"true_reason": "NOT_REGISTERED", "got_reason": "ADDRESS_MISMATCH", "lines": 2},
        {"true_reason": "VALID", "got_reason": "PENDING", "lines": 1},
    ]


def test_the_matchers_link_comes_along_beside_the_published_voter():
    truth = _truth(["VALID"], [""], ["V1"])
    verdicts = _lines(1, status=["VALID"], reason_code=[None], voter_id=["V1"])
    matches = _lines(1, voter_id=["V1"], match_method=["CURRENT_ADDRESS"])
    joined = join_verdicts(truth, verdicts, matches)
    assert joined["match_voter_id"].item() == "V1"
    assert joined["match_method"].item() == "CURRENT_ADDRESS"


def test_per_pass_figures_count_pairs_true_links_and_links_only_one_pass_found():
    truth = _lines(3, true_voter_id=["V1", "V2", ""])
    candidates = pd.DataFrame(
        {
            "petition_id": "p",
            "section_id": "S1",
            "page": 1,
            "line": [1, 1, 2, 3, 2],
            "voter_id": ["V1", "V9", "V2", "V3", "V2"],
            # Line 2's true pair is listed twice: its passes are merged, the pair counted once.
            "passes": ["dwelling;name", "name", "dwelling", "name", "zip"],
        }
    )
    got = pass_figures(candidates, truth).set_index("pass_name")
    assert got.loc["name", "pairs"] == 3 and got.loc["name", "true_links"] == 1
    assert got.loc["dwelling", "pairs"] == 2 and got.loc["dwelling", "true_links"] == 2
    assert got.loc["zip", "pairs"] == 1 and got.loc["zip", "true_links"] == 1
    # V1 was found by two passes and V2 by two: no pass found a true link alone.
    assert got.loc["name", "only_this_pass"] == 0 and got.loc["dwelling", "only_this_pass"] == 0
    assert got.loc["(any)", "pairs"] == 4 and got.loc["(any)", "true_links"] == 2
    assert got.loc["(any)", "only_this_pass"] is None
    assert (got["true_links_in_truth"] == 2).all()


def test_a_true_link_found_by_one_pass_only_is_that_passes_own():
    truth = _lines(2, true_voter_id=["V1", "V2"])
    candidates = _lines(2, voter_id=["V1", "V2"], passes=["name", "name;dwelling"])
    got = pass_figures(candidates, truth).set_index("pass_name")
    assert got.loc["name", "only_this_pass"] == 1
    assert got.loc["dwelling", "only_this_pass"] == 0


def test_summary_puts_ours_beside_splink_and_dashes_what_was_not_measured():
    verdicts = {"lines": 10, "pending_share": 0.1, "status_accuracy": None,
                "reason_accuracy": None}  # fmt: skip
    results = {
        "febrl4": {
            "verdicts": verdicts,
            "link": {"precision": 0.99, "recall": 0.5},
            "splink": {"link": {"precision": 1.0, "recall": 0.89}},
        },
        "mine": {"verdicts": verdicts, "link": {"precision": 1.0, "recall": 1.0}},
    }
    table = render_summary(results).splitlines()
    assert table[2].startswith("| febrl4 | 10 | 10.00% | – | – | 0.9900 / 0.5000 | 1.0000 / ")
    assert table[3].endswith("| 1.0000 / 1.0000 | – |")


def test_key_columns_are_the_line_key():
    assert KEY == ["petition_id", "section_id", "page", "line"]


def test_an_unknown_data_set_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="unknown data set"):
        resolve("la-2022:impossible", 0.1, 1, tmp_path)
    with pytest.raises(SystemExit, match="unknown data set"):
        resolve("no-such-thing", 0.1, 1, tmp_path)


def test_a_data_directory_needs_its_truth_beside_it(tmp_path):
    data = tmp_path / "mine"
    data.mkdir()
    with pytest.raises(SystemExit, match="no truth"):
        resolve(str(data), 0.1, 1, tmp_path)
    (tmp_path / "mine.truth").mkdir()
    (tmp_path / "mine.truth" / "line_truth.csv").write_text(",".join([*KEY, "true_voter_id"]))
    found = resolve(str(data), 0.1, 1, tmp_path)
    assert found.data == data and found.truth == tmp_path / "mine.truth"


def test_examiner_figures_say_whether_the_signer_is_the_first_candidate_shown():
    truth = _lines(4, true_voter_id=["V1", "V2", "", "V4"])
    matches = _lines(4, match_status=["REVIEW", "REVIEW", "REVIEW", "MATCHED"])
    candidates = _lines(4, voter_id=["V1", "V9", "V7", "V4"], rank=[1, 1, 1, 1])
    # Line 2's signer is shown second; line 3 was signed by no registrant.
    candidates = pd.concat([candidates, _lines(2).iloc[[1]].assign(voter_id="V2", rank=2)])
    got = examiner_figures(matches, candidates, truth)
    assert got == {
        "lines": 3,
        "signed_by_registrant": 2,
        "signer_first": 1,
        "signer_listed": 2,
    }
