"""Examiners' reviews of petition lines: the one that counts for each line.

An examiner may look at a line more than once (a second opinion, a correction): the latest
review counts. Latest by `reviewed_at`, compared as times (the contract's timestamps may use a
space or a `T`, with or without seconds); two reviews with one timestamp are decided by the
later row of the later file, so the choice never depends on the order rows were read in.
"""

from __future__ import annotations

import pandas as pd

LINE_KEY = ["section_id", "page", "line"]
# One dtype per line-key column on both sides of a join, whatever each frame was read as.
_LINE_KEY_TYPES = {"section_id": "str", "page": "int64", "line": "int64"}
PROVENANCE = ["source_file", "source_row"]
MATCH_REVIEW_COLUMNS = ["voter_id", "examiner_id", "reviewed_at"]


def latest_per_line(lines: pd.DataFrame, reviews: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """For each of `lines` (same index, same order), `reviewed` — whether any of `reviews` (of
    the same petition) concerns it — and the `columns` of its latest review with the file and
    row that review came from (missing where never reviewed)."""
    wanted = [*columns, *PROVENANCE]
    keys = lines[LINE_KEY].astype(_LINE_KEY_TYPES).reset_index(drop=True)
    if reviews.empty:
        latest = pd.DataFrame({c: pd.Series(dtype=object) for c in [*LINE_KEY, *wanted]})
    else:
        # A time that cannot be read (the ingest's rules keep them out) is never the latest.
        at = pd.to_datetime(reviews["reviewed_at"], format="ISO8601", errors="coerce")
        latest = (
            reviews.assign(_at=at)
            .sort_values(["_at", "source_file", "source_row"], na_position="first", kind="stable")
            .drop_duplicates(LINE_KEY, keep="last")[[*LINE_KEY, *wanted]]
        )
    latest = latest.astype(_LINE_KEY_TYPES).assign(reviewed=True)
    # A left merge keeps the lines' order; each line meets at most one latest review.
    joined = keys.merge(latest, on=LINE_KEY, how="left", validate="many_to_one")
    joined["reviewed"] = joined["reviewed"].notna()
    joined["source_row"] = joined["source_row"].astype("Int64")
    joined.index = lines.index
    return joined[["reviewed", *wanted]]


def latest_match_reviews(lines: pd.DataFrame, match_reviews: pd.DataFrame) -> pd.DataFrame:
    """Each line's latest examiner decision on who signed it (`match_reviews` rows of the same
    petition): `reviewed`, then `voter_id` — the registration the examiner found, missing when
    they found none (or never looked: `reviewed` tells which) — `examiner_id`, `reviewed_at`,
    and the review's `source_file` and `source_row`."""
    return latest_per_line(lines, match_reviews, MATCH_REVIEW_COLUMNS)
