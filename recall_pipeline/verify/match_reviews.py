"""An examiner's decision on who signed a line the matcher routed to them (`match_reviews`).

The decision replaces the matcher's link, and the rules then apply as usual: a line the
examiner tied to a registration is weighed against that registration's addresses — the
dwelling it names (the current address, or a past one with its dates) or another
(ADDRESS_MISMATCH) — and one the examiner found no registration for is NOT_REGISTERED. The
match evidence says the link is the examiner's (`match_status` REVIEWED) and names the review
row it came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recall_pipeline.verify import compare as c
from recall_pipeline.verify import match as m
from recall_pipeline.verify import normalize as nz
from recall_pipeline.verify.reviews import latest_match_reviews

# The registrations a reviewed line is weighed against: these columns of the roll and history.
ADDRESS_COLUMNS = [
    "voter_id", "house_number", "street_predir", "street_name", "street_type", "street_postdir",
    "zip", "city",
]  # fmt: skip


def apply_match_reviews(
    matches: pd.DataFrame,
    reviews: pd.DataFrame,
    roll: pd.DataFrame,
    history: pd.DataFrame,
) -> pd.DataFrame:
    """`matches` (`line_matches` rows of one petition) with every reviewed line's link set to
    the examiner's latest decision. `roll` and `history` hold at least the reviewed voters'
    registrations and past addresses (ADDRESS_COLUMNS; history with valid_from/to)."""
    latest = latest_match_reviews(matches, reviews)
    reviewed = latest["reviewed"].to_numpy()
    out = matches.assign(
        match_review_source_file=latest["source_file"].where(reviewed).to_numpy(),
        match_review_source_row=latest["source_row"].where(reviewed).to_numpy(),
    )
    if not reviewed.any():
        return out
    out = out.copy()
    rows = np.flatnonzero(reviewed)
    voter = latest["voter_id"].to_numpy()[rows]
    found = pd.notna(voter) & (pd.Series(voter, dtype="str").fillna("") != "").to_numpy()
    method = np.full(len(rows), m.METHOD_NONE, dtype=object)
    valid_from = np.full(len(rows), None, dtype=object)
    valid_to = np.full(len(rows), None, dtype=object)
    if found.any():
        line = out.iloc[rows[found]]
        current = _at_address(line, voter[found], roll)
        past = _at_address(line, voter[found], history)
        method_found = np.where(
            current, m.METHOD_CURRENT, np.where(past.notna(), m.METHOD_HISTORY, m.METHOD_ELSEWHERE)
        )
        method[found] = method_found
        at = past.to_numpy()
        has = pd.notna(at) & ~current
        for name, target in (("valid_from", valid_from), ("valid_to", valid_to)):
            values = np.full(int(found.sum()), None, dtype=object)
            values[has] = history[name].to_numpy()[at[has].astype(int)]
            target[found] = values
    out.iloc[rows, out.columns.get_loc("voter_id")] = np.where(found, voter, None)
    out.iloc[rows, out.columns.get_loc("match_method")] = method
    out.iloc[rows, out.columns.get_loc("match_status")] = np.where(found, m.REVIEWED, m.UNMATCHED)
    for column, values in (("history_valid_from", valid_from), ("history_valid_to", valid_to)):
        if column in out:
            out[column] = out[column].astype(object)
            out.iloc[rows, out.columns.get_loc(column)] = values
    return out


def _at_address(line: pd.DataFrame, voters: np.ndarray, registrations: pd.DataFrame):
    """For each line and its reviewed voter: with `registrations` the roll, whether the line
    names the voter's dwelling (exact or but for a slip); with the history, the position of a
    past address of the voter the line names (missing if none)."""
    if registrations.empty:
        if "valid_from" in registrations:
            return pd.Series([None] * len(line), dtype=object)
        return np.zeros(len(line), dtype=bool)
    canon = nz.roll_address(registrations.reset_index(drop=True))
    canon["street_key"] = nz.street_key(canon["street"])
    canon["voter_id"] = registrations["voter_id"].to_numpy()
    canon["position"] = np.arange(len(canon))
    pairs = pd.DataFrame({"i": np.arange(len(line)), "voter_id": voters}).merge(
        canon, on="voter_id"
    )
    written = line.reset_index(drop=True)
    written = written.assign(street_key=nz.street_key(written["street"]))
    levels = c.address_levels(
        {
            k: written[k].to_numpy()[pairs["i"].to_numpy()]
            for k in [*m.ADDRESS_COLUMNS, "street_key"]
        },
        {k: pairs[k].to_numpy() for k in [*m.ADDRESS_COLUMNS, "street_key"]},
    )
    near = pairs[(c.ADDRESS_CLASS[levels] >= 0) & (c.ADDRESS_CLASS[levels] < 2)].drop_duplicates(
        "i"
    )
    if "valid_from" not in registrations:
        return np.isin(np.arange(len(line)), near["i"].to_numpy())
    position = pd.Series([None] * len(line), dtype=object)
    position.iloc[near["i"].to_numpy()] = near["position"].to_numpy()
    return position
