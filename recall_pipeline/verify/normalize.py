"""Names and addresses brought to one canonical form, on both sides, column at a time.

The roll stores an address in parts, as its county writes them (USPS abbreviations, full words,
a type inside the street name); a petition line holds one line of text as the signer wrote it
and a keyer typed it. Both become the same canonical parts — house number without its fraction
or letter, standard pre-directional, street name, standard suffix, standard post-directional,
ZIP5 — using the USPS Publication 28 tables and the local forms keyers use
(`recall_pipeline/reference/`). The street part of both sides goes through one parser
(`street_parts`), so a county that writes `AVENUE` and a keyer who types `Av.` meet in `AVE`.

A line's text is parsed from its ends, vectorized over the whole column: house number (and
fraction) at the front, a unit designator and its number at the back (glued or not: `APT24`,
`#21`), then a post-directional, a street suffix and a pre-directional; what remains is the
street name, whose ordinal words become numbers (`SIXTH` → `6TH`). A text this cannot place
with confidence — a unit before the house number, a ZIP or a city written into the address
field, a street type followed by more words — goes to `usaddress`, a trained parser (a
conditional random field) that is slower per row but reads free text far better than rules.

Names: upper-case ASCII (accents folded), punctuation dropped, hyphens become spaces (a
hyphenated surname is two words), "LAST, FIRST M" or "FIRST M LAST JR" split into first,
middle and last; surname particles (`DE LA CRUZ`) stay with the surname; generational
suffixes are set aside.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, wraps

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.reference import read_reference
from recall_pipeline.verify.frames import dictionary, flags

NAME_SUFFIXES = ("JR", "SR", "II", "III", "IV")
# Words that open a surname of several words and belong to it.
SURNAME_PARTICLES = ("DE", "DEL", "LA", "LAS", "LOS", "DA", "DOS", "DI", "VAN", "VON", "ST")
# A house number, an optional fraction ("1/2"), and the rest of the address.
HOUSE_PATTERN = r"^(?P<house>\d+)(?:\s*-?\s*\d/\d)?\s+(?P<rest>.+)$"
NO_ADDRESS_PATTERN = (
    r"^(?:P\s*O\s*BOX|POST OFFICE BOX|BOX)\b|"
    r"^(?:SAME|SAME AS ABOVE|N/?A|NONE|HOMELESS|SEE ABOVE|UNKNOWN|GENERAL DELIVERY)$"
)


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    suffixes = read_reference("street_suffixes.csv")
    directionals = read_reference("directionals.csv")
    units = read_reference("unit_designators.csv")
    local = read_reference("local_abbreviations.csv")
    tables = {
        "suffix": dict(zip(suffixes["written"], suffixes["standard"], strict=True)),
        "directional": dict(zip(directionals["written"], directionals["standard"], strict=True)),
        "unit": dict(zip(units["written"], units["standard"], strict=True)),
    }
    for kind, rows in local.groupby("kind"):
        tables[kind].update(zip(rows["written"], rows["standard"], strict=True))
    # Each suffix word written out in full: inside a street name ("AVENUE 50") the full word
    # leaves a misspelling of it ("AVEBUE 50") one slip away.
    # Only Publication 28's forms: a local short form (LA, TR) inside a name is a word of it.
    full = dict(zip(suffixes["standard"], suffixes["full"], strict=False))
    official = dict(zip(suffixes["written"], suffixes["standard"], strict=True))
    tables["suffix_full"] = {w: full.get(std, std) for w, std in official.items()}
    return tables


@lru_cache(maxsize=1)
def _ordinals() -> tuple[dict[str, int], dict[str, int]]:
    """Ordinal words (FIRST → 1) and tens words (TWENTY → 20)."""
    table = read_reference("ordinal_words.csv")
    numbers = dict(zip(table["word"], table["number"].astype(int), strict=True))
    tens = {w: n for w, n in numbers.items() if not w.endswith(("ST", "ND", "RD", "TH"))}
    return {w: n for w, n in numbers.items() if w not in tens}, tens


@lru_cache(maxsize=1)
def city_aliases() -> dict[str, str]:
    aliases = read_reference("city_aliases.csv")
    return dict(zip(aliases["alias"], aliases["city"], strict=True))


# Abbreviations inside city names ("STA CLARITA", "N HOLLYWOOD", "MT WASHINGTON").
_CITY_WORDS = {
    "STA": "SANTA",
    "STO": "SANTO",
    "S": "SOUTH",
    "SO": "SOUTH",
    "N": "NORTH",
    "NO": "NORTH",
    "E": "EAST",
    "W": "WEST",
    "MT": "MOUNT",
    "PT": "POINT",
    "FT": "FORT",
    "BCH": "BEACH",
    "HTS": "HEIGHTS",
    "HGTS": "HEIGHTS",
    "SPGS": "SPRINGS",
    "PK": "PARK",
    "VLY": "VALLEY",
    "LK": "LAKE",
    "CTY": "CITY",
}


def _alternation(words) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


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


def per_value_frame(
    normalize: Callable[[pd.Series], pd.DataFrame],
) -> Callable[[pd.Series], pd.DataFrame]:
    """`per_value` for a normalization that returns several text columns."""

    @wraps(normalize)
    def on_distinct(values: pd.Series) -> pd.DataFrame:
        encoded = dictionary(values)
        done = normalize(pd.Series(encoded.dictionary, dtype="str"))
        return pd.DataFrame(
            {
                c: pd.Series(
                    _arrow(done[c]).combine_chunks().take(encoded.indices),
                    index=values.index,
                    dtype="str",
                )
                for c in done.columns
            },
            index=values.index,
        )

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


def _matches(values: pd.Series, pattern: str) -> np.ndarray:
    return flags(pc.fill_null(pc.match_substring_regex(_arrow(values), pattern), False))


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
    """The integer part of a house number ('1234 1/2', '1234-B', '01234' → '1234')."""
    return _text(extract(fold(text), r"^\s*0*(?P<house>\d+)")["house"])


@per_value
def zip5(text: pd.Series) -> pd.Series:
    """The first five digits of a ZIP (ZIP+4 with or without its hyphen), or ''."""
    return _text(extract(fold(text), r"^\s*(?P<zip5>\d{5})")["zip5"])


@per_value
def city(text: pd.Series) -> pd.Series:
    """A city or community name in one form: abbreviated words spelled out ('STA CLARITA'),
    then a known alias or neighbourhood mapped to the city it belongs to ('HOLLYWOOD' → 'LOS
    ANGELES')."""
    folded = squeeze(fold(text).pipe(replace, r"[^A-Z ]", " "))
    spelled = _map_words(folded, _CITY_WORDS)
    aliases = city_aliases()
    # An alias may be written abbreviated ("N HOLLYWOOD") or spelled out.
    out = folded.map(aliases).fillna(spelled.map(aliases)).fillna(spelled)
    return out.astype("str")


def _map_words(text: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Each space-separated word replaced by its entry in `mapping` (kept when it has none),
    by Arrow list kernels over the whole column."""
    values = _arrow(text).combine_chunks()
    words = pc.split_pattern(values, " ")
    flat = pc.list_flatten(words)
    keys = pa.array(list(mapping), pa.string())
    found = pc.index_in(flat, value_set=keys)
    mapped = pc.coalesce(pa.array(list(mapping.values()), pa.string()).take(found), flat)
    rebuilt = pa.ListArray.from_arrays(words.offsets, mapped)
    return _from_arrow(pc.binary_join(rebuilt, " "), text.index)


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


def _word_count(text: pd.Series) -> np.ndarray:
    return flags(pc.count_substring(_arrow(text), " ")) + (text != "").to_numpy(dtype=int)


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


STREET_COLUMNS = ["predir", "street", "stype", "postdir"]


@per_value_frame
def street_parts(text: pd.Series) -> pd.DataFrame:
    """A street as words ('N MAIN ST', 'ELM AVENUE NORTH', 'AVENUE 50') → standard
    pre-directional, street name, suffix and post-directional.

    Parsed from the ends: a trailing directional after a suffix is the post-directional, a
    trailing suffix the type, a leading directional the pre-directional — each only when a
    street name remains. Inside the name, suffix words take their standard form and ordinal
    words become numbers, so `AVENUE 50` and `AVE 50`, `SIXTH` and `6TH` agree.
    """
    tables = _tables()
    directional, suffix = list(tables["directional"]), list(tables["suffix"])
    rest = squeeze(fold(text).pipe(replace, r"[^A-Z0-9/ ]", " "))
    words = _word_count(rest)

    init, last = _split_last(rest)
    _, second_last = _split_last(init)
    # A trailing direction after a suffix ("ELM AVE N"), or after a name whose suffix was left
    # off ("VANOWEN NORTH").
    has_post = last.isin(directional) & (
        (second_last.isin(suffix) & (words >= 3)) | (~second_last.isin(suffix) & (words >= 2))
    )
    postdir = _lookup(last.where(has_post, ""), tables["directional"])
    rest = rest.where(~has_post, init)
    words = words - has_post.astype(int)

    init, last = _split_last(rest)
    # A suffix word after a lone direction is the street's name ("NO ISLAND", "E LA"): the
    # direction is its pre-directional, the suffix was left off.
    lone_direction = init.isin(directional) & (words == 2)
    has_type = last.isin(suffix) & (words >= 2) & ~lone_direction
    stype = _lookup(last.where(has_type, ""), tables["suffix"])
    rest = rest.where(~has_type, init)
    words = words - has_type.astype(int)

    lead, tail, _ = _split_once(rest, reverse=False)
    has_pre = lead.isin(directional) & (words >= 2)
    predir = _lookup(lead.where(has_pre, ""), tables["directional"])
    rest = rest.where(~has_pre, tail)
    return pd.DataFrame(
        {"predir": predir, "street": street_name(rest), "stype": stype, "postdir": postdir},
        index=text.index,
    )


@per_value
def street_name(text: pd.Series) -> pd.Series:
    """A street name's words in one form: punctuation gone, suffix words standard, ordinal
    words and a bare number as ordinals ('SIXTH', '6' → '6TH'; 'AVENUE 50' stays a number)."""
    words = squeeze(fold(text).pipe(replace, r"[.,'#-]", " "))
    words = _map_words(words, _tables()["suffix_full"])
    ordinal, tens = _ordinals()
    spelled = rf"\b(?:{_alternation([*ordinal, *tens])})\b"
    hit = _matches(words, spelled) | _matches(words, r"^\d+$")
    if hit.any():
        words = words.copy()
        words[hit] = [_numbered(w, ordinal, tens) for w in words[hit]]
    return words


def _numbered(name: str, ordinal: dict[str, int], tens: dict[str, int]) -> str:
    if name.isdigit():
        return _ordinal_text(int(name))
    out: list[str] = []
    for word in name.split(" "):
        if word in ordinal and out and out[-1] in tens:
            out[-1] = _ordinal_text(tens[out[-1]] + ordinal[word])
        elif word in ordinal:
            out.append(_ordinal_text(ordinal[word]))
        else:
            out.append(word)
    return " ".join(_ordinal_text(tens[w]) if w in tens and len(out) == 1 else w for w in out)


@lru_cache(maxsize=1)
def _spoken_ordinals() -> dict[int, str]:
    """1 → FIRST ... 99 → NINETYNINTH, as street keys spell them (no spaces)."""
    ordinal, tens = _ordinals()
    spoken = {n: w for w, n in ordinal.items()}
    for word, ten in tens.items():
        spoken.setdefault(ten, word[:-1] + "IETH")
        for unit in range(1, 10):
            if unit in spoken:
                spoken.setdefault(ten + unit, word + spoken[unit])
    return spoken


def spelled_ordinals(keys: pa.Array) -> pa.Array:
    """Street keys with their numbered ordinals spelt out (15TH → FIFTEENTH, SEVENTY6TH →
    SEVENTYSIXTH), so that an ordinal word keyed with a slip (FIETEENTH) is one slip from the
    registered number. Numbers past 99 are left as they are."""
    spoken = _spoken_ordinals()
    pattern = re.compile(r"(?<![0-9])([0-9]{1,2})(?:ST|ND|RD|TH)")

    def spell(key: str) -> str:
        return pattern.sub(lambda found: spoken.get(int(found[1]), found[0]), key)

    encoded = pc.fill_null(keys, "").dictionary_encode()
    words = [spell(k) for k in encoded.dictionary.to_pylist()]
    return pa.array(words, pa.string()).take(encoded.indices)


def _ordinal_text(n: int) -> str:
    suffix = "TH" if 10 <= n % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")
    return f"{n}{suffix}"


def street_key(street: pd.Series) -> pd.Series:
    """The street name without its spaces: 'LA BREA' and 'LABREA' are one street."""
    return replace(street, " ", "", changes=" ")


def roll_address(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical address parts of roll (or address-history) rows: those the dwelling keys are
    made of, and the city (read when a line gives no ZIP).

    The street's parts are joined and parsed as a written street is, once per distinct street:
    a county that puts the type inside the name, or spells it out, meets the keyed lines in
    the same canonical form."""
    joined = pc.binary_join_element_wise(
        *(
            pc.fill_null(_arrow(_text(frame[c])).combine_chunks(), "")
            for c in ("street_predir", "street_name", "street_type", "street_postdir")
        ),
        " ",
    )
    street = street_parts(pd.Series(joined, index=frame.index, dtype="str"))
    out = pd.DataFrame({"house": house_number(frame["house_number"])}, index=frame.index)
    out = pd.concat([out, street], axis=1)
    out["zip5"] = zip5(frame["zip"])
    if "city" in frame:
        out["city"] = city(frame["city"])
    return out


# Unit designators that keyers glue to their number ("APT24", "UNIT3B").
_GLUED_UNITS = ("APT", "APARTMENT", "UNIT", "STE", "SUITE", "SPC", "SPACE", "RM", "LOT", "TRLR")


@lru_cache(maxsize=1)
def _address_patterns() -> dict[str, str]:
    tables = _tables()
    units = _alternation(tables["unit"].keys() - {"#"})
    suffixes = _alternation(tables["suffix"])
    return {
        "glued": rf"\b({_alternation(_GLUED_UNITS)})(\d+[A-Z]?)\b",
        # A letter unit glued at the very end ("APTB"): a word that ends an address this way
        # is no street name.
        "glued_letter": rf"\s({_alternation(_GLUED_UNITS)})([A-Z])$",
        # A unit at the end ("APT 5", "UNIT B", "# 5"), possibly two ("BLDG 3 APT 5").
        "unit": rf"(?:\s+(?:(?:{units})\s+\S+|#\s*\S+))+$",
        # What the fast parser leaves to usaddress: a ZIP or the state written into the
        # address, a unit word or '#' before the end; a street whose suffix is followed by
        # more than a direction once the unit is gone.
        "doubtful_text": (
            rf"(?:^|\s)(?:#|{units})\s+\S+\s+\S+\s+\S|\s\d{{5}}(?:\d{{4}})?$"
            rf"|\sCA(?:LIF|LIFORNIA)?(?:\s\d{{5}}|$)"
        ),
        "doubtful_street": rf"\s(?:{suffixes})\s+\S+\s+\S",
    }


# Characters a scan or a hurried hand confuses: letters read in a number, digits in a word.
_AS_DIGIT = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8", "G": "6", "Z": "2"})
_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B"})
# A leading token of digits and a confusable letter ("8O09", "1L590"); a word with a digit
# among its letters ("DR1VE"), which no ordinal ("21ST") or unit ("12B") is.
_NUMBER_WITH_DIGIT = r"^[0-9OILSBGZ]*[0-9][0-9OILSBGZ]*(?:\s|$)"
_NUMBER_WITH_LETTER = r"^[0-9OILSBGZ]*[OILSBGZ]"
_MISREAD_WORD = r"(?:^|\s)[A-Z]+[0158][A-Z0158]*[A-Z](?:\s|$)|(?:^|\s)[0158][A-Z]{3,}(?:\s|$)"


# A later word of digits and confusable letters, a digit among them, maybe an ordinal's end.
_NUMBERED_MISREAD = (
    r"\s[0-9OILSBGZ]*(?:[0-9][0-9OILSBGZ]*[OILSBGZ]|[OILSBGZ][0-9OILSBGZ]*[0-9])[0-9OILSBGZ]*"
    r"(?:ST|ND|RD|TH)?(?:\s|$)"
)


def _read_digits_and_letters(s: pd.Series) -> pd.Series:
    """Letters read into the house number become digits again, digits read into a word
    letters again, value by value on the few addresses that have them."""
    number = _matches(s, _NUMBER_WITH_DIGIT) & _matches(s, _NUMBER_WITH_LETTER)
    hit = number | _matches(s, _MISREAD_WORD) | _matches(s, _NUMBERED_MISREAD)
    if not hit.any():
        return s
    s = s.copy()
    s[hit] = [_reread(value) for value in s[hit]]
    return s


def _reread(address: str) -> str:
    words = address.split(" ")
    first = words[0]
    if any(ch.isdigit() for ch in first) and set(first) <= set("0123456789OILSBGZ"):
        words[0] = first.translate(_AS_DIGIT)
    for i in range(1, len(words)):
        word = words[i]
        letters = sum(ch.isalpha() for ch in word)
        ordinal = re.fullmatch(r"\d+(?:ST|ND|RD|TH)", word)
        # A numbered street with a digit misread as a letter (L01ST, I02, 1G): three
        # characters at least, a digit among them, and a number once read as digits.
        as_number = _as_numbered_street(word)
        if as_number:
            words[i] = as_number
        elif letters >= 2 and not ordinal and any(ch in "0158" for ch in word):
            words[i] = word.translate(_AS_LETTER)
    return " ".join(words)


def _as_numbered_street(word: str) -> str | None:
    """The word read as a number or a numbered ordinal (L01ST → 101ST), when it has a digit
    and a letter a scan confuses with one, and is no ordinal or plain number already."""
    found = re.fullmatch(r"([0-9OILSBGZ]+?)(ST|ND|RD|TH)?", word)
    if not found or len(found[1]) < 2:
        return None
    number = found[1]
    digits = sum(ch.isdigit() for ch in number)
    # A bare number needs more digits than letters in it: 5O is as likely SO (south) as 50.
    if digits == 0 or digits == len(number) or (not found[2] and digits * 2 <= len(number)):
        return None
    read = number.translate(_AS_DIGIT)
    return None if read.startswith("0") else read + (found[2] or "")


def written_address(text: pd.Series, city_text: pd.Series, zip_text: pd.Series) -> pd.DataFrame:
    """Parse residence addresses as signers write them into canonical parts.

    Adds `has_address` (False for blank, P.O. box only, or text with no house number or street)
    and `parsed_by` ('rules', 'usaddress' or '' for no address).
    """
    patterns = _address_patterns()
    s = fold(text)
    # Stray punctuation and doubled spaces go; '#' and '/' carry meaning; '1234-B' and
    # '1234-1/2' are one house number.
    s = replace(s, r"[^A-Z0-9#/ -]", " ")
    s = replace(s, r"^(\d+)\s*-\s*(\d/\d)", r"\1 \2", changes=r"^\d+\s*-")
    s = replace(s, r"^(\d+)\s*-\s*[A-Z]\b", r"\1", changes=r"^\d+\s*-")
    s = replace(s, r"^(\d+)[A-Z]\b", r"\1", changes=r"^\d+[A-Z]\b")
    s = replace(s, "-", " ", changes="-")
    s = replace(s, patterns["glued"], r"\1 \2")
    s = replace(s, patterns["glued_letter"], r" \1 \2")
    s = _read_digits_and_letters(s)
    s = replace(s, r"#\s*", " # ", changes="#")
    s = squeeze(s)
    no_address = s.eq("") | _matches(s, NO_ADDRESS_PATTERN)

    head = _house_and_rest(s)
    rest = squeeze(replace(_text(head["rest"]), patterns["unit"], ""))
    street = street_parts(rest)
    out = pd.DataFrame(
        {"house": _text(head["house"]).str.lstrip("0"), **street},
        index=text.index,
    )
    zips = zip5(zip_text)
    cities = city(city_text)
    doubtful = ~no_address & (
        _matches(rest, patterns["doubtful_street"])
        | _matches(s, patterns["doubtful_text"])
        | (head["house"].isna() & _matches(s, r"\d"))
        | (out["street"] == "")
    )
    parsed_by = pd.Series(np.where(no_address, "", "rules"), index=text.index, dtype="str")
    if doubtful.any():
        tagged = _parse_free_text(s[doubtful])
        out.loc[doubtful, tagged.columns[:5]] = tagged[tagged.columns[:5]].to_numpy()
        # The fields the line gives win over what the parser finds inside the address.
        from_text = doubtful & (zips == "")
        zips[from_text] = tagged.loc[from_text[doubtful].to_numpy(), "zip5"].to_numpy()
        from_text = doubtful & (cities == "")
        cities[from_text] = tagged.loc[from_text[doubtful].to_numpy(), "city"].to_numpy()
        parsed_by[doubtful] = "usaddress"
    has_address = ~no_address & (out["house"] != "") & (out["street"] != "")
    out["zip5"] = zips
    out["city"] = cities
    out["has_address"] = has_address.to_numpy()
    out["parsed_by"] = parsed_by.where(has_address, "")
    return out


_USADDRESS_PARTS = {
    "AddressNumber": "house",
    "StreetNamePreDirectional": "predir",
    "StreetNamePreType": "name",
    "StreetName": "name",
    "StreetNamePostType": "stype",
    "StreetNamePostDirectional": "postdir",
    "PlaceName": "city",
    "ZipCode": "zip",
}


def _parse_free_text(texts: pd.Series) -> pd.DataFrame:
    """House, street parts, ZIP5 and city of addresses the rules could not place, read by
    `usaddress` (one call per distinct text) and brought to canonical form."""
    import usaddress

    rows = []
    for text in texts:
        parts: dict[str, list[str]] = {}
        try:
            tagged, _ = usaddress.tag(text)
        except usaddress.RepeatedLabelError as error:
            tagged = {}
            for token, label in error.parsed_string:
                tagged[label] = f"{tagged.get(label, '')} {token}".strip()
        for label, value in tagged.items():
            if label in _USADDRESS_PARTS:
                parts.setdefault(_USADDRESS_PARTS[label], []).append(value)
        rows.append({k: " ".join(v) for k, v in parts.items()})
    found = pd.DataFrame(
        rows,
        index=texts.index,
        columns=list(dict.fromkeys(_USADDRESS_PARTS.values())),
        dtype="object",
    )
    found = found.fillna("").astype("str")
    street = street_parts(
        squeeze(
            found["predir"] + " " + found["name"] + " " + found["stype"] + " " + found["postdir"]
        )
    )
    return pd.DataFrame(
        {
            "house": house_number(found["house"]),
            **street,
            "zip5": zip5(found["zip"]),
            "city": city(found["city"]),
        },
        index=texts.index,
    )


def printed_name(text: pd.Series) -> pd.DataFrame:
    """Split printed names into first, middle and last (upper ASCII), suffix set aside.

    "LAST, FIRST MIDDLE" when a comma is written; otherwise "FIRST [MIDDLE] LAST", where the
    last name takes the particles before it ("MARIA DE LA CRUZ" → last "DE LA CRUZ")."""
    s = _clean_name(text)
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
    # Particles between the first name and the last word belong to the last name.
    particle = "|".join(SURNAME_PARTICLES)
    tail = extract(n_middle, rf"^(?P<keep>.*?)\s*(?P<particles>(?:\b(?:{particle})(?:\s|$))+)$")
    has_particles = tail["particles"].notna().to_numpy() & (n_middle != "").to_numpy()
    n_last = n_last.where(~has_particles, squeeze(_text(tail["particles"]) + " " + n_last))
    n_middle = n_middle.where(~has_particles, squeeze(_text(tail["keep"])))

    return pd.DataFrame(
        {
            "first": c_first.where(has_comma, n_first),
            "middle": c_middle.where(has_comma, n_middle),
            "last": c_last.where(has_comma, n_last),
        },
        index=text.index,
    )


def _clean_name(text: pd.Series) -> pd.Series:
    """Folded name text: apostrophes and periods dropped (O'BRIEN → OBRIEN), hyphens and other
    punctuation but the comma become spaces."""
    s = replace(fold(text), r"['`.]", "")
    s = squeeze(replace(s, r"[^A-Z0-9, ]", " "))
    # A doubled comma, or one at either end, is a slip of the pen, not a separator.
    s = replace(s, r"\s*,[\s,]*", ", ", changes=",")
    return squeeze(replace(s, r"^[\s,]+|[\s,]+$", "", changes=r"^[\s,]|[\s,]$"))


def roll_name(frame: pd.DataFrame) -> pd.DataFrame:
    @per_value
    def clean_name(values: pd.Series) -> pd.Series:
        return squeeze(_clean_name(values).str.replace(",", " ", regex=False))

    def clean(col: str) -> pd.Series:
        return clean_name(frame[col])

    return pd.DataFrame(
        {"first": clean("first_name"), "middle": clean("middle_name"), "last": clean("last_name")},
        index=frame.index,
    )


@lru_cache(maxsize=1)
def nickname_pairs() -> pd.DataFrame:
    """(nickname, given_name) pairs: the project's curated tables (`nicknames.csv`, shared with
    the scenario generator, and `nicknames_more.csv`, Spanish hypocorisms the matcher alone
    reads), and the `nicknames` package's English list. A nickname of many given names (CHRIS)
    is kept: it is compared with the names of the people at one dwelling, where it is rarely
    ambiguous, and where it is (a CHRISTINE and a CHRISTOPHER) the line goes to an examiner."""
    from importlib.resources import files

    own = pd.concat(
        [
            read_reference("nicknames.csv")[["nickname", "given_name"]],
            read_reference("nicknames_more.csv")[["nickname", "given_name"]],
        ],
        ignore_index=True,
    )
    listed = pd.read_csv(files("nicknames") / "names.csv", dtype=str, keep_default_na=False)
    listed = listed[listed["relationship"] == "has_nickname"]
    package = pd.DataFrame(
        {"nickname": listed["name2"].str.upper(), "given_name": listed["name1"].str.upper()}
    )
    package = package.assign(source="package")
    both = pd.concat([own.assign(source="project"), package], ignore_index=True)
    both = both[(both["nickname"] != both["given_name"]) & (both["nickname"] != "")]
    return both.drop_duplicates(["nickname", "given_name"]).reset_index(drop=True)
