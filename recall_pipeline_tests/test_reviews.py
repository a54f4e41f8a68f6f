"""Each line's latest examiner review: by time, then by file and row, whatever the read order."""

from __future__ import annotations

import pandas as pd

from recall_pipeline.verify.reviews import latest_match_reviews


def line_keys(*keys: tuple[str, int, int]) -> pd.DataFrame:
    return pd.DataFrame(
        keys, columns=["section_id", "page", "line"], index=[10, 11, 12, 13][: len(keys)]
    )


def plain(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: None if pd.isna(v) else v for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


REVIEWS = pd.DataFrame(
    [
        # S1 1 1: a later look corrects the first, though it sits in an earlier file.
        ("S1", 1, 1, "V1", "EX1", "2022-07-20T10:00:00", "m/b.csv", 1),
        ("S1", 1, 1, "V9", "EX2", "2022-07-21T08:00:00", "m/a.csv", 5),
        # S1 1 2: one time twice: the later file wins; a space or a T, seconds or not.
        ("S1", 1, 2, "V2", "EX1", "2022-07-20 10:00", "m/a.csv", 2),
        ("S1", 1, 2, None, "EX2", "2022-07-20T10:00:00", "m/b.csv", 2),
        ("S1", 1, 2, "V3", "EX3", "2022-07-20T09:59:59.5", "m/c.csv", 1),
        # S1 2 1: one time twice in one file: the later row wins.
        ("S1", 2, 1, "V4", "EX1", "2022-07-22T12:00", "m/a.csv", 3),
        ("S1", 2, 1, "V5", "EX1", "2022-07-22T12:00", "m/a.csv", 4),
        # Another line of the petition, not among these lines.
        ("S9", 1, 1, "V6", "EX1", "2022-07-22T12:00", "m/a.csv", 6),
    ],
    columns=[
        "section_id", "page", "line", "voter_id", "examiner_id", "reviewed_at", "source_file",
        "source_row",
    ],
)  # fmt: skip


def test_each_line_gets_its_latest_review_whatever_the_order_rows_came_in() -> None:
    lines = line_keys(("S1", 1, 1), ("S1", 1, 2), ("S1", 2, 1), ("S1", 3, 1))
    expected = [
        {"reviewed": True, "voter_id": "V9", "examiner_id": "EX2", "reviewed_at":
         "2022-07-21T08:00:00", "source_file": "m/a.csv", "source_row": 5},
        # The examiner found no registration: reviewed, and no voter.
        {"reviewed": True, "voter_id": None, "examiner_id": "EX2", "reviewed_at":
         "2022-07-20T10:00:00", "source_file": "m/b.csv", "source_row": 2},
        {"reviewed": True, "voter_id": "V5", "examiner_id": "EX1", "reviewed_at":
         "2022-07-22T12:00", "source_file": "m/a.csv", "source_row": 4},
        {"reviewed": False, "voter_id": None, "examiner_id": None, "reviewed_at": None,
         "source_file": None, "source_row": None},
    ]  # fmt: skip
    for order in (REVIEWS.index, REVIEWS.index[::-1], [3, 7, 0, 5, 1, 6, 2, 4]):
        got = latest_match_reviews(lines, REVIEWS.loc[order])
        assert got.index.tolist() == lines.index.tolist()
        assert plain(got) == expected
    # Line keys read as text or numbers meet all the same.
    as_text = lines.astype({"page": "str", "line": "str"})
    assert latest_match_reviews(as_text, REVIEWS)["voter_id"].tolist()[:1] == ["V9"]


def test_no_reviews_means_no_line_reviewed() -> None:
    lines = line_keys(("S1", 1, 1), ("S1", 1, 2))
    got = latest_match_reviews(lines, REVIEWS.iloc[:0])
    assert got.index.tolist() == lines.index.tolist()
    assert not got["reviewed"].any() and got["voter_id"].isna().all()
