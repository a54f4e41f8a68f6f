"""Names and addresses brought to one canonical form, on both sides, column at a time.

The roll stores an address in parts, as the county writes them (USPS abbreviations or full
words); a petition line holds one line of text as the signer wrote it. Both become the same
canonical parts — house number without its fraction, standard pre-directional, street name,
standard suffix, standard post-directional, ZIP5 — using the USPS Publication 28 tables in
`recall_pipeline/reference/`. A line's text is parsed from its ends: house number and fraction
at the front, then a unit designator and its number, a post-directional and a street suffix at
the back, a pre-directional after the number; what remains is the street name. Everything is a
vectorized pandas/Arrow string operation over whole columns — no per-row Python.

Names: upper-case ASCII (accents folded), punctuation dropped, "LAST, FIRST M" or
"FIRST M LAST JR" split into first, middle and last, generational suffixes set aside.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.reference import read_reference
from recall_pipeline.verify.frames import dictionary, flags

NAME_SUFFIXES = ("JR", "SR", "II", "III", "IV")
# A house number, an optional fraction ("1/2"), and the rest of the address.
HOUSE_PATTERN = r"^(?P<house>\d+)(?:\s*-?\s*\d/\d)?\s+(?P<rest>.+)$"
NO_ADDRESS_PATTERN = (
    r"^(?:P\s*O\s*BOX|POST OFFICE BOX|BOX)\b|^(?:SAME|N/?A|NONE|HOMELESS|SEE ABOVE|UNKNOWN)$"
)


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    suffixes = read_reference("street_suffixes.csv")
    directionals = read_reference("directionals.csv")
    units = read_reference("unit_designators.csv")
    return {
        "suffix": dict(zip(suffixes["written"], suffixes["standard"], strict=True)),
        "directional": dict(zip(directionals["written"], directionals["standard"], strict=True)),
        "unit": dict(zip(units["written"], units["standard"], strict=True)),
    }


@lru_cache(maxsize=1)
def city_aliases() -> dict[str, str]:
    aliases = read_reference("city_aliases.csv")
    return dict(zip(aliases["alias"], aliases["city"], strict=True))


@lru_cache(maxsize=1)
def nickname_pairs() -> pd.DataFrame:
    """(nickname, given_name) pairs, both directions usable for comparison."""
    return read_reference("nicknames.csv")[["nickname", "given_name"]].drop_duplicates()


def _alternation(words) -> str:
    return "|".join(sorted((w.replace(".", r"\.") for w in words), key=len, reverse=True))


def _text(values: pd.Series) -> pd.Series:
    """Missing → '' as str dtype (a column of only-missing values would otherwise be float)."""
    return values.astype("str").fillna("")


def per_value(normalize: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], pd.Series]:
    """Run a one-column normalization once per distinct value, then spread it back.

    The roll repeats its values heavily (a few thousand street names and ZIPs, some hundred
    thousand first and last names over millions of rows), so this turns millions of string
    operations into thousands.
    """

    @wraps(normalize)
    def on_distinct(values: pd.Series) -> pd.Series:
        encoded = dictionary(values)
        done = normalize(pd.Series(encoded.dictionary, dtype="str"))
        spread = _arrow(done).combine_chunks().take(encoded.indices)
        return pd.Series(spread, index=values.index, dtype="str")

    return on_distinct


def _arrow(values: pd.Series) -> pa.ChunkedArray:
    array = pa.array(values, type=pa.string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        return array
    return pa.chunked_array([array], type=pa.string())


def _from_arrow(values: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype="str")


def replace(
    values: pd.Series, pattern: str, replacement: str, *, changes: str | None = None
) -> pd.Series:
    """Regex replace with Arrow's RE2 kernel (pandas would run some patterns row by row).

    Only the values that `changes` (by default `pattern` itself) finds a match in are
    rewritten: finding a match costs a fraction of rewriting, and most values need no change.
    `changes` must match every value the replacement would alter.
    """
    text = _arrow(values).combine_chunks()
    hit = pc.fill_null(pc.match_substring_regex(text, changes or pattern), False)
    done = _rewrite_where(
        text, hit, lambda some: pc.replace_substring_regex(some, pattern, replacement)
    )
    return _from_arrow(done, values.index)


def _rewrite_where(
    text: pa.Array, hit: pa.Array, rewrite: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """`text` with the values where `hit` holds replaced by `rewrite` of them; the others are
    left as they are and never handed to `rewrite`."""
    rows = pc.indices_nonzero(hit)
    if len(rows) == 0:
        return text
    return pc.replace_with_mask(text, hit, _arrow(rewrite(text.take(rows))).combine_chunks())


def extract(values: pd.Series, pattern: str) -> pd.DataFrame:
    """Named groups of `pattern` as columns; rows that do not match are missing."""
    found = pc.extract_regex(_arrow(values), pattern)
    struct = found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found
    matched = struct.is_valid()
    columns = {}
    for i in range(struct.type.num_fields):
        field = pc.if_else(matched, struct.field(i), pa.scalar(None, pa.string()))
        columns[struct.type.field(i).name] = _from_arrow(field, values.index)
    return pd.DataFrame(columns, index=values.index)


def fold(text: pd.Series) -> pd.Series:
    """Upper-case ASCII with accents removed."""
    values = _arrow(_text(text)).combine_chunks()

    def decomposed(accented: pa.Array) -> pa.Array:
        # Decomposing runs in Python, one value at a time: only the values that need it.
        split = pd.Series(accented, dtype="str").str.normalize("NFKD")
        return pc.replace_substring_regex(_arrow(split), r"[^\x00-\x7f]", "")

    folded = _rewrite_where(values, pc.invert(pc.string_is_ascii(values)), decomposed)
    return _from_arrow(pc.ascii_upper(folded), text.index)


# A value holding none of these has no run of whitespace to collapse.
_NOT_SQUEEZED = r"\s\s|[^\S ]"


def squeeze(text: pd.Series) -> pd.Series:
    return replace(text, r"\s+", " ", changes=_NOT_SQUEEZED).str.strip()


def standardize(words: pd.Series, table: str) -> pd.Series:
    """A written suffix/directional/unit word → its USPS standard form ('' stays '')."""
    mapping = _tables()[table]

    def one(values: pd.Series) -> pd.Series:
        folded = squeeze(fold(values).str.replace(".", "", regex=False))
        return folded.map(mapping).fillna(folded).astype("str")

    return per_value(one)(words)


@per_value
def house_number(text: pd.Series) -> pd.Series:
    """The integer part of a house number ('1234 1/2' → '1234'), leading zeros dropped."""
    return _text(extract(fold(text), r"^\s*0*(?P<house>\d+)")["house"])


@per_value
def zip5(text: pd.Series) -> pd.Series:
    return _text(extract(fold(text), r"^\s*(?P<zip5>\d{5})")["zip5"])


@per_value
def city(text: pd.Series) -> pd.Series:
    folded = squeeze(fold(text).pipe(replace, r"[.,]", " "))
    return folded.map(city_aliases()).fillna(folded).astype("str")


@per_value
def street_name(text: pd.Series) -> pd.Series:
    return squeeze(fold(text).pipe(replace, r"[.,'#-]", " "))


def roll_address(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical address parts of roll (or address-history) rows: those the dwelling keys are
    made of (the city is not one: ZIP5 places a street, and a roll of millions would pay for
    a part nothing compares)."""
    return pd.DataFrame(
        {
            "house": house_number(frame["house_number"]),
            "predir": standardize(frame["street_predir"], "directional"),
            "street": street_name(frame["street_name"]),
            "stype": standardize(frame["street_type"], "suffix"),
            "postdir": standardize(frame["street_postdir"], "directional"),
            "zip5": zip5(frame["zip"]),
        },
        index=frame.index,
    )


def _split_once(
    words: pd.Series, *, reverse: bool, sep: str = " "
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Text split at the first `sep`, or at the last with `reverse`: 'A B C' → ('A', 'B C') or
    ('A B', 'C'), and whether `sep` occurs; without it both parts are ''. On squeezed text (single
    spaces, none at the ends) and `sep` ' ' this is what `^(\\S+)\\s+(.+)$` (or
    `^(.+)\\s+(\\S+)$`) finds, at a fraction of a regex's cost."""
    text = _arrow(_text(words)).combine_chunks()
    parts = pc.split_pattern(text, sep, max_splits=1, reverse=reverse)
    offsets = parts.offsets.to_numpy()
    two = np.diff(offsets) == 2
    pieces = parts.values
    mask = pa.array(~two)
    first = pc.if_else(mask, "", pieces.take(pa.array(np.where(two, offsets[:-1], 0))))
    second = pc.if_else(mask, "", pieces.take(pa.array(np.where(two, offsets[:-1] + 1, 0))))
    return _from_arrow(first, words.index), _from_arrow(second, words.index), two


def _split_last(words: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'A B C' → ('A B', 'C'); a single word gives ('', ''). `words` is squeezed."""
    init, last, _ = _split_once(words, reverse=True)
    return init, last


def _lookup(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Each value's entry in `mapping`, '' where it has none (an Arrow hash lookup, where
    pandas' map would go value by value)."""
    keys = pa.array(list(mapping), pa.string())
    found = pc.index_in(_arrow(values), value_set=keys)
    mapped = pa.array(list(mapping.values()), pa.string()).take(found)
    return _from_arrow(pc.fill_null(mapped, ""), values.index)


def _house_and_rest(s: pd.Series) -> pd.DataFrame:
    """`extract(s, HOUSE_PATTERN)` for squeezed text: a value without a '/' has no fraction,
    so the pattern holds when its first word is all digits and another follows; only values
    with a '/' go through the regex."""
    first, rest, two = _split_once(s, reverse=False)
    numbered = two & flags(pc.ascii_is_decimal(_arrow(first)))
    head = pd.DataFrame(
        {"house": first.where(numbered), "rest": rest.where(numbered)}, index=s.index
    )
    slashed = flags(pc.match_substring(_arrow(s), "/"))
    if slashed.any():
        head.loc[slashed] = extract(s[slashed], HOUSE_PATTERN)
    return head


def written_address(text: pd.Series, city_text: pd.Series, zip_text: pd.Series) -> pd.DataFrame:
    """Parse residence addresses as signers write them into canonical parts.

    Adds `has_address` (False for blank, P.O. box only, or text with no house number).
    """
    tables = _tables()
    directional = list(tables["directional"])
    suffix = list(tables["suffix"])
    # Periods and commas become spaces, then every run of spaces one space: one pass.
    s = replace(fold(text), r"[\s.,]+", " ", changes=rf"[.,]|{_NOT_SQUEEZED}").str.strip()
    no_address = s.eq("") | flags(pc.match_substring_regex(_arrow(s), NO_ADDRESS_PATTERN))
    head = _house_and_rest(s)
    has_address = ~no_address & head["house"].notna()

    # A unit at the end: "APT 5", "UNIT B", "# 5", "#5", "APARTMENT 12".
    unit_words = _alternation(tables["unit"].keys() - {"#"})
    rest = replace(_text(head["rest"]), rf"\s*(?:\b(?:{unit_words})\s+\S+|#\s*\S+)$", "")
    rest = squeeze(rest)
    words = flags(pc.count_substring(_arrow(rest), " ")) + (rest != "").to_numpy(dtype=int)

    # Post-directional: a trailing directional after a suffix ("ELM AVE N").
    init, last = _split_last(rest)
    _, second_last = _split_last(init)
    has_post = last.isin(directional) & second_last.isin(suffix) & (words >= 3)
    postdir = _lookup(last.where(has_post, ""), tables["directional"])
    rest = rest.where(~has_post, init)
    words = words - has_post.astype(int)

    init, last = _split_last(rest)
    has_type = last.isin(suffix) & (words >= 2)
    stype = _lookup(last.where(has_type, ""), tables["suffix"])
    rest = rest.where(~has_type, init)
    words = words - has_type.astype(int)

    lead, tail, _ = _split_once(rest, reverse=False)
    has_pre = lead.isin(directional) & (words >= 2)
    predir = _lookup(lead.where(has_pre, ""), tables["directional"])
    rest = rest.where(~has_pre, tail)

    return pd.DataFrame(
        {
            "house": _text(head["house"]).str.lstrip("0"),
            "predir": predir,
            "street": street_name(rest),
            "stype": stype,
            "postdir": postdir,
            "zip5": zip5(zip_text),
            "city": city(city_text),
            "has_address": has_address.to_numpy(),
        },
        index=text.index,
    )


def printed_name(text: pd.Series) -> pd.DataFrame:
    """Split printed names into first, middle and last (upper ASCII), suffix set aside."""
    s = squeeze(fold(text).pipe(replace, r"[.'`\-]", ""))
    strip_suffix = rf"(?:\s+(?:{'|'.join(NAME_SUFFIXES)}))+$"

    # "LAST [SUFFIX], FIRST [MIDDLE]"
    left, right, has_comma = _split_once(s, reverse=False, sep=",")
    c_last = squeeze(replace(left, strip_suffix, ""))
    right = squeeze(replace(right, strip_suffix, ""))
    c_first, c_middle, two = _split_once(right, reverse=False)
    c_first = c_first.where(two, right)

    # "FIRST [MIDDLE] LAST [SUFFIX]"
    natural = squeeze(replace(s.str.replace(",", " ", regex=False), strip_suffix, ""))
    # First word, last word and what lies between; a single word is the first name.
    n_init, n_last, several = _split_once(natural, reverse=True)
    n_first, n_middle, _ = _split_once(n_init, reverse=False)
    n_first = n_first.where(n_middle != "", n_init).where(several, natural)

    return pd.DataFrame(
        {
            "first": c_first.where(has_comma, n_first),
            "middle": c_middle.where(has_comma, n_middle),
            "last": c_last.where(has_comma, n_last),
        },
        index=text.index,
    )


def roll_name(frame: pd.DataFrame) -> pd.DataFrame:
    @per_value
    def clean_name(values: pd.Series) -> pd.Series:
        return squeeze(fold(values).pipe(replace, r"[.'`\-,]", ""))

    def clean(col: str) -> pd.Series:
        return clean_name(frame[col])

    return pd.DataFrame(
        {"first": clean("first_name"), "middle": clean("middle_name"), "last": clean("last_name")},
        index=frame.index,
    )


def _codepoints(values: np.ndarray, width: int) -> np.ndarray:
    """Rows of Unicode code points, zero-padded to `width`."""
    padded = values.astype(f"U{width}")
    return np.frombuffer(padded.tobytes(), dtype=np.uint32).reshape(len(values), width)


def one_edit_apart(a, b) -> np.ndarray:
    """Whether each pair (a[i], b[i]) differs by exactly one edit: a substitution, an insertion
    or deletion, or a swap of two adjacent letters (optimal-string-alignment distance 1).

    Column-wide in numpy, linear in the word length: the only question a matcher asks of a
    typo is "one keystroke away or not".
    """
    a = np.asarray(a, dtype=str)
    b = np.asarray(b, dtype=str)
    n = len(a)
    if n == 0:
        return np.zeros(0, dtype=bool)
    la, lb = np.char.str_len(a), np.char.str_len(b)
    width = int(max(la.max(), lb.max())) + 1
    ca, cb = _codepoints(a, width), _codepoints(b, width)
    rows = np.arange(n)

    differ = ca != cb
    count = differ.sum(axis=1)
    first = differ.argmax(axis=1)
    nxt = np.minimum(first + 1, width - 1)
    same_length = la == lb
    substitution = same_length & (count == 1)
    swap = (
        same_length
        & (count == 2)
        & differ[rows, nxt]
        & (ca[rows, first] == cb[rows, nxt])
        & (ca[rows, nxt] == cb[rows, first])
    )

    a_longer = (la > lb)[:, None]
    longer = np.where(a_longer, ca, cb)
    shorter = np.where(a_longer, cb, ca)
    prefix = (longer != shorter).argmax(axis=1)
    tail_equal = longer[:, 1:] == shorter[:, :-1]
    after_prefix = np.arange(width - 1)[None, :] >= prefix[:, None]
    indel = (np.abs(la - lb) == 1) & (tail_equal | ~after_prefix).all(axis=1)
    return substitution | swap | indel
