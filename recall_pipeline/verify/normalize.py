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

from functools import lru_cache

import numpy as np
import pandas as pd

from recall_pipeline.reference import read_reference

NAME_SUFFIXES = ("JR", "SR", "II", "III", "IV", "V")
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
    return values.astype(object).where(values.notna(), "").astype("str")


def fold(text: pd.Series) -> pd.Series:
    """Upper-case ASCII with accents removed and punctuation turned to spaces."""
    s = _text(text)
    s = s.str.normalize("NFKD").str.replace(r"[^\x00-\x7f]", "", regex=True).str.upper()
    return s


def squeeze(text: pd.Series) -> pd.Series:
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def standardize(words: pd.Series, table: str) -> pd.Series:
    """A written suffix/directional/unit word → its USPS standard form ('' stays '')."""
    folded = squeeze(fold(words).str.replace(".", "", regex=False))
    mapping = _tables()[table]
    return folded.map(mapping).fillna(folded).astype("str")


def house_number(text: pd.Series) -> pd.Series:
    """The integer part of a house number ('1234 1/2' → '1234'), leading zeros dropped."""
    digits = fold(text).str.extract(r"^\s*0*(\d+)", expand=False)
    return _text(digits)


def zip5(text: pd.Series) -> pd.Series:
    return _text(fold(text).str.extract(r"^\s*(\d{5})", expand=False))


def city(text: pd.Series) -> pd.Series:
    folded = squeeze(fold(text).str.replace(r"[.,]", " ", regex=True))
    return folded.map(city_aliases()).fillna(folded).astype("str")


def street_name(text: pd.Series) -> pd.Series:
    return squeeze(fold(text).str.replace(r"[.,'#-]", " ", regex=True))


def roll_address(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical address parts of roll (or address-history) rows."""
    return pd.DataFrame(
        {
            "house": house_number(frame["house_number"]),
            "predir": standardize(frame["street_predir"], "directional"),
            "street": street_name(frame["street_name"]),
            "stype": standardize(frame["street_type"], "suffix"),
            "postdir": standardize(frame["street_postdir"], "directional"),
            "zip5": zip5(frame["zip"]),
            "city": city(frame["city"]),
        },
        index=frame.index,
    )


def written_address(text: pd.Series, city_text: pd.Series, zip_text: pd.Series) -> pd.DataFrame:
    """Parse residence addresses as signers write them into canonical parts.

    Adds `has_address` (False for blank, P.O. box only, or text with no house number).
    """
    tables = _tables()
    s = squeeze(fold(text).str.replace(r"[.,]", " ", regex=True))
    no_address = s.eq("") | s.str.contains(NO_ADDRESS_PATTERN, regex=True)
    head = s.str.extract(r"^(?P<house>\d+)(?:\s*-?\s*\d/\d)?\s+(?P<rest>.+)$")
    rest = _text(head["rest"])
    has_address = ~no_address & head["house"].notna()

    # A unit at the end: "APT 5", "UNIT B", "# 5", "#5", "APARTMENT 12".
    unit_words = _alternation(tables["unit"].keys() - {"#"})
    unit = rest.str.extract(rf"^(?P<rest>.*?)\s*(?:\b(?:{unit_words})\s+\S+|#\s*\S+)$")
    rest = unit["rest"].where(unit["rest"].notna(), rest).astype("str").str.strip()

    tokens = rest.str.split(" ")
    count = tokens.str.len().fillna(0).astype(int)
    last = _text(tokens.str[-1])
    directional = set(tables["directional"])
    suffix = set(tables["suffix"])

    # Post-directional: a trailing directional after a suffix ("ELM AVE N").
    second_last = _text(tokens.str[-2])
    has_post = last.isin(directional) & second_last.isin(suffix) & (count >= 3)
    postdir = _text(last.where(has_post, "").map(tables["directional"]))
    tokens = tokens.where(~has_post, tokens.str[:-1])
    count = count - has_post.astype(int)
    last = _text(tokens.str[-1])

    has_type = last.isin(suffix) & (count >= 2)
    stype = _text(last.where(has_type, "").map(tables["suffix"]))
    tokens = tokens.where(~has_type, tokens.str[:-1])
    count = count - has_type.astype(int)

    first = _text(tokens.str[0])
    has_pre = first.isin(directional) & (count >= 2)
    predir = _text(first.where(has_pre, "").map(tables["directional"]))
    tokens = tokens.where(~has_pre, tokens.str[1:])

    name = _text(tokens.str.join(" "))
    return pd.DataFrame(
        {
            "house": _text(head["house"]).str.lstrip("0"),
            "predir": predir,
            "street": street_name(name),
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
    s = squeeze(fold(text).str.replace(r"[.'`\-]", "", regex=True))
    has_comma = s.str.contains(",", regex=False)
    left = _text(s.str.split(",", n=1).str[0])
    right = _text(s.str.split(",", n=1).str[1])
    suffixes = "|".join(NAME_SUFFIXES)
    strip_suffix = rf"(?:\s+(?:{suffixes}))+$"

    # "LAST [SUFFIX], FIRST [MIDDLE]"
    c_last = squeeze(left.str.replace(strip_suffix, "", regex=True))
    c_tokens = squeeze(right.str.replace(strip_suffix, "", regex=True)).str.split(" ")
    c_first = _text(c_tokens.str[0])
    c_middle = _text(c_tokens.str[1:].str.join(" "))

    # "FIRST [MIDDLE] LAST [SUFFIX]"
    n_tokens = squeeze(
        s.str.replace(",", " ", regex=False).str.replace(strip_suffix, "", regex=True)
    )
    n_tokens = n_tokens.str.split(" ")
    n_first = _text(n_tokens.str[0])
    n_last = _text(n_tokens.str[-1])
    n_middle = _text(n_tokens.str[1:-1].str.join(" "))
    single = n_tokens.str.len().fillna(0) < 2
    n_last = n_last.where(~single, "")

    return pd.DataFrame(
        {
            "first": c_first.where(has_comma, n_first),
            "middle": c_middle.where(has_comma, n_middle),
            "last": c_last.where(has_comma, n_last),
        },
        index=text.index,
    )


def roll_name(frame: pd.DataFrame) -> pd.DataFrame:
    def clean(col: str) -> pd.Series:
        return squeeze(fold(frame[col]).str.replace(r"[.'`\-,]", "", regex=True))

    return pd.DataFrame(
        {"first": clean("first_name"), "middle": clean("middle_name"), "last": clean("last_name")},
        index=frame.index,
    )


def osa_distance(a, b, limit: int = 2) -> np.ndarray:
    """Optimal-string-alignment distance of each pair (a[i], b[i]), capped at `limit` + 1.

    Names are short, so the dynamic programme runs over character positions with numpy across
    all pairs at once; each pair's distance is read off when the row of its own length is done.
    """
    a = np.asarray(a, dtype=str)
    b = np.asarray(b, dtype=str)
    n = len(a)
    la = np.char.str_len(a) if n else np.zeros(0, dtype=np.int64)
    lb = np.char.str_len(b) if n else np.zeros(0, dtype=np.int64)
    out = lb.astype(np.int64).copy()  # distance when a is empty
    width = int(max(la.max(initial=0), lb.max(initial=0)))
    if n == 0 or width == 0:
        return np.minimum(out, limit + 1)
    ca = np.frombuffer(a.astype(f"U{width}").tobytes(), dtype=np.uint32).reshape(n, width)
    cb = np.frombuffer(b.astype(f"U{width}").tobytes(), dtype=np.uint32).reshape(n, width)
    rows = np.arange(n)
    prev2 = np.zeros((n, width + 1), dtype=np.int64)
    prev = np.tile(np.arange(width + 1, dtype=np.int64), (n, 1))
    for i in range(1, width + 1):
        cur = np.empty_like(prev)
        cur[:, 0] = i
        for j in range(1, width + 1):
            cost = (ca[:, i - 1] != cb[:, j - 1]).astype(np.int64)
            best = np.minimum(np.minimum(prev[:, j] + 1, cur[:, j - 1] + 1), prev[:, j - 1] + cost)
            if i > 1 and j > 1:
                swap = (ca[:, i - 1] == cb[:, j - 2]) & (ca[:, i - 2] == cb[:, j - 1])
                best = np.where(swap, np.minimum(best, prev2[:, j - 2] + 1), best)
            cur[:, j] = best
        done = la == i
        out[done] = cur[rows[done], lb[done]]
        prev2, prev = prev, cur
    return np.minimum(out, limit + 1)
