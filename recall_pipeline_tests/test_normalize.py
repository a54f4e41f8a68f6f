"""Canonical forms of names and addresses, for every kind of keying noise."""

from __future__ import annotations

import pandas as pd
import pytest

from recall_pipeline.verify import compare
from recall_pipeline.verify import normalize as nz

CANONICAL = ("1234", "N", "MAIN", "ST", "", "90012")


def parse(text: str, zip_text: str = "90012", city: str = "") -> tuple:
    parsed = nz.written_address(pd.Series([text]), pd.Series([city]), pd.Series([zip_text]))
    row = parsed.iloc[0]
    return (row.house, row.predir, row.street, row.stype, row.postdir, row.zip5)


@pytest.mark.parametrize(
    "written",
    [
        "1234 N Main St",
        "1234 1/2 N Main St",
        "1234 North Main Street",
        "1234 n. main st.",
        "1234 N MAIN ST APT 5",
        "1234 N Main St Apartment 12B",
        "1234 N Main St #5",
        "1234 N Main St # 5",
        "1234 N Main Str Unit C",
        "1234 N Main St, Spc 7",
        "01234 N Main St",
    ],
)
def test_written_address_variants(written: str) -> None:
    assert parse(written) == CANONICAL


def test_zip_plus_4_and_post_directional() -> None:
    assert parse("501 Elm Avenue North", "91101-1234") == ("501", "", "ELM", "AVE", "N", "91101")
    assert parse("501 Elm Ave N Apt 2", "911011234") == ("501", "", "ELM", "AVE", "N", "91101")


@pytest.mark.parametrize(
    ("written", "street"),
    [
        ("4006 L01st Street", "101ST"),  # digits read as letters in an ordinal
        ("2191 I02 St", "102ND"),
        ("5141 10G DRIVE", "106TH"),
        ("1200 L0S FELIZ BLVD", "LOS FELIZ"),  # a word with a digit in it stays a word
        ("4974 5o Creek", "5O"),  # as likely SO (south) as 50: left as written
    ],
)
def test_numbered_streets_misread_by_a_scan(written: str, street: str) -> None:
    assert parse(written)[2] == street


def test_two_word_and_numbered_streets() -> None:
    assert parse("88 W La Brea Blvd") == ("88", "W", "LA BREA", "BLVD", "", "90012")
    assert parse("3644 1/2 110TH AVE.") == ("3644", "", "110TH", "AVE", "", "90012")
    assert parse("4600 West 82Nd Way") == ("4600", "W", "82ND", "WAY", "", "90012")


@pytest.mark.parametrize(
    "written", ["", "PO BOX 1234", "P.O. Box 77", "SAME", "N/A", "HOMELESS", "Main St"]
)
def test_no_locatable_address(written: str) -> None:
    parsed = nz.written_address(pd.Series([written]), pd.Series([""]), pd.Series([""]))
    assert not parsed["has_address"].iloc[0]


def test_roll_address_full_words_and_abbreviations_agree() -> None:
    roll = pd.DataFrame(
        {
            "house_number": ["1234 1/2", "1234"],
            "street_predir": ["NORTH", "N"],
            "street_name": ["Main", "MAIN"],
            "street_type": ["STREET", "ST"],
            "street_postdir": [None, ""],
            "zip": ["90012-0001", "90012"],
            "city": ["Hollywood", "LOS ANGELES"],
        }
    )
    canon = nz.roll_address(roll)
    assert canon.iloc[0].tolist() == canon.iloc[1].tolist()
    assert nz.city(roll["city"]).tolist() == ["LOS ANGELES", "LOS ANGELES"]


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("Maria E. Garcia", ("MARIA", "E", "GARCIA")),
        ("GARCIA, MARIA ELENA", ("MARIA", "ELENA", "GARCIA")),
        ("garcia jr, maria", ("MARIA", "", "GARCIA")),
        ("Patrick O'Brien Jr", ("PATRICK", "", "OBRIEN")),
        ("José Muñoz", ("JOSE", "", "MUNOZ")),
        ("Robert J. Smith III", ("ROBERT", "J", "SMITH")),
        ("Cher", ("CHER", "", "")),
        ("", ("", "", "")),
    ],
)
def test_printed_name_variants(printed: str, expected: tuple) -> None:
    row = nz.printed_name(pd.Series([printed])).iloc[0]
    assert (row["first"], row["middle"], row["last"]) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("MARIA", "MARIO", 1),  # substitution
        ("MARIA", "MRAIA", 1),  # adjacent swap: one edit in optimal string alignment
        ("JOHNSON", "JONSON", 1),  # deletion
        ("JONSON", "JOHNSON", 1),  # insertion
        ("MARIA", "MARIA", 0),
        ("JOHNSON", "JONSHON", 2),  # two swaps
        ("SMITH", "SMYTHE", 2),
        ("ABC", "", 3),
        ("ABCD", "BADC", 2),
    ],
)
def test_optimal_string_alignment_distance(a: str, b: str, expected: int) -> None:
    assert compare.osa([a], [b]).tolist() == [expected]
    assert compare.osa([b], [a]).tolist() == [expected]


def _osa(a: str, b: str) -> int:
    """Textbook optimal-string-alignment distance, the reference for the library's."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_distances_over_columns_agree_with_the_textbook_pair_by_pair() -> None:
    import random

    rng = random.Random(5)
    words = ["".join(rng.choice("ABC") for _ in range(rng.randint(0, 6))) for _ in range(3000)]
    a, b = words[::2], words[1::2]
    assert compare.osa(a, b).tolist() == [_osa(x, y) for x, y in zip(a, b, strict=True)]


@pytest.mark.parametrize(
    ("line", "voter", "middle", "level"),
    [
        ("MARIA", "MARIA", "", "exact"),
        ("MARIA", "MARIA ELENA", "", "exact"),
        ("BOB", "ROBERT", "", "nickname"),
        ("PEPE", "JOSE", "", "nickname"),
        ("ELENA", "MARIA", "ELENA", "middle_as_first"),
        ("MRAIA", "MARIA", "", "typo"),
        ("FRANSISKO", "FRANCISCO", "", "typo"),  # two slips in a long name
        ("M", "MARIA", "", "initial"),
        ("JUNA", "JANE", "", "close"),
        ("CARLOS", "MARIA", "", "none"),
        ("", "MARIA", "", "missing"),
        # Short forms no table lists: a diminutive's ending and doubled letter, a name taken
        # from inside the given one, another ending of a listed nickname.
        ("TIMMIE", "TIMOTHY", "", "nickname"),
        ("FREDDY", "ALFREDO", "", "nickname"),
        ("TOMMIE", "THOMAS", "", "nickname"),
        ("JACKIE", "JOHN", "", "nickname"),
        # The roll holds only the middle initial; the line's first name begins with it.
        ("LUENE", "EDWARD", "L", "middle_initial"),
        ("LUENE", "EDWARD", "", "none"),
    ],
)
def test_first_name_levels(line: str, voter: str, middle: str, level: str) -> None:
    found = compare.first_name_levels([line], [voter], [middle])
    assert compare.FIRST_LEVELS[found[0]] == level


@pytest.mark.parametrize(
    ("last", "middle", "voter", "level", "consumed"),
    [
        ("GARCIA", "", "GARCIA", "exact", False),
        ("RAMIREZ", "DOMINGUEZ", "DOMINGUEZ RAMIREZ", "exact", True),
        ("DOMINGUEZRAMIREZ", "", "DOMINGUEZ RAMIREZ", "exact", False),
        ("DOMINGUEZ", "", "DOMINGUEZ RAMIREZ", "part", False),
        ("CRUZ", "", "DE LA CRUZ", "part", False),
        ("GARSIA", "", "GARCIA", "typo", False),
        ("SMITH", "", "JONES", "none", False),
    ],
)
def test_last_name_levels(last, middle, voter, level, consumed) -> None:
    found, joined = compare.last_name_levels([last], [middle], [voter])
    assert (compare.LAST_LEVELS[found[0]], bool(joined[0])) == (level, consumed)


def _random_texts(alphabet: str, n: int, seed: int) -> pd.Series:
    import random

    rng = random.Random(seed)
    return pd.Series(
        ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(n)],
        dtype="str",
    )


def _regex_groups(values: pd.Series, pattern: str) -> list[tuple]:
    found = values.str.extract(pattern)
    return [tuple(row) for row in found.fillna("").itertuples(index=False)]


def test_split_shortcuts_give_what_the_patterns_give() -> None:
    """The split-based parsing finds in squeezed text what the regexes it replaced find."""
    texts = nz.squeeze(_random_texts("12 A/-B", 4000, seed=11))
    first, rest, two = nz._split_once(texts, reverse=False)
    assert list(zip(first.where(two, ""), rest.where(two, ""), strict=True)) == _regex_groups(
        texts, r"^(\S+)\s+(.+)$"
    )
    init, last = nz._split_last(texts)
    assert list(zip(init, last, strict=True)) == _regex_groups(texts, r"^(.+)\s+(\S+)$")
    head = nz._house_and_rest(texts)
    expected = _regex_groups(texts, nz.HOUSE_PATTERN)
    assert list(zip(head["house"].fillna(""), head["rest"].fillna(""), strict=True)) == expected
    assert (head["house"].notna() == texts.str.match(nz.HOUSE_PATTERN)).all()


def test_replace_rewrites_only_what_it_must_and_agrees_with_a_full_rewrite() -> None:
    texts = _random_texts("A .,\t\n", 4000, seed=12)
    full = texts.str.replace(r"[\s.,]+", " ", regex=True)
    fast = nz.replace(texts, r"[\s.,]+", " ", changes=r"[.,]|\s\s|[^\S ]")
    assert fast.tolist() == full.tolist()
    assert (
        nz.squeeze(texts).tolist()
        == texts.str.replace(r"\s+", " ", regex=True).str.strip().tolist()
    )


def test_fold_mixes_accented_and_plain_values() -> None:
    folded = nz.fold(pd.Series(["José Núñez", "maria", None, "Zoë-Ann", "ÅSA"], dtype="str"))
    assert folded.tolist() == ["JOSE NUNEZ", "MARIA", "", "ZOE-ANN", "ASA"]


def _printed_name_by_regex(text: pd.Series) -> pd.DataFrame:
    """printed_name written with regexes throughout: the reference for the split-based one."""
    s = nz.fold(text).str.replace(r"['`.]", "", regex=True)
    s = nz.squeeze(s.str.replace(r"[^A-Z0-9, ]", " ", regex=True))
    s = s.str.replace(r"\s*,[\s,]*", ", ", regex=True)
    s = nz.squeeze(s.str.replace(r"^[\s,]+|[\s,]+$", "", regex=True))
    suffix = rf"(?:\s+(?:{'|'.join(nz.NAME_SUFFIXES)}))+$"
    comma = s.str.extract(r"^(?P<left>[^,]*),(?P<right>.*)$")
    has_comma = comma["left"].notna()
    c_last = nz.squeeze(comma["left"].fillna("").str.replace(suffix, "", regex=True))
    right = nz.squeeze(comma["right"].fillna("").str.replace(suffix, "", regex=True))
    c = right.str.extract(r"^(?P<first>\S*)\s*(?P<middle>.*)$").fillna("")
    natural = nz.squeeze(s.str.replace(",", " ").str.replace(suffix, "", regex=True))
    n = natural.str.extract(r"^(?P<first>\S+)(?:\s+(?P<middle>.+))?\s+(?P<last>\S+)$")
    n_first = n["first"].fillna("").where(n["first"].notna(), natural)
    n_middle, n_last = n["middle"].fillna(""), n["last"].fillna("")
    particle = "|".join(nz.SURNAME_PARTICLES)
    split = n_middle.str.extract(rf"^(?P<keep>.*?)\s*(?P<p>(?:\b(?:{particle})(?:\s|$))+)$")
    moved = split["p"].notna() & (n_middle != "")
    n_last = n_last.where(~moved, nz.squeeze(split["p"].fillna("") + " " + n_last))
    n_middle = n_middle.where(~moved, nz.squeeze(split["keep"].fillna("")))
    return pd.DataFrame(
        {
            "first": c["first"].where(has_comma, n_first),
            "middle": c["middle"].where(has_comma, n_middle),
            "last": c_last.where(has_comma, n_last),
        }
    )


def test_printed_name_agrees_with_the_regex_reference() -> None:
    import random

    rng = random.Random(13)
    words = ["ANA", "LEE", "JR", "II", "O'NEIL", "DE LA", "X", ",", " ", "  ", "-", "."]
    texts = pd.Series(
        [
            "".join(rng.choice(words) + rng.choice(["", " "]) for _ in range(rng.randint(0, 6)))
            for _ in range(3000)
        ],
        dtype="str",
    )
    got = nz.printed_name(texts)
    expected = _printed_name_by_regex(texts)
    for column in ("first", "middle", "last"):
        assert got[column].tolist() == expected[column].tolist(), column


def _address_level(written: str, roll_street: str, roll_type: str) -> str:
    line = nz.written_address(pd.Series([written]), pd.Series([""]), pd.Series(["90012"]))
    roll = nz.roll_address(
        pd.DataFrame(
            {
                "house_number": [written.split(" ")[0]],
                "street_predir": [""],
                "street_name": [roll_street],
                "street_type": [roll_type],
                "street_postdir": [""],
                "city": ["LOS ANGELES"],
                "zip": ["90012"],
            }
        )
    )
    for side in (line, roll):
        side["street_key"] = nz.street_key(side["street"])
    columns = ["house", "predir", "street_key", "stype", "postdir", "zip5", "city"]
    found = compare.address_levels({k: line[k] for k in columns}, {k: roll[k] for k in columns})
    return compare.ADDRESS_LEVELS[found[0]]


@pytest.mark.parametrize(
    ("written", "roll_street", "roll_type", "level"),
    [
        ("3729 Fieteenth Pl", "15TH", "PL", "close"),  # an ordinal word keyed with a slip
        ("1410 SFVENTY-SIXTH ST", "76TH", "ST", "close"),
        ("515 FORTY-EIGHTH ST TEMPLE CTY CALIF", "48TH", "ST", "close"),  # place in the street
        ("3729 Fifteenth Pl", "15TH", "PL", "exact"),
        ("3729 Seventh Pl", "15TH", "PL", "house_zip"),  # another numbered street
        ("3729 MAPLE AVE", "OAK", "AVE", "house_zip"),  # another street at the number
    ],
)
def test_address_levels_read_numbered_streets_and_trailing_places(
    written: str, roll_street: str, roll_type: str, level: str
) -> None:
    assert _address_level(written, roll_street, roll_type) == level


def test_spelled_ordinals_cover_every_numbered_street_below_a_hundred() -> None:
    import pyarrow as pa

    keys = pa.array([nz._ordinal_text(n) for n in range(1, 100)])
    spelled = nz.spelled_ordinals(keys).to_pylist()
    assert spelled[:3] == ["FIRST", "SECOND", "THIRD"]
    assert spelled[19] == "TWENTIETH" and spelled[75] == "SEVENTYSIXTH"
    assert not any(ch.isdigit() for word in spelled for ch in word)
    assert len(set(spelled)) == 99
