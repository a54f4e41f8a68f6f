"""Finding the registration behind each petition line, with the evidence for every decision.

The search narrows before it compares, the way record linkage is done at scale:

1. **Dwelling block.** A line's canonical address (house number, pre-directional, street, suffix,
   post-directional, ZIP5 — never the unit) is joined by hash to the current addresses on the
   roll and to the earlier addresses in the address history. A line whose written address lacks
   a suffix or direction falls back to (house number, street, ZIP5).
2. **Names inside the block.** Only the handful of people registered at that dwelling, now or
   before, are compared with the printed name: last names equal, or one character apart with
   equal first names; first names equal, nickname-related (reference table) or one character
   apart. A household never holds two people that rule cannot tell apart, so one typo or a
   nickname still points at one person.
3. **Name alone.** A line that finds nobody at its address is attributed to a voter only when
   its full name (first and last) is held by exactly one registration in the jurisdiction —
   that voter signed but is registered elsewhere. A name held by nobody or by several people
   proves nothing: the signer is not registered.

Several people passing step 2 for one line is ambiguous: the documented rule picks the highest
score, then the current address over a past one, then the lowest voter_id, and the line is
listed in `ambiguous_matches` so an examiner can look.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recall_pipeline.verify import normalize as nz

ADDRESS_KEY = ["house", "predir", "street", "stype", "postdir", "zip5"]
LOOSE_KEY = ["house", "street", "zip5"]

METHOD_CURRENT = "CURRENT_ADDRESS"
METHOD_HISTORY = "HISTORY_ADDRESS"
METHOD_NAME = "UNIQUE_NAME"
METHOD_NONE = "NO_MATCH"

# How much each kind of agreement is worth; the score of a match is their sum over 1.0.
_FIRST_SCORE = {"exact": 0.40, "nickname": 0.35, "typo": 0.30, "none": 0.0}
_LAST_SCORE = {"exact": 0.40, "typo": 0.30, "none": 0.0}
_ADDRESS_SCORE = 0.15
_MIDDLE_SCORE = 0.05


def prepare_roll(roll: pd.DataFrame) -> pd.DataFrame:
    """Canonical names and addresses of roll rows, with voter_id."""
    out = pd.concat([nz.roll_address(roll), nz.roll_name(roll)], axis=1)
    out.insert(0, "voter_id", roll["voter_id"].astype("str").to_numpy())
    return out


def prepare_history(history: pd.DataFrame, roll_names: pd.DataFrame) -> pd.DataFrame:
    out = nz.roll_address(history)
    out.insert(0, "voter_id", history["voter_id"].astype("str").to_numpy())
    out["valid_from"] = history["valid_from"].to_numpy()
    out["valid_to"] = history["valid_to"].to_numpy()
    for column in ("source_file", "source_row"):
        if column in history:
            out[f"history_{column}"] = history[column].to_numpy()
    names = roll_names.set_index("voter_id")[["first", "middle", "last"]]
    return out.join(names, on="voter_id", how="inner")


def prepare_lines(lines: pd.DataFrame) -> pd.DataFrame:
    address = nz.written_address(lines["residence_address"], lines["city"], lines["zip"])
    names = nz.printed_name(lines["printed_name"])
    out = pd.concat([address, names.add_prefix("name_")], axis=1)
    out.insert(0, "line_index", np.arange(len(lines)))
    return out


def compare_names(pairs: pd.DataFrame) -> pd.DataFrame:
    """Agreement levels of line names (name_*) against candidate names, and a pass flag."""
    lf, ll = pairs["name_first"].to_numpy(str), pairs["name_last"].to_numpy(str)
    vf, vl = pairs["first"].to_numpy(str), pairs["last"].to_numpy(str)
    last_exact = ll == vl
    first_exact = lf == vf
    last_typo = np.zeros(len(pairs), dtype=bool)
    first_typo = np.zeros(len(pairs), dtype=bool)
    last_typo[~last_exact] = nz.one_edit_apart(ll[~last_exact], vl[~last_exact])
    first_typo[~first_exact] = nz.one_edit_apart(lf[~first_exact], vf[~first_exact])
    # A one-letter slip only counts on names long enough for one letter not to be the name.
    last_typo &= np.char.str_len(vl) >= 4
    first_typo &= np.char.str_len(vf) >= 4
    nick = _nickname_related(lf, vf) & ~first_exact
    first_level = np.select(
        [first_exact, nick, first_typo], ["exact", "nickname", "typo"], default="none"
    )
    last_level = np.select([last_exact, last_typo], ["exact", "typo"], default="none")
    passed = (last_exact & (first_exact | nick | first_typo)) | (last_typo & first_exact)
    score = (
        pd.Series(first_level).map(_FIRST_SCORE).to_numpy()
        + pd.Series(last_level).map(_LAST_SCORE).to_numpy()
        + _ADDRESS_SCORE
    )
    line_initial = pairs["name_middle"].astype("str").str.slice(0, 1).to_numpy(str)
    voter_initial = pairs["middle"].astype("str").str.slice(0, 1).to_numpy(str)
    middle_agrees = (line_initial != "") & (line_initial == voter_initial)
    score = score + np.where(middle_agrees, _MIDDLE_SCORE, 0.0)
    return pairs.assign(
        first_level=first_level,
        last_level=last_level,
        name_passed=passed,
        score=np.round(score, 4),
        middle_agrees=middle_agrees,
    )


def _nickname_related(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    pairs = nz.nickname_pairs()
    keys = set(zip(pairs["nickname"], pairs["given_name"], strict=True))
    keys |= {(g, n) for n, g in keys}
    # Two nicknames of one given name (BOB/ROB) are related too.
    by_given = pairs.groupby("given_name")["nickname"].apply(list)
    for names in by_given:
        keys |= {(x, y) for x in names for y in names if x != y}
    if not len(a):
        return np.zeros(0, dtype=bool)
    probe = pd.MultiIndex.from_arrays([a, b])
    known = pd.MultiIndex.from_tuples(sorted(keys))
    return probe.isin(known)


def candidates_at_address(lines: pd.DataFrame, roll: pd.DataFrame, history: pd.DataFrame):
    """Every (line, person) pair sharing a dwelling, from the current roll and the history."""
    addressed = lines[lines["has_address"]]
    current = addressed.merge(roll, on=ADDRESS_KEY, how="inner", suffixes=("", "_roll"))
    current["source"] = METHOD_CURRENT
    past = addressed.merge(history, on=ADDRESS_KEY, how="inner", suffixes=("", "_roll"))
    past["source"] = METHOD_HISTORY
    found = set(current["line_index"]) | set(past["line_index"])
    loose_lines = addressed[~addressed["line_index"].isin(found)]
    loose = []
    if len(loose_lines):
        for frame, source in ((roll, METHOD_CURRENT), (history, METHOD_HISTORY)):
            part = loose_lines.drop(columns=[c for c in ADDRESS_KEY if c not in LOOSE_KEY]).merge(
                frame, on=LOOSE_KEY, how="inner", suffixes=("", "_roll")
            )
            part["source"] = source
            loose.append(part)
    pairs = pd.concat([current, past, *loose], ignore_index=True)
    return pairs


def match_lines(lines: pd.DataFrame, roll: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """One row per line: the matched voter (or none), how, the score and the evidence."""
    pairs = candidates_at_address(lines, roll, history)
    compared = compare_names(pairs)
    block_size = compared.groupby("line_index")["voter_id"].nunique()

    passed = compared[compared["name_passed"]].copy()
    passed["source_rank"] = (passed["source"] != METHOD_CURRENT).astype(int)
    passed = passed.sort_values(
        ["line_index", "score", "source_rank", "voter_id"], ascending=[True, False, True, True]
    )
    distinct = passed.groupby("line_index")["voter_id"].nunique()
    best = passed.drop_duplicates("line_index", keep="first").set_index("line_index")

    result = pd.DataFrame(index=pd.RangeIndex(len(lines), name="line_index"))
    result["voter_id"] = best["voter_id"]
    result["match_method"] = best["source"]
    result["match_score"] = best["score"]
    result["first_name_agreement"] = best["first_level"]
    result["last_name_agreement"] = best["last_level"]
    result["history_valid_from"] = best.get("valid_from")
    result["history_valid_to"] = best.get("valid_to")
    result["history_source_file"] = best.get("history_source_file")
    result["history_source_row"] = best.get("history_source_row")
    result["candidates_at_address"] = block_size.reindex(result.index).fillna(0).astype(int)
    result["passing_candidates"] = distinct.reindex(result.index).fillna(0).astype(int)

    holders, sole_holder = _name_holders(lines, roll)
    result["roll_records_with_name"] = holders
    by_name = result["voter_id"].isna().to_numpy() & lines["has_address"].to_numpy()
    by_name &= sole_holder.notna().to_numpy()
    result.loc[by_name, "voter_id"] = sole_holder[by_name]
    result.loc[by_name, "match_method"] = METHOD_NAME
    result.loc[by_name, "match_score"] = _FIRST_SCORE["exact"] + _LAST_SCORE["exact"]
    result.loc[by_name, "first_name_agreement"] = "exact"
    result.loc[by_name, "last_name_agreement"] = "exact"
    result["match_method"] = result["match_method"].fillna(METHOD_NONE)
    result["match_score"] = result["match_score"].fillna(0.0)
    result["first_name_agreement"] = result["first_name_agreement"].fillna("none")
    result["last_name_agreement"] = result["last_name_agreement"].fillna("none")

    ambiguous = passed[passed["line_index"].isin(distinct[distinct > 1].index)]
    return result, ambiguous


def _name_holders(lines: pd.DataFrame, roll: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """For each line's full name: how many registrations carry it, and the voter when one.

    Names are compared as integer codes (first and last factorized together over the roll and
    the lines), so counting millions of registrations is a numpy operation.
    """
    n_roll = len(roll)
    first, _ = pd.factorize(pd.concat([roll["first"], lines["name_first"]], ignore_index=True))
    last, last_values = pd.factorize(
        pd.concat([roll["last"], lines["name_last"]], ignore_index=True)
    )
    key = first.astype(np.int64) * (len(last_values) + 1) + last
    roll_keys, line_keys = key[:n_roll], key[n_roll:]
    if n_roll == 0:
        return np.zeros(len(lines), dtype=np.int64), pd.Series(
            None, index=lines.index, dtype=object
        )
    distinct, position, counts = np.unique(roll_keys, return_index=True, return_counts=True)
    found = np.minimum(np.searchsorted(distinct, line_keys), len(distinct) - 1)
    hit = distinct[found] == line_keys
    holders = np.where(hit, counts[found], 0)
    voters = roll["voter_id"].to_numpy(dtype=object)[position[found]]
    sole = np.where(hit & (holders == 1), voters, None)
    return holders.astype(np.int64), pd.Series(sole, index=lines.index, dtype=object)
