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

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.verify import jurisdiction
from recall_pipeline.verify import normalize as nz
from recall_pipeline.verify.frames import codes, flags, isin, key_hashes, labels, strings

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
_FIRST_LEVELS = ("exact", "nickname", "typo", "none")
_LAST_LEVELS = ("exact", "typo", "none")
_FIRST_POINTS = np.array([_FIRST_SCORE[level] for level in _FIRST_LEVELS])
_LAST_POINTS = np.array([_LAST_SCORE[level] for level in _LAST_LEVELS])
_MIDDLE_SCORE = 0.05


def in_jurisdiction(
    roll: pd.DataFrame, history: pd.DataFrame, code: str, zips: Collection[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The roll rows of voters who belong to `code` (whose ZIPs are `zips`), and their address
    history: the rule is `verify.jurisdiction`'s."""
    return jurisdiction.in_jurisdiction(roll, history, code, zips)


def prepare_roll(roll: pd.DataFrame) -> pd.DataFrame:
    """Each roll row's voter_id, dwelling keys and canonical names: all that blocking and name
    comparison read, so millions of rows carry no more columns than needed."""
    out = pd.concat([dwelling_keys(nz.roll_address(roll)), nz.roll_name(roll)], axis=1)
    out.insert(0, "voter_id", _own_copy(roll["voter_id"]))
    return out


def _own_copy(values: pd.Series) -> pd.api.extensions.ExtensionArray:
    """The text in buffers of its own: a view would keep every buffer of the raw frame it was
    read into alive (gigabytes for a roll), where a copy lets them go."""
    text = strings(values.astype("str"))
    # Concatenating always writes new buffers, even for one chunk or one array.
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    return pd.array(pa.concat_arrays(chunks or [pa.array([], pa.string())]), dtype="str")


def prepare_history(history: pd.DataFrame, roll_names: pd.DataFrame) -> pd.DataFrame:
    return with_names(history_addresses(history), roll_names)


def history_addresses(history: pd.DataFrame) -> pd.DataFrame:
    """Each past address's voter_id, dwelling keys, validity and source; `with_names` adds the
    voter's canonical names from the prepared roll."""
    out = dwelling_keys(nz.roll_address(history))
    out.insert(0, "voter_id", _own_copy(history["voter_id"]))
    out["valid_from"] = history["valid_from"].to_numpy()
    out["valid_to"] = history["valid_to"].to_numpy()
    for column in ("source_file", "source_row"):
        if column in history:
            out[f"history_{column}"] = history[column].to_numpy()
    return out


def with_names(out: pd.DataFrame, roll_names: pd.DataFrame) -> pd.DataFrame:
    # Names of the voters with a history only: indexing the whole roll costs seconds.
    holders = roll_names[isin(roll_names["voter_id"], out["voter_id"])]
    names = holders.set_index("voter_id")[["first", "middle", "last"]]
    return out.join(names, on="voter_id", how="inner")


def prepare_lines(lines: pd.DataFrame) -> pd.DataFrame:
    address = nz.written_address(lines["residence_address"], lines["city"], lines["zip"])
    names = nz.printed_name(lines["printed_name"])
    out = pd.concat([address, dwelling_keys(address), names.add_prefix("name_")], axis=1)
    out.insert(0, "line_index", np.arange(len(lines)))
    return out


def compare_names(pairs: pd.DataFrame) -> pd.DataFrame:
    """Agreement levels of line names (name_*) against candidate names, and a pass flag."""
    lf, ll = _arrow(pairs["name_first"]), _arrow(pairs["name_last"])
    vf, vl = _arrow(pairs["first"]), _arrow(pairs["last"])
    last_exact = flags(pc.equal(ll, vl))
    first_exact = flags(pc.equal(lf, vf))
    # A one-letter slip only counts on names long enough for one letter not to be the name.
    last_typo = _one_edit(ll, vl, ~last_exact) & (flags(pc.utf8_length(vl)) >= 4)
    first_typo = _one_edit(lf, vf, ~first_exact) & (flags(pc.utf8_length(vf)) >= 4)
    nick = _nickname_related(lf, vf) & ~first_exact
    # Levels as positions in _FIRST_LEVELS / _LAST_LEVELS.
    first_level = np.select([first_exact, nick, first_typo], [0, 1, 2], default=3)
    last_level = np.select([last_exact, last_typo], [0, 1], default=2)
    passed = (last_exact & (first_exact | nick | first_typo)) | (last_typo & first_exact)
    line_initial = pc.utf8_slice_codeunits(_arrow(pairs["name_middle"]), 0, 1)
    voter_initial = pc.utf8_slice_codeunits(_arrow(pairs["middle"]), 0, 1)
    middle_agrees = flags(pc.not_equal(line_initial, "")) & flags(
        pc.equal(line_initial, voter_initial)
    )
    score = (
        _FIRST_POINTS[first_level]
        + _LAST_POINTS[last_level]
        + _ADDRESS_SCORE
        + np.where(middle_agrees, _MIDDLE_SCORE, 0.0)
    )
    return pairs.assign(
        first_level=labels(_FIRST_LEVELS, first_level, pairs.index),
        last_level=labels(_LAST_LEVELS, last_level, pairs.index),
        name_passed=passed,
        score=np.round(score, 4),
        middle_agrees=middle_agrees,
    )


def _arrow(values: pd.Series) -> pa.Array:
    return strings(values.fillna(""))


def _one_edit(a: pa.Array, b: pa.Array, where: np.ndarray) -> np.ndarray:
    """one_edit_apart on the pairs `where` selects (the rest are False)."""
    out = np.zeros(len(a), dtype=bool)
    # Comparing letter by letter costs a copy of every pair; most pairs at an address are
    # other people's names, which one edit cannot reach. One edit leaves the lengths at most
    # one apart, and keeps the first or the last letter unless both names are under 3 letters
    # ("AB"/"BA", "A"/"B"): only the pairs that pass that are compared.
    la, lb = flags(pc.utf8_length(a)), flags(pc.utf8_length(b))
    ends_agree = (
        flags(pc.equal(pc.utf8_slice_codeunits(a, 0, 1), pc.utf8_slice_codeunits(b, 0, 1)))
        | flags(pc.equal(pc.utf8_slice_codeunits(a, -1), pc.utf8_slice_codeunits(b, -1)))
        | (np.maximum(la, lb) <= 2)
    )
    where = where & (np.abs(la - lb) <= 1) & ends_agree
    rows = pa.array(np.flatnonzero(where))
    out[where] = nz.one_edit_apart(
        a.take(rows).to_numpy(zero_copy_only=False).astype(str),
        b.take(rows).to_numpy(zero_copy_only=False).astype(str),
    )
    return out


@lru_cache(maxsize=1)
def _nickname_keys() -> pa.Array:
    """'NAME\x1fNAME' for every related pair of first names, in both directions."""
    pairs = nz.nickname_pairs()
    keys = set(zip(pairs["nickname"], pairs["given_name"], strict=True))
    keys |= {(g, n) for n, g in keys}
    # Two nicknames of one given name (BOB/ROB) are related too.
    by_given = pairs.groupby("given_name")["nickname"].apply(list)
    for names in by_given:
        keys |= {(x, y) for x in names for y in names if x != y}
    return pa.array(sorted(f"{x}\x1f{y}" for x, y in keys), type=pa.string())


def _nickname_related(a: pa.Array, b: pa.Array) -> np.ndarray:
    probe = pc.binary_join_element_wise(a, b, "\x1f")
    return flags(pc.is_in(probe, value_set=_nickname_keys()))


# Each blocking key's hash column; the loose key's text is derived from the dwelling's when a
# pair needs it, so millions of rows do not carry it.
DWELLING_HASHES = {"dwelling": "dwelling_hash", "loose_dwelling": "loose_dwelling_hash"}
DWELLING_COLUMNS = ["dwelling", *DWELLING_HASHES.values()]
# Positions of the loose key's parts within the dwelling key.
_LOOSE_PARTS = [ADDRESS_KEY.index(c) for c in LOOSE_KEY]


def dwelling_keys(address: pd.DataFrame) -> pd.DataFrame:
    """Each row's dwelling as one text key (the full canonical address) with its 64-bit hash,
    and the hash of its loose key (house number, street and ZIP5 only): blocking joins
    millions of rows on one integer, then compares the text of the pairs it found."""
    dwelling = _joined(address, ADDRESS_KEY)
    return pd.DataFrame(
        {
            "dwelling": dwelling,
            "dwelling_hash": key_hashes(dwelling),
            "loose_dwelling_hash": key_hashes(_joined(address, LOOSE_KEY)),
        },
        index=address.index,
    )


def _key_text(dwellings: pd.Series, key: str) -> pa.Array:
    """The text of blocking key `key` for each dwelling key."""
    text = strings(dwellings)
    if key == "dwelling":
        return text
    parts = pc.split_pattern(text, "\x1f")
    return pc.binary_join_element_wise(*(pc.list_element(parts, i) for i in _LOOSE_PARTS), "\x1f")


def _joined(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    parts = [strings(frame[c]) for c in columns]
    # The unit separator never occurs in a canonical part, so distinct addresses keep distinct
    # keys.
    return pd.Series(pc.binary_join_element_wise(*parts, "\x1f"), index=frame.index, dtype="str")


_PERSON_COLUMNS = ["voter_id", "first", "middle", "last"]
_LINE_NAMES = ["name_first", "name_middle", "name_last"]
_LINE_PAIR_COLUMNS = ["line_index", "dwelling", *DWELLING_HASHES.values(), *_LINE_NAMES]
_HISTORY_EXTRA = ["valid_from", "valid_to", "history_source_file", "history_source_row"]


def candidates_at_address(lines: pd.DataFrame, roll: pd.DataFrame, history: pd.DataFrame):
    """Every (line, person) pair sharing a dwelling, from the current roll and the history."""
    # Only what comparing names and choosing a voter read: each column carried is copied into
    # every one of millions of pairs.
    addressed = lines.loc[lines["has_address"].to_numpy(), _LINE_PAIR_COLUMNS]
    sources = (
        (roll, METHOD_CURRENT, _PERSON_COLUMNS),
        (history, METHOD_HISTORY, _PERSON_COLUMNS + [c for c in _HISTORY_EXTRA if c in history]),
    )

    def block(on: str, these: pd.DataFrame) -> list[pd.DataFrame]:
        hashed = DWELLING_HASHES[on]
        found = []
        for frame, source, columns in sources:
            # Only registrations at a dwelling some line names take part in the join: a
            # semi-join first keeps the join to thousands of rows instead of millions. The join
            # itself pairs row positions, and the text columns are copied once, for the pairs
            # that hold.
            near = np.flatnonzero(isin(frame[hashed], these[hashed]))
            joined = pd.DataFrame(
                {"key": these[hashed].to_numpy(), "line_row": np.arange(len(these))}
            ).merge(pd.DataFrame({"key": frame[hashed].to_numpy()[near], "row": near}), on="key")
            line_rows, rows = joined["line_row"].to_numpy(), joined["row"].to_numpy()
            # Equal hashes of unequal addresses are no block.
            same = flags(
                pc.equal(
                    _key_text(_take(these["dwelling"], line_rows), on),
                    _key_text(_take(frame["dwelling"], rows), on),
                )
            )
            line_rows, rows = line_rows[same], rows[same]
            pairs = pd.DataFrame(
                {
                    **{c: _take(these[c], line_rows) for c in ["line_index", *_LINE_NAMES]},
                    **{c: _take(frame[c], rows) for c in columns},
                }
            )
            pairs["source"] = source
            found.append(pairs)
        return found

    exact = block("dwelling", addressed)
    matched = np.union1d(exact[0]["line_index"], exact[1]["line_index"])
    # A line whose written address lacks a suffix or direction falls back to house + street.
    loose = block("loose_dwelling", addressed[~np.isin(addressed["line_index"], matched)])
    return pd.concat([*exact, *loose], ignore_index=True)


def _take(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """values at `rows`: column by column, since selecting columns of a frame of millions of
    rows first would copy them whole."""
    return values.take(rows).reset_index(drop=True)


def match_lines(
    lines: pd.DataFrame,
    roll: pd.DataFrame,
    history: pd.DataFrame,
) -> pd.DataFrame:
    """One row per line: the matched voter (or none), how, the score and the evidence.

    The name-alone rule counts each line's full name on `roll`: the jurisdiction's whole roll,
    or any part of it that holds every registration bearing the lines' names.
    """
    # Counting the names over the whole roll needs nothing the blocks need: it runs beside them
    # (mostly Arrow and numpy kernels, which release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        counted = pool.submit(_name_holders, lines, roll)
        pairs = candidates_at_address(lines, roll, history)
        compared = compare_names(pairs)
        holders, sole_holder = counted.result()
    block_size = _people_per_line(compared, len(lines))

    passed = compared[compared["name_passed"].to_numpy()]
    # A line with one passing row has its choice; only lines with several are ranked.
    rows_per_line = np.bincount(passed["line_index"].to_numpy(), minlength=len(lines))
    contested = rows_per_line[passed["line_index"].to_numpy()] > 1
    ranked = passed[contested].assign(
        source_rank=(passed.loc[contested, "source"] != METHOD_CURRENT).astype(int)
    )
    # A voter listed twice at one past address (moved away and back) is decided by the earlier
    # history row, so the choice never depends on the order rows were read in.
    ties = [c for c in ("history_source_file", "history_source_row") if c in ranked]
    ranked = ranked.sort_values(
        ["line_index", "score", "source_rank", "voter_id", *ties],
        ascending=[True, False, True, True, *[True] * len(ties)],
    )
    distinct = _people_per_line(ranked, len(lines)) + (rows_per_line == 1)
    best = pd.concat(
        [passed[~contested], ranked.drop_duplicates("line_index", keep="first")]
    ).set_index("line_index")

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
    result["candidates_at_address"] = block_size
    result["passing_candidates"] = distinct

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

    ambiguous = ranked[distinct[ranked["line_index"].to_numpy()] > 1]
    return result, ambiguous


def _people_per_line(pairs: pd.DataFrame, n_lines: int) -> np.ndarray:
    """How many distinct voters each line (0..n_lines-1) is paired with, on integer codes."""
    voters, distinct = codes(pairs["voter_id"])
    pair = pairs["line_index"].to_numpy(dtype=np.int64) * (distinct + 1) + voters
    lines = pd.unique(pair) // (distinct + 1)
    return np.bincount(lines, minlength=n_lines).astype(np.int64)


def _name_holders(lines: pd.DataFrame, roll: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """For each line's full name: how many registrations carry it, and the voter when one.

    Names are compared as integer codes (first and last factorized together over the roll and
    the lines), so counting millions of registrations is an integer lookup and a bincount,
    never a sort.
    """
    n_roll = len(roll)
    if n_roll == 0:
        return np.zeros(len(lines), dtype=np.int64), pd.Series(
            None, index=lines.index, dtype=object
        )
    first, _ = pd.factorize(pd.concat([roll["first"], lines["name_first"]], ignore_index=True))
    last, last_values = pd.factorize(
        pd.concat([roll["last"], lines["name_last"]], ignore_index=True)
    )
    key = first.astype(np.int64) * (len(last_values) + 1) + last
    roll_keys, line_keys = key[:n_roll], key[n_roll:]
    # Only the names some line bears are counted: a lookup into their few hundred thousand
    # instead of a hash table of every name on the roll.
    wanted = pd.Index(pd.unique(line_keys))
    at = wanted.get_indexer(roll_keys)
    held = np.flatnonzero(at >= 0)
    counts = np.bincount(at[held], minlength=len(wanted))
    # For a name held once, the one row that wrote its position is its holder.
    holder_row = np.zeros(len(wanted), dtype=np.int64)
    holder_row[at[held]] = held
    line_at = wanted.get_indexer(line_keys)
    holders = counts[line_at]
    voters = roll["voter_id"].array.take(holder_row[line_at]).to_numpy(dtype=object)
    sole = np.where(holders == 1, voters, None)
    return holders.astype(np.int64), pd.Series(sole, index=lines.index, dtype=object)
