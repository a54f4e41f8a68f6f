"""How a petition line and a registration agree, field by field, as agreement levels.

Each comparison turns a column of (line value, registration value) pairs into the position of
its level in that comparison's `levels`, the first level whose test holds: the levels of the
Fellegi–Sunter model (`verify/model.py`), whose weights say how much each is evidence that the
two are one person. String similarity and phonetic keys come from `rapidfuzz` (optimal string
alignment distance, Jaro–Winkler, computed pair by pair in C++ on both cores) and `jellyfish`
(Metaphone), never from hand-written distances.

Names are compared as people write them: a nickname (the project's table and the `nicknames`
package's), one or two typed slips, an initial, the middle name used as the first, one part of
a compound surname, the surname written first (`match.name_readings` gives each reading; the
model keeps whichever is stronger evidence). Addresses are compared part by part and summed up
in one address level: the same dwelling, the same dwelling but for one slip, a neighbour on the
same street, and so on. The unit is never compared: a wrong or missing apartment number does not
make a line invalid.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import OSA, JaroWinkler, Prefix
from rapidfuzz.process import cpdist

from recall_pipeline.verify import normalize as nz
from recall_pipeline.verify.frames import flags, strings

FIRST_LEVELS = (
    "exact",
    "nickname",
    "middle_as_first",
    "typo",
    "initial",
    "close",
    "none",
    "missing",
    "middle_initial",
)
LAST_LEVELS = ("exact", "part", "typo", "close", "none", "missing")
MIDDLE_LEVELS = ("agree", "initial", "disagree", "missing")
ADDRESS_LEVELS = ("exact", "close", "street", "house_zip", "house_street", "other")
# Address levels at which a line is taken as written at the registration's dwelling.
DWELLING_LEVELS = ("exact", "close")
# How the model groups address levels when it shares its prior out: the dwelling named exactly,
# named but for a slip, and named so far off (another house on the street, another street at
# the number) that only an examiner looking at the page can say whether the keyer slipped.
ADDRESS_CLASSES = ("exact", "close", "far")
ADDRESS_CLASS = np.array([0, 1, 2, 2, 2, -1])

# Similarities at which two names count as one slip apart or as close.
TYPO_JW = 0.88
CLOSE_JW = 0.85


def _text(values) -> pa.Array:
    """A column as one Arrow string array, '' for missing."""
    text = strings(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return pc.fill_null(text, "")


def _python(values: pa.Array) -> np.ndarray:
    """Arrow text as Python strings: what rapidfuzz reads."""
    return values.to_numpy(zero_copy_only=False)


def osa(a, b) -> np.ndarray:
    """Optimal-string-alignment distance of each pair (a swap of two letters is one edit)."""
    a, b = _text(a), _text(b)
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    return cpdist(_python(a), _python(b), scorer=OSA.distance, workers=2).astype(np.int64)


def jaro_winkler(a, b) -> np.ndarray:
    a, b = _text(a), _text(b)
    if len(a) == 0:
        return np.zeros(0)
    return cpdist(_python(a), _python(b), scorer=JaroWinkler.similarity, workers=2).astype(
        np.float64
    )


def common_prefix(a, b) -> np.ndarray:
    """Length of the prefix each pair shares."""
    a, b = _text(a), _text(b)
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    return cpdist(_python(a), _python(b), scorer=Prefix.similarity, workers=2).astype(np.int64)


def _length(a: pa.Array) -> np.ndarray:
    return flags(pc.utf8_length(a))


def _equal(a: pa.Array, b: pa.Array) -> np.ndarray:
    return flags(pc.equal(a, b))


def _word(a: pa.Array, position: int) -> pa.Array:
    """The word at `position` (0 first, -1 last) of each value; '' for ''."""
    words = pc.split_pattern(a, " ")
    if position == 0:
        return pc.list_element(words, 0)
    lengths = pc.list_value_length(words)
    flat = pc.list_flatten(words)
    offsets = words.offsets.to_numpy()[:-1]
    return flat.take(pa.array(offsets + lengths.to_numpy() - 1))


def equal(a, b) -> np.ndarray:
    """Whether each pair of texts is equal ('' for missing)."""
    return _equal(_text(a), _text(b))


def filled(a) -> np.ndarray:
    return _length(_text(a)) > 0


def _initial(a: pa.Array) -> pa.Array:
    return pc.utf8_slice_codeunits(a, 0, 1)


def _nospace(a: pa.Array) -> pa.Array:
    return pc.replace_substring(a, " ", "")


@lru_cache(maxsize=1)
def _nickname_keys() -> pa.Array:
    """'NAME\x1fNAME' for every related pair of first names, in both directions: a nickname and
    its given name and, in the project's curated table, two nicknames of one given name
    (BOB/ROB). Two given names sharing a nickname (ROBERT/ALBERT through BERT) are not
    related."""
    pairs = nz.nickname_pairs()
    keys = set(zip(pairs["nickname"], pairs["given_name"], strict=True))
    keys |= {(g, n) for n, g in keys}
    curated = pairs[pairs["source"] == "project"]
    for names in curated.groupby("given_name")["nickname"].apply(list):
        keys |= {(x, y) for x in names for y in names if x != y}
    return pa.array(sorted(f"{x}\x1f{y}" for x, y in keys), type=pa.string())


def nickname_related(a, b) -> np.ndarray:
    probe = pc.binary_join_element_wise(_text(a), _text(b), "\x1f")
    return flags(pc.is_in(probe, value_set=_nickname_keys()))


def metaphones(values) -> pa.Array:
    """Metaphone of each value (jellyfish), computed once per distinct value."""
    import jellyfish

    encoded = _text(values).dictionary_encode()
    codes = [jellyfish.metaphone(v) if v else "" for v in encoded.dictionary.to_pylist()]
    return pa.array(codes, pa.string()).take(encoded.indices)


def _slip(a: pa.Array, b: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Whether each pair is one or two slips apart (a typo), and whether it is merely close
    (two edits on a short name, similar spelling, or the same sound)."""
    distance = osa(a, b)
    similarity = jaro_winkler(a, b)
    shortest = np.minimum(_length(a), _length(b))
    typo = ((distance <= 1) & (shortest >= 3)) | (
        (distance == 2) & (shortest >= 6) & (similarity >= TYPO_JW)
    )
    close = ((distance == 2) & (shortest >= 4)) | (similarity >= CLOSE_JW)
    sound = metaphones(a)
    close |= _equal(sound, metaphones(b)) & (_length(sound) >= 3)
    return typo, close


# Endings that make a diminutive of a name cut short: DOUG-IE, JAV-Y, PAQU-ITO.
_DIMINUTIVE = r"(?:IE|EY|Y|I|ITO|ITA|CITO|CITA|ILLO|ILLA)$"


def diminutive_stem(names) -> pa.Array:
    """Each name without its diminutive ending and the doubled letter before it (TOMMIE,
    TOMMY → TOM; EDDIE → ED)."""
    encoded = _text(names).dictionary_encode()
    return _stems(encoded.dictionary).take(encoded.indices)


def _stems(names: pa.Array) -> pa.Array:
    stem = pc.replace_substring_regex(names, _DIMINUTIVE, "")
    doubled = pc.and_(
        pc.equal(pc.utf8_slice_codeunits(stem, -1), pc.utf8_slice_codeunits(stem, -2, -1)),
        pc.match_substring_regex(stem, r"[B-DF-HJ-NP-TV-Z]$"),
    )
    return pc.if_else(doubled, pc.utf8_slice_codeunits(stem, 0, -1), stem)


def cut_short(a, b) -> np.ndarray:
    """Whether one name is a short form of the other: cut short (DAN, CHRIS, FRAN), cut short
    with a diminutive ending and its doubled letter (DOUGIE, JAVY, TIMMIE), or taken from
    inside the name (FREDDY for ALFREDO). Three letters of the name at least, four taken from
    inside it."""
    a, b = _text(a), _text(b)
    la, lb = _length(a), _length(b)
    shorter_is_a = la < lb
    short = pc.if_else(pa.array(shorter_is_a), a, b)
    long = pc.if_else(pa.array(shorter_is_a), b, a)
    stem = pc.replace_substring_regex(short, _DIMINUTIVE, "")
    single = diminutive_stem(short)
    out = np.zeros(len(a), dtype=bool)
    for candidate in (short, stem, single):
        size = _length(candidate)
        out |= (size >= 3) & (common_prefix(candidate, long) == size)
    # Each candidate begins the one before it, so the shortest of four letters or more is
    # inside the name whenever a longer one is.
    inner = pc.if_else(
        pa.array(_length(single) >= 4),
        single,
        pc.if_else(pa.array(_length(stem) >= 4), stem, short),
    )
    useful = (la != lb) & (la > 0) & (lb > 0) & ~out & (_length(inner) >= 4)
    out |= _pairwise(lambda name, part: part in name, long, inner, useful)
    return out & (la != lb) & (la > 0) & (lb > 0)


def _pairwise(test, left: pa.Array, right: pa.Array, where: np.ndarray) -> np.ndarray:
    """`test(left, right)` of each pair of texts, run only `where` it can decide something:
    Arrow has no element-wise substring or prefix test, so this one is a Python loop."""
    found = np.zeros(len(left), dtype=bool)
    rows = np.flatnonzero(where)
    if len(rows):
        taken = pa.array(rows)
        pairs = zip(_python(left.take(taken)), _python(right.take(taken)), strict=True)
        found[rows] = [test(x, y) for x, y in pairs]
    return found


@lru_cache(maxsize=1)
def _related_names() -> pd.DataFrame:
    """(name, other, other_stem): each given name or nickname, a name related to it in the
    nickname lists (both ways), and that name's diminutive stem."""
    pairs = nz.nickname_pairs()
    related = pd.concat(
        [
            pairs.rename(columns={"given_name": "name", "nickname": "other"}),
            pairs.rename(columns={"nickname": "name", "given_name": "other"}),
        ]
    )[["name", "other"]].drop_duplicates()
    stems = diminutive_stem(pa.array(related["other"].to_numpy(), pa.string()))
    return related.assign(other_stem=_python(stems)).reset_index(drop=True)


def nickname_slipped(a, b) -> np.ndarray:
    """Whether the line's first name is one slip from a nickname of the registered one (ZAK
    for ZACK, of ZACHARY), or another ending of the same diminutive (TOMMIE for TOMMY, of
    THOMAS). Each distinct pair of names is tested once."""
    a, b = _text(a), _text(b)
    out = np.zeros(len(a), dtype=bool)
    rows = np.flatnonzero(_length(a) >= 3)
    if not len(rows):
        return out
    name = b.take(pa.array(rows)).dictionary_encode()
    written = a.take(pa.array(rows)).dictionary_encode()
    # Distinct (name, written) pairs on integer codes.
    combined = name.indices.to_numpy().astype(np.int64) * len(written.dictionary)
    combined += written.indices.to_numpy()
    distinct, codes = np.unique(combined, return_inverse=True)
    names = pd.DataFrame(
        {
            "name": _python(name.dictionary)[distinct // len(written.dictionary)],
            "written": _python(written.dictionary)[distinct % len(written.dictionary)],
            "pair": np.arange(len(distinct)),
        }
    )
    joined = names.merge(_related_names(), on="name")
    if joined.empty:
        return out
    written, other = joined["written"].to_numpy(), joined["other"].to_numpy()
    stem = diminutive_stem(pa.array(written, pa.string())).dictionary_encode()
    written_stem = np.asarray(stem.dictionary.to_pylist(), dtype=object)[stem.indices.to_numpy()]
    same_stem = (written_stem == joined["other_stem"].to_numpy()) & (written != other)
    same_stem &= np.fromiter((len(x) >= 2 for x in written_stem), dtype=bool, count=len(joined))
    near = same_stem | (osa(written, other) == 1)
    hit = np.zeros(len(distinct), dtype=bool)
    hit[joined.loc[near, "pair"].to_numpy()] = True
    out[rows] = hit[codes]
    return out


def first_name_levels(line_first, voter_first, voter_middle) -> np.ndarray:
    """Positions in FIRST_LEVELS of the line's first name against the registration's."""
    a, b, mid = _text(line_first), _text(voter_first), _text(voter_middle)
    b_token = _word(b, 0)
    exact = _equal(a, b) | _equal(a, b_token)
    la, lb = _length(a), _length(b_token)
    nickname = nickname_related(a, b_token)
    middle = _equal(a, _word(mid, 0)) & (la >= 2)
    # The costlier tests only where nothing simpler has settled the level.
    typo, close = np.zeros(len(a), dtype=bool), np.zeros(len(a), dtype=bool)
    rest = np.flatnonzero(~exact & ~nickname & ~middle & (la > 0) & (lb > 0))
    if len(rest):
        some = pa.array(rest)
        a_rest, b_rest = a.take(some), b_token.take(some)
        nickname[rest] = cut_short(a_rest, b_rest) | nickname_slipped(a_rest, b_rest)
        typo[rest], close[rest] = _slip(a_rest, b_rest)
    initial = ((la == 1) | (lb == 1)) & _equal(_initial(a), _initial(b_token))
    # The roll holds only the middle initial, and the line's first name begins with it: a
    # voter who goes by the middle name, or a relative whose name shares a letter.
    middle_initial = (la >= 2) & (_length(mid) == 1) & _equal(_initial(a), mid)
    missing = (la == 0) | (lb == 0)
    return np.select(
        [missing, exact, nickname, middle, typo, initial, close, middle_initial],
        [7, 0, 1, 2, 3, 4, 5, 8],
        default=6,
    )


def last_name_levels(
    line_last, line_middle, voter_last, *, join_middle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in LAST_LEVELS of the line's last name against the registration's, and
    whether the line's middle word was read as part of the surname.

    A compound surname may be written whole, split by the parser into middle and last
    ("JUAN DOMINGUEZ RAMIREZ"), run together, or by one of its parts. `join_middle` off: the
    middle word is not read as part of the surname (a reading where the surname comes first
    leaves first and middle names after it)."""
    a, m, b = _text(line_last), _text(line_middle), _text(voter_last)
    joined = pc.utf8_trim_whitespace(pc.binary_join_element_wise(m, a, " "))
    alone = _surname_levels(a, m, b)
    if not join_middle:
        return alone, np.zeros(len(a), dtype=bool)
    together = np.where(_length(m) > 0, _surname_levels(joined, _text([""] * len(a)), b), 5)
    use_joined = together < alone
    return np.where(use_joined, together, alone), use_joined


def _surname_levels(a: pa.Array, m: pa.Array, b: pa.Array) -> np.ndarray:
    a_flat, b_flat = _nospace(a), _nospace(b)
    exact = _equal(a, b) | _equal(a_flat, b_flat)
    # One part of a compound: the written last name is the first or last word of the
    # registered one.
    particle = pa.array(nz.SURNAME_PARTICLES, pa.string())
    a_long = (_length(a) >= 3) & ~flags(pc.is_in(a, value_set=particle))
    part = a_long & (_equal(a, _word(b, 0)) | _equal(a, _word(b, -1)))
    # A registered single surname that is one word of a compound the line writes.
    single = flags(pc.invert(pc.match_substring(b, " "))) & (_length(b) >= 2)
    part |= single & (_equal(_word(a, 0), b) | _equal(_word(a, -1), b))
    typo, close = _slip(a_flat, b_flat)
    missing = (_length(a) == 0) | (_length(b) == 0)
    return np.select([missing, exact, part, typo, close], [5, 0, 1, 2, 3], default=4)


def middle_name_levels(line_middle, voter_middle) -> np.ndarray:
    a, b = _text(line_middle), _text(voter_middle)
    missing = (_length(a) == 0) | (_length(b) == 0)
    agree = _equal(a, b) | _equal(_word(a, 0), _word(b, 0))
    initial = _equal(_initial(a), _initial(b))
    return np.select([missing, agree, initial], [3, 0, 1], default=2)


def address_levels(line: dict, voter: dict) -> np.ndarray:
    """Positions in ADDRESS_LEVELS of each line's written address against a registration's
    (current or past) address. Both give house, predir, street_key, stype, postdir, zip5, city.

    - exact: house, street and ZIP agree (a line without a ZIP: its city agrees or is blank),
      and no direction or street type contradicts;
    - close: the same dwelling but for one slip: one of house, street or ZIP a typo away, a
      wrong ZIP with the city agreeing, or a contradicting direction or type;
    - street: the same street and ZIP, another house number;
    - house_zip: the same house number and ZIP, another street;
    - house_street: the same house number and street, another ZIP;
    - other: anything else.
    """
    line = {k: _text(v) for k, v in line.items()}
    voter = {k: _text(v) for k, v in voter.items()}
    house_eq = _equal(line["house"], voter["house"])

    street_eq = _equal(line["street_key"], voter["street_key"])
    # A type the keyer left inside the name, or a name whose last word was read as a type.
    street_eq |= _equal(_with_type(line), voter["street_key"])
    street_eq |= _equal(line["street_key"], _with_type(voter))
    street_typo, street_close = _slip(line["street_key"], voter["street_key"])
    house_near = house_eq | (osa(line["house"], voter["house"]) <= 1)
    # A numbered street keyed as a word with a slip (FIETEENTH for 15TH), compared spelt out,
    # at the house number only (the costlier test where it can decide).
    numbered = flags(
        pc.or_(
            pc.match_substring_regex(line["street_key"], "[0-9]"),
            pc.match_substring_regex(voter["street_key"], "[0-9]"),
        )
    )
    spell = np.flatnonzero(numbered & house_near & ~street_eq & ~street_typo)
    if len(spell):
        rows = pa.array(spell)
        typo, close = _slip(
            nz.spelled_ordinals(line["street_key"].take(rows)),
            nz.spelled_ordinals(voter["street_key"].take(rows)),
        )
        street_typo[spell] |= typo
        street_close[spell] |= close
    street_typo &= ~street_eq
    street_close &= ~street_eq
    house_typo = ~house_eq & house_near

    no_zip = _length(line["zip5"]) == 0
    zip_eq = _equal(line["zip5"], voter["zip5"])
    zip_typo = ~zip_eq & ~no_zip & (osa(line["zip5"], voter["zip5"]) <= 1)
    written_city = _length(line["city"]) > 0
    city_eq = _equal(line["city"], voter["city"]) & written_city

    line_dir = pc.if_else(pc.equal(line["predir"], ""), line["postdir"], line["predir"])
    voter_dir = pc.if_else(pc.equal(voter["predir"], ""), voter["postdir"], voter["predir"])
    dir_conflict = (_length(line_dir) > 0) & (_length(voter_dir) > 0) & ~_equal(line_dir, voter_dir)
    type_conflict = (
        (_length(line["stype"]) > 0)
        & (_length(voter["stype"]) > 0)
        & ~_equal(line["stype"], voter["stype"])
    )

    zip_fits = zip_eq | (no_zip & (city_eq | ~written_city))
    exact = house_eq & street_eq & zip_fits & ~dir_conflict & ~type_conflict
    slips = house_typo.astype(int) + street_typo.astype(int) + zip_typo.astype(int)
    same_parts = (house_eq | house_typo) & (street_eq | street_typo) & (zip_fits | zip_typo)
    close = same_parts & (slips <= 1)
    # A ZIP that is wrong, or a city nobody listed as an alias, on the right house and street;
    # a street misspelt more than once at the right house number and ZIP.
    close |= house_eq & street_eq & ~zip_eq & (city_eq | no_zip)
    close |= house_eq & zip_eq & street_close
    # The registered street with more keyed after it (the city, state and ZIP written into
    # the street: "48TH STREET TEMPLE CITY CALIF") at the right house number and ZIP.
    written, registered = line["street_key"], voter["street_key"]
    undecided = house_eq & zip_fits & ~street_eq & ~close
    undecided &= (_length(registered) >= 3) & (_length(written) > _length(registered))
    close |= _pairwise(str.startswith, written, registered, undecided)
    street = street_eq & (zip_eq | no_zip) & ~house_eq
    house_zip = house_eq & zip_eq & ~street_eq
    house_street = house_eq & street_eq & ~zip_eq
    return np.select([exact, close, street, house_zip, house_street], [0, 1, 2, 3, 4], default=5)


def _with_type(side: dict) -> pa.Array:
    """Street key with the street type appended ('' type: a value that equals nothing)."""
    joined = pc.binary_join_element_wise(side["street_key"], side["stype"], "")
    return pc.if_else(pc.equal(side["stype"], ""), "\x00", joined)
