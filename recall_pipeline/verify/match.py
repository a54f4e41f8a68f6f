"""Finding the registration behind each petition line, with the evidence for every decision.

The search narrows before it compares, the way record linkage is done at scale, in passes so
that one wrongly written field cannot hide a signer (`PASSES`, each a blocking key):

1. `dwelling` — house number, street and ZIP5, on the current roll and the address history;
2. `house_zip` and `house_street` — for lines not yet placed: the same house number in the ZIP
   (the street misspelt or misread), or on the same street anywhere in the jurisdiction (the
   ZIP wrong or missing);
3. `name_zip`, `name_house` and `full_name` — for lines still not placed: the surname's sound
   and the first initial in the ZIP, the surname's sound at the house number, and the exact
   full name in the jurisdiction (either order), which also counts who holds that name.

Every pair a pass finds is compared field by field (`verify/compare.py`) and weighed by the
Fellegi–Sunter model (`verify/model.py`), which decides: the line's voter, an examiner's review
(PENDING), or no registration. A hash joins the passes' keys; the comparison of the fields
themselves decides, so two keys that share a hash only bring one more pair to compare.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.verify import compare as c
from recall_pipeline.verify import frames, jurisdiction
from recall_pipeline.verify import normalize as nz
from recall_pipeline.verify.frames import flags, isin, key_hashes, labels, strings
from recall_pipeline.verify.model import (
    NAME_COMPARISONS as NAME_LEVELS,
)
from recall_pipeline.verify.model import (
    PRIOR_PAIRS,
    MatchModel,
    RollStatistics,
    name_weights,
    rounded,
)

METHOD_CURRENT = "CURRENT_ADDRESS"
METHOD_HISTORY = "HISTORY_ADDRESS"
METHOD_NAME = "UNIQUE_NAME"
METHOD_NONE = "NO_MATCH"
# An examiner tied the line to a registration at an address the line does not name.
METHOD_ELSEWHERE = "REGISTERED_ELSEWHERE"

MATCHED = "MATCHED"
REVIEW = "REVIEW"
# The link is an examiner's (`match_reviews`), not the matcher's.
REVIEWED = "REVIEWED"
UNMATCHED = "NONE"

# A blocking key whose value more registrations share than this is not used to pair (a sound
# and an initial that thousands of people share in a ZIP say nothing); the lines it would have
# paired are found by the other passes or not at all.
MAX_BLOCK = 60
# Candidates kept per line in `match_candidates`, strongest first.
CANDIDATES_KEPT = 5

ADDRESS_COLUMNS = ["house", "predir", "street", "stype", "postdir", "zip5", "city"]
NAME_COLUMNS = ["first", "middle", "last"]


@dataclass(frozen=True)
class BlockingPass:
    name: str
    stage: int
    # Key parts: columns of a prepared frame (`key_parts` adds the name ones).
    key: tuple[str, ...]
    # Whether past addresses take part (address keys) or only registrations (name keys).
    history: bool
    # A key more registrations share than this pairs nobody (see MAX_BLOCK).
    max_block: int = 60
    # A full name more registrations hold than this pairs nobody: counted on the names as
    # text, so a hash two names share never decides it.
    max_holders: int | None = None

    @property
    def bit(self) -> int:
        return 1 << PASSES.index(self)

    @property
    def hash_columns(self) -> list[str]:
        """The registrations' hash columns of this key: a compound surname is keyed by its
        first and by its last word, so name keys by its sound have two."""
        base = f"{self.name}_hash"
        return [base, f"{base}_2"] if "last_sound" in self.key else [base]


PASSES = (
    BlockingPass("dwelling", 1, ("house", "street_key", "zip5"), True),
    BlockingPass("house_zip", 2, ("house", "zip5"), True),
    BlockingPass("house_street", 2, ("house", "street_key"), True),
    BlockingPass("name_zip", 3, ("last_sound", "first_initial", "zip5"), False, max_block=20),
    BlockingPass("name_house", 3, ("last_sound", "house"), False, max_block=20),
    # A name held by more than a few registrations cannot single one out: its pairs would
    # only be weighed to be left out.
    BlockingPass("full_name", 3, ("first_token", "last_flat"), False, max_holders=3),
)
ADDRESS_PASSES = [p for p in PASSES if p.history]
KEY_COLUMNS = [h for p in PASSES for h in p.hash_columns]
HISTORY_KEY_COLUMNS = [h for p in ADDRESS_PASSES for h in p.hash_columns]


def pass_names(bits: np.ndarray) -> np.ndarray:
    """A bitmask of passes as their names, ';'-joined (the few distinct masks built once)."""
    bits = np.asarray(bits, dtype=np.int64)
    names = {
        mask: ";".join(p.name for p in PASSES if mask & p.bit) for mask in np.unique(bits).tolist()
    }
    return np.array([names[b] for b in bits.tolist()], dtype=object)


STAGES = sorted({p.stage for p in PASSES})


def in_jurisdiction(
    roll: pd.DataFrame, history: pd.DataFrame, code: str, zips: Collection[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The roll rows of voters who belong to `code` (whose ZIPs are `zips`), and their address
    history: the rule is `verify.jurisdiction`'s."""
    return jurisdiction.in_jurisdiction(roll, history, code, zips)


# --- preparing both sides -------------------------------------------------------------------


def prepare_roll(roll: pd.DataFrame) -> pd.DataFrame:
    """Each roll row's voter_id, canonical address and names, and the keys blocking reads."""
    address = nz.roll_address(roll)
    out = pd.concat([address, nz.roll_name(roll)], axis=1)
    out.insert(0, "voter_id", _own_copy(roll["voter_id"]))
    return with_keys(out)


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
    """Each past address's voter_id, canonical address, keys, validity and source;
    `with_names` adds the voter's canonical names from the prepared roll."""
    out = nz.roll_address(history)
    out.insert(0, "voter_id", _own_copy(history["voter_id"]))
    out = with_keys(out, names=False)
    out["valid_from"] = history["valid_from"].to_numpy()
    out["valid_to"] = history["valid_to"].to_numpy()
    for column in ("source_file", "source_row"):
        if column in history:
            out[f"history_{column}"] = history[column].to_numpy()
    return out


def with_names(out: pd.DataFrame, roll_names: pd.DataFrame) -> pd.DataFrame:
    # Names of the voters with a history only: indexing the whole roll costs seconds.
    holders = roll_names[isin(roll_names["voter_id"], out["voter_id"])]
    names = holders.drop_duplicates("voter_id").set_index("voter_id")[NAME_COLUMNS]
    return out.join(names, on="voter_id", how="inner")


def prepare_lines(lines: pd.DataFrame) -> pd.DataFrame:
    address = nz.written_address(lines["residence_address"], lines["city"], lines["zip"])
    names = nz.printed_name(lines["printed_name"])
    out = pd.concat([address, names.add_prefix("name_")], axis=1)
    out = with_keys(out)
    out.insert(0, "line_index", np.arange(len(lines)))
    return out


def with_keys(frame: pd.DataFrame, *, names: bool = True) -> pd.DataFrame:
    """The derived columns blocking joins on: the street without spaces and, per pass, the
    64-bit hash of each row's key (0 where a part of it is blank). A prepared line carries
    only the dwelling's hash; name keys need the names (`names=False` for past addresses,
    which get their voter's names later and take part in the address passes only)."""
    out = frame
    out["street_key"] = nz.street_key(frame["street"])
    if "name_first" in frame:
        out["dwelling_hash"] = _key_hash({k: frame[k] for k in PASSES[0].key}, PASSES[0].key)
        return out
    parts = {k: frame[k] for k in ("house", "street_key", "zip5")}
    if names:
        parts.update(_name_parts(frame["first"], frame["last"]))
    for blocking in PASSES:
        if not names and not blocking.history:
            continue
        first, *second = blocking.hash_columns
        out[first] = _key_hash(parts, blocking.key)
        if second:
            other = {**parts, "last_sound": parts["last_sound_2"]}
            out[second[0]] = _key_hash(other, blocking.key)
    return out


def _key_hash(parts: dict, key) -> np.ndarray:
    usable = _usable(parts, key)
    hashed = key_hashes(_joined(parts, key))
    return np.where(usable, hashed, 0)


def _joined(parts, columns) -> pa.Array:
    text = [pc.fill_null(_strings(parts[c]), "") for c in columns]
    # The unit separator never occurs in a canonical part, so distinct keys stay distinct.
    return pc.binary_join_element_wise(*text, "\x1f")


def _strings(values) -> pa.Array:
    text = strings(values)
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _usable(parts, key) -> np.ndarray:
    """Rows whose key has every part: a key with a blank part would pair unrelated rows."""
    ok = None
    for name in key:
        filled = pc.not_equal(pc.fill_null(_strings(parts[name]), ""), "").to_numpy(
            zero_copy_only=False
        )
        ok = filled if ok is None else ok & filled
    return ok


def _name_parts(first, last, *, sounds: bool = True) -> dict[str, pa.Array]:
    """The name columns name keys are made of: first token, first initial, the surname run
    together, and (with `sounds`) the sound (Metaphone) of the surname's last word and of its
    first word (particles aside: DE LA CRUZ sounds as CRUZ)."""
    first, last = pc.fill_null(_strings(first), ""), pc.fill_null(_strings(last), "")
    token = pc.list_element(pc.split_pattern(first, " "), 0)
    parts = {
        "first_token": token,
        "first_initial": pc.utf8_slice_codeunits(token, 0, 1),
        "last_flat": pc.replace_substring(last, " ", ""),
    }
    if sounds:
        particles = rf"^(?:(?:{'|'.join(nz.SURNAME_PARTICLES)}) )+"
        core = pc.replace_substring_regex(last, particles, "")
        parts["last_sound"] = c.metaphones(_last_word(core))
        parts["last_sound_2"] = c.metaphones(pc.list_element(pc.split_pattern(core, " "), 0))
    return parts


def _last_word(text: pa.Array) -> pa.Array:
    words = pc.split_pattern(text, " ")
    if len(text) == 0:
        return text
    lengths = pc.list_value_length(words).to_numpy()
    starts = words.offsets.to_numpy()[:-1]
    return pc.list_flatten(words).take(pa.array(starts + np.maximum(lengths - 1, 0)))


# --- blocking -------------------------------------------------------------------------------


def probe_keys(
    lines: pd.DataFrame, blocking: BlockingPass, held: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(line_index, hash) of every key a line probes with: name keys in every reading. With
    `held` (`holders_by_reading` of all the lines), a pass with `max_holders` leaves out the
    readings whose full name more registrations hold."""
    if blocking is PASSES[0]:
        hashes = lines["dwelling_hash"].to_numpy()
        keep = hashes != 0
        return lines["line_index"].to_numpy()[keep], hashes[keep]
    index, hashes = [], []
    base = {k: lines[k] for k in ("house", "street_key", "zip5")}
    if blocking.history:
        readings = [None]
    else:
        readings = probe_readings(lines["name_first"], lines["name_middle"], lines["name_last"])
    for r, reading in enumerate(readings):
        sounds = "last_sound" in blocking.key
        parts = base if reading is None else {**base, **_name_parts(*reading, sounds=sounds)}
        hashed = _key_hash(parts, blocking.key)
        keep = hashed != 0
        if held is not None and blocking.max_holders is not None:
            keep &= held[r][lines["line_index"].to_numpy()] <= blocking.max_holders
        index.append(lines["line_index"].to_numpy()[keep])
        hashes.append(hashed[keep])
    return np.concatenate(index), np.concatenate(hashes)


def block(
    lines: pd.DataFrame,
    frame: pd.DataFrame,
    blocking: BlockingPass,
    source: str,
    held: np.ndarray | None = None,
) -> pd.DataFrame:
    """(line_index, row) pairs sharing the pass's key, with the pass's bit (`held` as for
    `probe_keys`)."""
    line_index, probes = probe_keys(lines, blocking, held)
    rows, hashes = [], []
    for column in blocking.hash_columns:
        if len(probes) == 0 or column not in frame:
            continue
        near = np.flatnonzero(isin(frame[column], probes))
        rows.append(near)
        hashes.append(frame[column].to_numpy()[near])
    if not rows:
        return _no_pairs()
    targets = pd.DataFrame({"hash": np.concatenate(hashes), "row": np.concatenate(rows)})
    targets = targets.drop_duplicates()
    sizes = targets["hash"].value_counts()
    targets = targets[targets["hash"].map(sizes).to_numpy() <= blocking.max_block]
    pairs = pd.DataFrame({"hash": probes, "line_index": line_index}).merge(targets, on="hash")
    pairs = pairs[["line_index", "row"]].drop_duplicates()
    pairs["source"] = source
    pairs["passes"] = blocking.bit
    return pairs.reset_index(drop=True)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line_index": pd.Series([], dtype=np.int64),
            "row": pd.Series([], dtype=np.int64),
            "source": pd.Series([], dtype="str"),
            "passes": pd.Series([], dtype=np.int64),
        }
    )


def name_holders(lines: pd.DataFrame, roll: pd.DataFrame) -> np.ndarray:
    """How many registrations carry each line's full name (first and last) in the reading
    most of them hold it in."""
    return holders_by_reading(lines, roll).max(axis=0, initial=0)


def holders_by_reading(lines: pd.DataFrame, roll: pd.DataFrame) -> np.ndarray:
    """How many registrations carry each line's full name (first and last) in each reading of
    `probe_readings` (one row per reading, one column per line), counted on the names
    themselves over the jurisdiction's roll (or any part of it holding every registration
    with the lines' names). The key's hash picks out the registrations worth counting; their
    names are then compared as text."""
    readings = probe_readings(lines["name_first"], lines["name_middle"], lines["name_last"])
    if len(roll) == 0 or len(lines) == 0:
        return np.zeros((len(readings), len(lines)), dtype=np.int64)
    full_name = PASSES[-1]
    _, probes = probe_keys(lines, full_name)
    column = full_name.hash_columns[0]
    if column in roll:
        roll = roll[isin(roll[column], probes)]
    key = full_name.key
    held = _name_parts(roll["first"], roll["last"], sounds=False)
    roll_keys = _joined(held, key).filter(pa.array(_usable(held, key)))
    counted = pc.value_counts(roll_keys)
    names, counts = counted.field("values"), counted.field("counts").to_numpy()
    held = np.zeros((len(readings), len(lines)), dtype=np.int64)
    for r, (first, last) in enumerate(readings):
        parts = _name_parts(first, last)
        at = pc.index_in(_joined(parts, key), value_set=names)
        found = pc.is_valid(at).to_numpy(zero_copy_only=False)
        positions = pc.fill_null(at, 0).to_numpy()
        held_here = np.where(found, counts[positions] if len(counts) else 0, 0)
        held[r] = np.where(_usable(parts, key), held_here, 0)
    return held


# --- comparing and weighing -----------------------------------------------------------------

# The readings of a line's names: as written ("FIRST MIDDLE LAST"), reversed ("LAST1 LAST2
# FIRST", the surname in front without its comma), and surname first ("LAST FIRST MIDDLE").
READINGS = ("_written", "_reversed", "_surname_first", "_compound_first")
NAME_ORDERS = {
    "_written": "as_written",
    "_reversed": "reversed",
    "_surname_first": "surname_first",
    "_compound_first": "compound_first",
}


def probe_readings(first, middle, last) -> list[tuple[pd.Series, pd.Series]]:
    """(first, last) of each line in every reading a name key probes: the comparison's
    readings, and the written one with the middle name's last word as the first half of a
    compound surname ("MILDRED JOAN ARMITT MOORE" for ARMITT-MOORE)."""
    readings = [(f, la) for f, _, la in name_readings(first, middle, last).values()]
    middle = middle.fillna("").reset_index(drop=True)
    _, half = nz._split_last(middle)
    half = half.where(half != "", middle)
    compound = nz.squeeze(half + " " + last.fillna("").reset_index(drop=True))
    return [*readings, (first.fillna("").reset_index(drop=True), compound)]


def name_readings(first, middle, last) -> dict[str, tuple[pd.Series, pd.Series, pd.Series]]:
    """(first, middle, last) of each line's names in each reading."""
    first, middle, last = (s.fillna("").reset_index(drop=True) for s in (first, middle, last))
    blank = pd.Series("", index=first.index, dtype="str")
    before = nz.squeeze(first + " " + middle)
    middle_first, middle_rest, _ = nz._split_once(middle, reverse=False)
    several = (middle.str.contains(" ", regex=False)).to_numpy()
    given = middle_first.where(several, middle).where(middle != "", last)
    rest = nz.squeeze(middle_rest.where(several, "") + " " + last).where(middle != "", "")
    # A two-word surname written first, without its comma ("GARCIA MEJIA DOLORES L"): the
    # first two words, then the given name and what follows it.
    compound = nz.squeeze(first + " " + middle_first).where(several, "")
    after_first, after_rest, _ = nz._split_once(middle_rest, reverse=False)
    after_several = middle_rest.str.contains(" ", regex=False).to_numpy()
    compound_given = after_first.where(after_several, middle_rest).where(several, "")
    compound_rest = nz.squeeze(after_rest.where(after_several, "") + " " + last).where(several, "")
    return {
        "_written": (first, middle, last),
        "_reversed": (last, blank, before),
        "_surname_first": (given, rest, first),
        "_compound_first": (compound_given, compound_rest, compound),
    }


MIDDLE_MISSING = c.MIDDLE_LEVELS.index("missing")
MIDDLE_DISAGREE = c.MIDDLE_LEVELS.index("disagree")
HISTORY_EXTRA = ["history_source_file", "history_source_row"]


def compare_pairs(
    lines: pd.DataFrame,
    roll: pd.DataFrame,
    history: pd.DataFrame,
    pairs: pd.DataFrame,
    stats: RollStatistics,
    *,
    names_keyed: bool = False,
    readings: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Each pair's agreement levels in every reading of the line's names, and the roll's share
    of the line's first name and surname in each reading (for their weights). `names_keyed`:
    the pairs may come from a name pass, so the name keys' agreement is checked too;
    `readings`: `_line_readings` of the lines, when made beforehand."""
    out = []
    readings = readings if readings is not None else _line_readings(lines, stats)
    for source, frame in ((METHOD_CURRENT, roll), (METHOD_HISTORY, history)):
        these = pairs[pairs["source"] == source]
        if these.empty:
            continue
        line_rows = these["line_index"].to_numpy()
        rows = these["row"].to_numpy()
        voter = {k: _take(frame[k], rows) for k in ["voter_id", *NAME_COLUMNS]}
        address = c.address_levels(
            {k: _take(lines[k], line_rows) for k in [*ADDRESS_COLUMNS, "street_key"]},
            {
                k: _take(frame[k], rows) if k in frame else pd.Series("", index=range(len(rows)))
                for k in [*ADDRESS_COLUMNS, "street_key"]
            },
        )
        frame_out = pd.DataFrame(
            {
                "line_index": line_rows,
                "row": rows,
                "voter_id": voter["voter_id"].array,
                "voter_code": frames.key_hashes(voter["voter_id"]),
                "source": source,
                "passes": these["passes"].to_numpy(),
                "address_level": address,
                **_key_agreement(lines, frame, line_rows, rows, names=names_keyed),
            }
        )
        voter_initials = {
            k: pc.utf8_slice_codeunits(pc.fill_null(_strings(voter[k]), ""), 0, 1)
            for k in ("first", "last")
        }
        for suffix, reading in readings.items():
            first, middle, last = (
                _take(reading[k], line_rows) for k in ("first", "middle", "last")
            )
            if suffix == READINGS[0]:
                # The names as written: every pair.
                these_rows = np.arange(len(rows))
            else:
                # Another order can only do better where an initial meets the other side's.
                these_rows = np.flatnonzero(
                    _same_initial(first, voter_initials["first"])
                    | _same_initial(last, voter_initials["last"])
                )
            levels = _reading_levels(
                first.take(these_rows),
                middle.take(these_rows),
                last.take(these_rows),
                {k: v.take(these_rows) for k, v in voter.items()},
                join_middle=suffix == READINGS[0],
            )
            for part, fallback in (
                ("first", FIRST_NONE),
                ("last", LAST_NONE),
                ("middle", MIDDLE_MISSING),
            ):
                column = np.full(len(rows), fallback, dtype=np.int64)
                column[these_rows] = levels[part]
                frame_out[f"{part}_level{suffix}"] = column
            frame_out[f"first_share{suffix}"] = reading["first_share"].to_numpy()[line_rows]
            frame_out[f"last_share{suffix}"] = reading["last_share"].to_numpy()[line_rows]
        if source == METHOD_HISTORY:
            for column in ["valid_from", "valid_to", *HISTORY_EXTRA]:
                if column in frame:
                    frame_out[column] = frame[column].to_numpy()[rows]
        out.append(frame_out)
    if not out:
        return _empty_compared()
    return pd.concat(out, ignore_index=True)


def _same_initial(names: pd.Series, initials: pa.Array) -> np.ndarray:
    mine = pc.utf8_slice_codeunits(pc.fill_null(_strings(names), ""), 0, 1)
    return pc.fill_null(pc.equal(mine, initials), False).to_numpy(zero_copy_only=False)


FIRST_NONE = c.FIRST_LEVELS.index("none")
LAST_NONE = c.LAST_LEVELS.index("none")


def _line_readings(lines: pd.DataFrame, stats: RollStatistics) -> dict[str, pd.DataFrame]:
    """Per reading, each line's first, middle and last name and the roll's shares of its first
    name and surname (computed once per line, not once per pair)."""
    out = {}
    for suffix, (first, middle, last) in name_readings(
        lines["name_first"], lines["name_middle"], lines["name_last"]
    ).items():
        out[suffix] = pd.DataFrame(
            {
                "first": first,
                "middle": middle,
                "last": last,
                "first_share": stats.share_of(first),
                "last_share": stats.last_share_of(last),
            }
        )
    return out


def _reading_levels(first, middle, last, voter, *, join_middle: bool) -> dict[str, np.ndarray]:
    surname, consumed = c.last_name_levels(last, middle, voter["last"], join_middle=join_middle)
    # A middle word read as part of the surname is no middle name.
    middle_level = np.where(consumed, MIDDLE_MISSING, c.middle_name_levels(middle, voter["middle"]))
    return {
        "first": c.first_name_levels(first, voter["first"], voter["middle"]),
        "last": surname,
        "middle": middle_level,
    }


def _key_agreement(lines, frame, line_rows, rows, *, names: bool) -> dict[str, np.ndarray]:
    """Per key part of the passes, whether the pair's line and registration agree on it (the
    name parts in either reading of the line's names)."""
    out = {}
    for part in ("house", "street_key", "zip5"):
        out[f"_key_{part}"] = c.equal(_take(lines[part], line_rows), _take(frame[part], rows))
    if not names or "first" not in frame:
        return out
    voter = _name_parts(_take(frame["first"], rows), _take(frame["last"], rows))
    taken = {k: _take(lines[k], line_rows) for k in ("name_first", "name_middle", "name_last")}
    for first, last in probe_readings(*taken.values()):
        line = _name_parts(first, last)
        for part in ("first_token", "first_initial", "last_flat"):
            found = c.equal(line[part], voter[part]) & c.filled(line[part])
            out[f"_key_{part}"] = out.get(f"_key_{part}", False) | found
        sound = (c.equal(line["last_sound"], voter["last_sound"])) | c.equal(
            line["last_sound"], voter["last_sound_2"]
        )
        out["_key_last_sound"] = out.get("_key_last_sound", False) | (
            sound & c.filled(line["last_sound"])
        )
    return out


def with_name_weights(
    compared: pd.DataFrame, model: MatchModel, stats: RollStatistics
) -> pd.DataFrame:
    """Name weights (log2 m/u) in the reading of the names that weighs more."""
    readings = []
    for suffix in READINGS:
        readings.append(
            name_weights(
                model,
                stats,
                compared[f"first_level{suffix}"].to_numpy(),
                compared[f"last_level{suffix}"].to_numpy(),
                compared[f"middle_level{suffix}"].to_numpy(),
                compared[f"first_share{suffix}"].to_numpy(),
                compared[f"last_share{suffix}"].to_numpy(),
                compared["address_level"].to_numpy() >= len(c.DWELLING_LEVELS),
            )
        )
    # Another order of the names is a keyer's habit with a rate of its own.
    shares = [model.order_shares[NAME_ORDERS[s]] for s in READINGS[1:]]
    order = np.log2([1 - sum(shares), *shares])
    totals = np.column_stack([sum(r.values()) + order[i] for i, r in enumerate(readings)])
    chosen = np.argmax(totals, axis=1)
    rows = np.arange(len(compared))

    def pick(values: list[np.ndarray]) -> np.ndarray:
        return np.column_stack(values)[rows, chosen] if len(rows) else np.zeros(0)

    return compared.assign(
        **{
            f"{part}_level": pick(
                [compared[f"{part}_level{s}"].to_numpy() for s in READINGS]
            ).astype(np.int64)
            for part in ("first", "last", "middle")
        },
        name_order=np.array([NAME_ORDERS[s] for s in READINGS], dtype=object)[chosen],
        first_weight=np.round(pick([r["first_name"] for r in readings]), 4),
        last_weight=np.round(pick([r["last_name"] for r in readings]), 4),
        middle_weight=np.round(pick([r["middle_name"] for r in readings]), 4),
        order_weight=np.round(order[chosen], 4),
        name_weight=np.round(totals[rows, chosen] if len(rows) else np.zeros(0), 4),
    )


def _level_names(positions: pd.Series, names: tuple[str, ...]) -> pd.Series:
    """Level positions as their names; a line without a candidate has 'none'."""
    known = positions.notna().to_numpy()
    at = np.where(known, positions.fillna(0).to_numpy(dtype=np.int64), len(names))
    return labels([*names, "none"], at, positions.index)


def _take(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """values at `rows`: column by column, since selecting columns of a frame of millions of
    rows first would copy them whole."""
    return values.take(rows).reset_index(drop=True)


def _empty_compared() -> pd.DataFrame:
    integers = ["line_index", "row", "passes", "address_level"] + [
        f"{part}_level{suffix}" for part in ("first", "last", "middle") for suffix in READINGS
    ]
    return pd.DataFrame(
        {
            **{k: pd.Series([], dtype=np.int64) for k in integers},
            "voter_code": pd.Series([], dtype=np.int64),
            "voter_id": pd.Series([], dtype="str"),
            "source": pd.Series([], dtype="str"),
            **{
                f"{part}_share{suffix}": pd.Series([], dtype=float)
                for part in ("first", "last")
                for suffix in READINGS
            },
        }
    )


def weigh(
    compared: pd.DataFrame, model: MatchModel, stats: RollStatistics, n_lines: int
) -> pd.DataFrame:
    """Each candidate's weights in the stronger reading of its names, its match weight and
    probability; per line, the probability that one of the people registered at the dwelling
    it names signed it (`at_dwelling`), and that one registered at an address it names far
    off did (`far_off`).

    The hypotheses of a line: it was signed by one of the people registered at the dwelling
    it names (prior: `registrant_share` × the exact address class's share, split among
    them), at a dwelling it names but for a slip (× the close class's share), at one it names
    far off (× the far class's share), or by somebody else (the rest). Bayes' rule with each
    candidate's name evidence gives each hypothesis its probability."""
    compared = with_name_weights(compared, model, stats)
    address_class = c.ADDRESS_CLASS[compared["address_level"].to_numpy()]
    in_model = np.flatnonzero(address_class >= 0)
    # One voter found at several of its addresses counts once: at its nearest address, then
    # its strongest name evidence (sorted on integers: voters by their id's hash).
    lines_in = compared["line_index"].to_numpy(dtype=np.int64)[in_model]
    voters_in = compared["voter_code"].to_numpy()[in_model]
    class_in = address_class[in_model]
    weight_in = compared["name_weight"].to_numpy()[in_model]
    order = np.lexsort((-weight_in, class_in, voters_in, lines_in))
    first_of_voter = np.ones(len(order), dtype=bool)
    first_of_voter[1:] = (lines_in[order][1:] != lines_in[order][:-1]) | (
        voters_in[order][1:] != voters_in[order][:-1]
    )
    # Two voters whose ids share a hash are still two voters.
    same = np.flatnonzero(~first_of_voter)
    if len(same):
        ids = _strings(compared["voter_id"]).take(pa.array(in_model[order]))
        differ = flags(pc.not_equal(ids.take(pa.array(same)), ids.take(pa.array(same - 1))))
        first_of_voter[same[differ]] = True
    chosen = in_model[order[first_of_voter]]
    best_lines = compared["line_index"].to_numpy(dtype=np.int64)[chosen]
    best_class = address_class[chosen]
    share = np.array([model.address_prior[name] for name in c.ADDRESS_CLASSES])
    people = np.zeros((n_lines, len(c.ADDRESS_CLASSES)))
    np.add.at(people, (best_lines, best_class), 1)
    present = people > 0
    # The chance that a registrant signed depends on how near the nearest registration the
    # line names is: most lines naming a registered dwelling exactly were signed by someone
    # registered there; of those naming one only but for a slip, fewer.
    nearest = np.where(present.any(axis=1), np.argmax(present, axis=1), 0)
    rho = np.array([model.registrant_share[name] for name in c.ADDRESS_CLASSES])[nearest]
    prior_mass = np.where(present.any(axis=1), rho, 0.0)
    spread = (share[None, :] * present).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = prior_mass[:, None] * share[None, :] / np.where(spread > 0, spread, 1)[:, None]
    per_person = per_class[best_lines, best_class] / people[best_lines, best_class]
    strength = per_person * np.exp2(compared["name_weight"].to_numpy()[chosen])
    by_class = np.zeros((n_lines, len(c.ADDRESS_CLASSES)))
    np.add.at(by_class, (best_lines, best_class), strength)
    normalizer = (1 - prior_mass) + by_class.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.where(normalizer > 0, by_class[:, :2].sum(axis=1) / normalizer, 0.0)
        far = np.where(normalizer > 0, by_class[:, 2] / normalizer, 0.0)
    probability = np.zeros(len(compared))
    at = chosen
    probability[at] = strength / normalizer[best_lines]
    prior = np.full(len(compared), np.nan)
    prior[at] = per_person / np.maximum(1 - prior_mass[best_lines], 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = compared["name_weight"].to_numpy() + np.where(np.isnan(prior), 0.0, np.log2(prior))
    line_rows = compared["line_index"].to_numpy()
    return compared.assign(
        match_weight=np.round(weight, 4),
        match_probability=np.round(probability, 6),
        at_dwelling=near[line_rows],
        far_off=far[line_rows],
    )


# --- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    """The models a petition's lines were weighed with: `cascade`, fitted on every line's
    candidates at its dwelling, decided which lines the later passes search for; `final`,
    fitted on all candidates, decided the matches."""

    cascade: MatchModel
    final: MatchModel


@dataclass(frozen=True)
class FitSample:
    """Which lines the fit reads, the same whichever batch they came in: `line_keys` is each
    line's 64-bit key (`line_keys`), and of the petition's `total_lines` one line in
    ceil(total / FIT_LINES) is read, by key. `extra` holds the candidates (as
    `compare_pairs` gives them, with a `line_key` column) of the petition's lines matched in
    earlier runs: a run for some batches fits what a run for all would."""

    line_keys: np.ndarray
    total_lines: int
    extra: pd.DataFrame | None = None

    @property
    def fits(self) -> bool:
        """Whether the petition has lines enough to fit the model on (else the settings
        weigh them as they are)."""
        return self.total_lines >= FIT_MIN_LINES

    @property
    def step(self) -> int:
        return max(1, -(-self.total_lines // FIT_LINES))

    def sampled(self) -> np.ndarray:
        """Whether each line is one the fit reads."""
        return self.line_keys % self.step == 0


def line_keys(section_id, page, line) -> np.ndarray:
    """A line's 64-bit key, from its section, page and line."""
    text = pc.binary_join_element_wise(
        _strings(pd.Series(section_id, dtype="str")),
        _strings(pd.Series(page).astype("str")),
        _strings(pd.Series(line).astype("str")),
        "\x1f",
    )
    return key_hashes(text)


def match_lines(
    lines: pd.DataFrame,
    roll: pd.DataFrame,
    history: pd.DataFrame,
    model: MatchModel,
    stats: RollStatistics,
    *,
    fitted: Fitted | None = None,
    sample: FitSample | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Fitted]:
    """One row per line (its match, decision and evidence), its candidates, and the models
    they were weighed with.

    `roll` is the jurisdiction's prepared roll, or any part of it that holds every registration
    the lines' keys reach (a batch run's), and `stats` the whole roll's statistics. The m
    values are fitted on the candidates of the lines `sample` says (by default all of these)
    unless `fitted` gives the models. Those lines are searched by every pass, whatever the
    earlier passes found: what the fit reads of them never depends on a model."""
    n = len(lines)
    if sample is None:
        sample = FitSample(np.arange(n, dtype=np.int64), n)
    open_lines = lines[lines["has_address"].to_numpy()]
    # Each line's readings of its names, made once for every stage's comparisons.
    readings = _line_readings(lines, stats)
    fitting = fitted is None and sample.fits
    fit_lines = open_lines[sample.sampled()[open_lines["line_index"].to_numpy()] & fitting]
    compared_parts = []
    seen = None
    cascade = fitted.cascade if fitted else None
    held = holders_by_reading(lines, roll)
    for stage in STAGES:
        found = []
        for blocking in (p for p in PASSES if p.stage == stage):
            sources = [(METHOD_CURRENT, roll)]
            if blocking.history:
                sources.append((METHOD_HISTORY, history))
            found += [block(open_lines, frame, blocking, name, held) for name, frame in sources]
        pairs = pd.concat(found, ignore_index=True)
        if len(pairs):
            key = ["line_index", "row", "source"]
            # A pair several passes found carries all their bits.
            pairs = pairs.groupby(key, sort=False, as_index=False)["passes"].sum()
            if seen is not None:
                new = pairs.merge(seen, on=key, how="left", indicator=True)["_merge"]
                pairs = pairs[(new == "left_only").to_numpy()]
            names_keyed = any(not p.history for p in PASSES if p.stage == stage)
            compared = _verified(
                compare_pairs(
                    lines, roll, history, pairs, stats, names_keyed=names_keyed, readings=readings
                ),
                stage,
            )
            # Only pairs a pass's own key found are done with: one a shared hash brought in
            # may still be found by a later pass's key.
            kept = compared[key]
            seen = kept if seen is None else pd.concat([seen, kept], ignore_index=True)
            compared_parts.append(_useful(compared))
        compared = (
            pd.concat(compared_parts, ignore_index=True) if compared_parts else _empty_compared()
        )
        if cascade is None:
            # The first stage's candidates (every line's dwelling) steer which lines the later
            # passes search for; the model is fitted again on all candidates at the end.
            cascade = fit_on_candidates(compared, model, stats, sample, first_stage=True)
        # Which of the lines still open this stage placed: lines placed before keep their pairs.
        open_now = isin(compared["line_index"], open_lines["line_index"])
        weighed = weigh(compared[open_now], cascade, stats, n)
        placed = weighed.loc[
            weighed["match_probability"].to_numpy() >= cascade.accept, "line_index"
        ]
        open_lines = open_lines[~np.isin(open_lines["line_index"].to_numpy(), placed.to_numpy())]
        # The lines the fit reads go on to every pass.
        open_lines = pd.concat([open_lines, fit_lines]).drop_duplicates("line_index")
        open_lines = open_lines.sort_values("line_index", kind="stable")
        if open_lines.empty:
            break
    final = fitted.final if fitted else fit_on_candidates(compared, model, stats, sample)
    weighed = weigh(compared, final, stats, n)
    result, candidates = decide(lines, weighed, held.max(axis=0, initial=0), final)
    return result, candidates, Fitted(cascade=cascade, final=final)


def _useful(compared: pd.DataFrame) -> pd.DataFrame:
    """The pairs worth keeping: those the model weighs (at an address the line names near or
    far), and those whose exact full name may make the registration the line's voter
    elsewhere; the others only ever get a probability of nothing."""
    keep = c.ADDRESS_CLASS[compared["address_level"].to_numpy()] >= 0
    for suffix in READINGS:
        keep |= (compared[f"first_level{suffix}"].to_numpy() == 0) & (
            compared[f"last_level{suffix}"].to_numpy() == 0
        )
    return compared[keep].reset_index(drop=True)


def _verified(compared: pd.DataFrame, stage: int) -> pd.DataFrame:
    """The pairs whose fields agree on the key of a pass that ran for the line (every pass of
    this stage and the earlier ones), with those passes as their bits. A pair that only a
    shared hash brought in is dropped: what is weighed never depends on how keys hash."""
    if compared.empty:
        return compared.drop(columns=[c for c in compared.columns if c.startswith("_key_")])
    bits = np.zeros(len(compared), dtype=np.int64)
    history = (compared["source"] == METHOD_HISTORY).to_numpy()
    for blocking in PASSES:
        if blocking.stage > stage:
            continue
        agree = np.ones(len(compared), dtype=bool)
        for part in blocking.key:
            column = f"_key_{part}"
            agree &= compared[column].to_numpy() if column in compared else False
        if not blocking.history:
            agree &= ~history
        bits |= np.where(agree, blocking.bit, 0)
    kept = compared.assign(passes=bits)[bits > 0]
    return kept.drop(columns=[c for c in kept.columns if c.startswith("_key_")])


# A petition of fewer lines is weighed with the settings' values as they are: too few lines to
# tell a habit from chance.
FIT_MIN_LINES = 5_000
# The m values are fitted on at most this many lines' candidates (one line in k, by key):
# enough for shares of a tenth of a percent, and a fit of a few seconds at most.
FIT_LINES = 60_000
FIT_ITERATIONS = 25


def fit_on_candidates(
    compared: pd.DataFrame,
    model: MatchModel,
    stats: RollStatistics,
    sample: FitSample,
    *,
    first_stage: bool = False,
) -> MatchModel:
    """The model's m values, registrant shares and address shares fitted on the lines'
    candidates by expectation maximisation (only the first stage's, the lines' dwellings,
    with `first_stage`).

    The expectation step is the decision's own: each line's probability over the people
    registered at its dwelling and over "somebody else" (so a line is one person at most,
    and a household's other members compete with the right one). The maximisation step
    takes each level's expected share among the matches, the settings' values counting as
    `PRIOR_PAIRS` observations. How often signers write a nickname, their middle name, a name
    typed with slips, a house number one key off... is learnt from the petition at hand.

    The `none` levels keep the settings' m: that a registrant signs under an unrelated first
    or last name cannot be told, from the lines alone, from a relative who is not registered
    signing at the same address."""
    if not sample.fits:
        return model
    own = compared.assign(line_key=sample.line_keys[compared["line_index"].to_numpy()])
    rows = own if sample.extra is None else pd.concat([own, sample.extra], ignore_index=True)
    keep = c.ADDRESS_CLASS[rows["address_level"].to_numpy()] >= 0
    keep &= rows["line_key"].to_numpy() % sample.step == 0
    if first_stage:
        keep &= (rows["passes"].to_numpy() & PASSES[0].bit) > 0
    # One order whatever the runs the rows came from: the fit sums in it.
    ordered = rows[keep].copy()
    ordered["_source_row"] = (
        ordered["history_source_row"].fillna(-1) if "history_source_row" in ordered else -1
    )
    ordered = ordered.sort_values(["line_key", "voter_id", "source", "_source_row"], kind="stable")
    lines, n_lines = pd.factorize(ordered["line_key"])[0], ordered["line_key"].nunique()
    sample = ordered.assign(line_index=lines).drop(columns=["_source_row"]).reset_index(drop=True)
    if sample.empty:
        return model
    fixed = {"first_name": "none", "last_name": "none"}
    fitted = model
    for _ in range(FIT_ITERATIONS):
        weighed = weigh(sample, fitted, stats, n_lines)
        expected = weighed["match_probability"].to_numpy()
        matches = expected.sum()
        m = {}
        for name, column in (
            ("first_name", "first_level"),
            ("last_name", "last_level"),
            ("middle_name", "middle_level"),
        ):
            levels = NAME_LEVELS[name]
            observed = np.bincount(
                weighed[column].to_numpy(), weights=expected, minlength=len(levels)
            )
            estimate = (observed + PRIOR_PAIRS * model.m[name]) / (matches + PRIOR_PAIRS)
            if name in fixed:
                kept = levels.index(fixed[name])
                others = np.arange(len(levels)) != kept
                estimate[others] *= (1 - model.m[name][kept]) / estimate[others].sum()
                estimate[kept] = model.m[name][kept]
            m[name] = estimate
        by_class = np.bincount(
            c.ADDRESS_CLASS[weighed["address_level"].to_numpy()],
            weights=expected,
            minlength=len(c.ADDRESS_CLASSES),
        )
        prior = np.array([model.address_prior[k] for k in c.ADDRESS_CLASSES])
        shares = (by_class + PRIOR_PAIRS * prior) / (matches + PRIOR_PAIRS)
        address = dict(zip(c.ADDRESS_CLASSES, (shares / shares.sum()).tolist(), strict=True))
        # The registrant share per nearest class: the mean chance that a registrant signed, over
        # the lines whose nearest registration is of that class.
        line_class = np.full(n_lines, -1)
        klass = c.ADDRESS_CLASS[weighed["address_level"].to_numpy()]
        at = weighed["line_index"].to_numpy(dtype=np.int64)
        nearest = pd.Series(klass).groupby(at).min()
        line_class[nearest.index.to_numpy()] = nearest.to_numpy()
        signed = np.bincount(at, weights=expected, minlength=n_lines)
        rho = {}
        for i, name in enumerate(c.ADDRESS_CLASSES):
            these = line_class == i
            rho[name] = float(
                np.clip(
                    (signed[these].sum() + PRIOR_PAIRS * model.registrant_share[name])
                    / (these.sum() + PRIOR_PAIRS),
                    1e-4,
                    0.999,
                )
            )
        read = weighed["name_order"].to_numpy()
        order_shares = {
            k: float(
                (expected[read == k].sum() + PRIOR_PAIRS * model.order_shares[k])
                / (matches + PRIOR_PAIRS)
            )
            for k in model.order_shares
        }
        moved = max(np.abs(m[n] - fitted.m[n]).max() for n in m)
        fitted = replace(
            model,
            m=m,
            registrant_share=rho,
            address_prior=address,
            order_shares=order_shares,
        )
        if moved < 1e-6:
            break
    return rounded(fitted, len(sample))


def decide(
    lines: pd.DataFrame, weighed: pd.DataFrame, holders: np.ndarray, model: MatchModel
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(lines)
    at_dwelling, far_off, strongest = np.zeros(n), np.zeros(n), np.zeros(n)
    rows = weighed["line_index"].to_numpy(dtype=np.int64)
    np.maximum.at(at_dwelling, rows, weighed["at_dwelling"].to_numpy())
    np.maximum.at(far_off, rows, weighed["far_off"].to_numpy())
    klass = c.ADDRESS_CLASS[weighed["address_level"].to_numpy()]
    near = (klass >= 0) & (klass < 2)
    np.maximum.at(strongest, rows[near], weighed["match_probability"].to_numpy()[near])
    # Candidates strongest first: probability, weight, the current address before a past
    # one, then the lowest voter_id and the earlier history row (sorted on integers).
    voter_rank = np.empty(len(weighed), dtype=np.int64)
    voter_rank[pc.sort_indices(_strings(weighed["voter_id"])).to_numpy()] = np.arange(len(weighed))
    ties = (
        weighed["history_source_row"].fillna(-1).to_numpy(dtype=np.int64)
        if "history_source_row" in weighed
        else np.zeros(len(weighed), dtype=np.int64)
    )
    order = np.lexsort(
        (
            ties,
            voter_rank,
            (weighed["source"] != METHOD_CURRENT).to_numpy().astype(np.int64),
            -weighed["match_weight"].to_numpy(),
            -weighed["match_probability"].to_numpy(),
            rows,
        )
    )
    ranked = weighed.iloc[order]
    sorted_lines = rows[order]
    leads = np.ones(len(order), dtype=bool)
    leads[1:] = sorted_lines[1:] != sorted_lines[:-1]
    best = ranked[leads].set_index("line_index")

    result = pd.DataFrame(index=pd.RangeIndex(n, name="line_index"))
    status = np.full(n, UNMATCHED, dtype=object)
    # A registrant at the dwelling almost surely signed, and one alone is the likely one (two
    # equally likely registrants, a father and son of one name, go to an examiner).
    matched = strongest >= model.accept
    # Plausibly a registrant, near or far: the software may not reject it on its own.
    review = (at_dwelling + far_off >= model.review) & ~matched
    status[matched] = MATCHED
    status[review] = REVIEW

    # Below review: the exact full name, held by one registration alone in the jurisdiction,
    # and no middle name written that contradicts the registration's (JOHN Q SMITH is not
    # the one JOHN ANDREW SMITH registered: another person of that name signed).
    exact_name = (
        (ranked["first_level"] == 0)
        & (ranked["last_level"] == 0)
        & (ranked["middle_level"] != MIDDLE_DISAGREE)
    ).to_numpy()
    sole = ranked[exact_name & (ranked["source"] == METHOD_CURRENT).to_numpy()]
    sole = sole.drop_duplicates("line_index").set_index("line_index")
    by_name = (
        ~matched
        & ~review
        & (holders == 1)
        & lines["has_address"].to_numpy()
        & np.isin(np.arange(n), sole.index.to_numpy())
    )
    status[by_name] = MATCHED

    chosen = best.reindex(result.index)
    by_name_rows = sole.reindex(result.index)
    linked = matched & ~by_name
    pick = chosen.where(pd.Series(linked | review, index=result.index), by_name_rows)
    pick = pick.where(pd.Series(linked | review | by_name, index=result.index))

    result["voter_id"] = pick["voter_id"].where(pd.Series(status == MATCHED, index=result.index))
    method = np.where(
        by_name,
        METHOD_NAME,
        np.where(linked, pick["source"].fillna(METHOD_NONE).to_numpy(), METHOD_NONE),
    )
    result["match_method"] = method
    result["match_status"] = status
    result["review_reason"] = np.select(
        [review & (far_off > at_dwelling), review & (at_dwelling >= model.accept), review],
        [
            "the name agrees with a registrant at an address the line names far off",
            "two or more registrants at the dwelling could have signed",
            "uncertain whether a registrant at the dwelling signed",
        ],
        default=None,
    )
    result["match_score"] = np.round(np.where(matched | review, at_dwelling + far_off, 0.0), 6)
    result["match_weight"] = pick["match_weight"].fillna(0.0).to_numpy()
    result["match_probability"] = pick["match_probability"].fillna(0.0).to_numpy()
    for column, level, names in (
        ("first_name_agreement", "first_level", c.FIRST_LEVELS),
        ("last_name_agreement", "last_level", c.LAST_LEVELS),
        ("middle_name_agreement", "middle_level", c.MIDDLE_LEVELS),
        ("address_agreement", "address_level", c.ADDRESS_LEVELS),
    ):
        result[column] = _level_names(pick[level], names)
    result["name_order"] = pick["name_order"].fillna("as_written").to_numpy()
    bits = pick["passes"].fillna(0).to_numpy(dtype=np.int64)
    result["blocking_passes"] = np.where(bits > 0, pass_names(bits), None)
    for column in ("valid_from", "valid_to", *HISTORY_EXTRA):
        target = column if column.startswith("history_") else f"history_{column}"
        values = pick[column] if column in pick else pd.Series(None, index=result.index)
        result[target] = values.where(result["match_method"] == METHOD_HISTORY).to_numpy()

    dwelling = weighed[weighed["address_level"].to_numpy() < len(c.DWELLING_LEVELS)]
    people = dwelling.drop_duplicates(["line_index", "voter_id"])
    result["candidates_at_address"] = np.bincount(
        people["line_index"].to_numpy(dtype=np.int64), minlength=n
    )
    result["passing_candidates"] = np.bincount(
        people.loc[people["match_probability"] >= model.review, "line_index"].to_numpy(
            dtype=np.int64
        ),
        minlength=n,
    )
    result["roll_records_with_name"] = holders

    ranked = ranked.reset_index(drop=True)
    ranked["rank"] = ranked.groupby("line_index").cumcount() + 1
    chosen_voter = result["voter_id"].reindex(ranked["line_index"]).to_numpy()
    ranked["chosen"] = (ranked["voter_id"].to_numpy() == chosen_voter) & (ranked["rank"] == 1)
    # Every candidate the model weighed is kept (the model is fitted on them again when a
    # batch arrives); of the others, the strongest few, for the examiner.
    weighed_in = c.ADDRESS_CLASS[ranked["address_level"].to_numpy()] >= 0
    kept = ranked[weighed_in | (ranked["rank"] <= CANDIDATES_KEPT)]
    return result, kept.reset_index(drop=True)
