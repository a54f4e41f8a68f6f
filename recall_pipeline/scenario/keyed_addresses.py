"""Residence address, city and ZIP under a keying profile's address habits.

The address is rebuilt from the dwelling's parts (house number, fraction, directions, street
name and type, unit), each written in the form the habits draw, then joined, cased and
punctuated; the city and ZIP fields follow. Heavy habits (a slipped digit or letter, an OCR
misreading, the ZIP left off) come from the line's one heavy draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recall_pipeline.scenario.geography import LA_CODE
from recall_pipeline.scenario.keying import AddressHabits, HabitLog, choose
from recall_pipeline.scenario.noise import (
    apply_case,
    digit_slip,
    double_a_space,
    keyer_typo,
    ocr_misread,
    stray_punctuation,
)
from recall_pipeline.scenario.streets import PREDIRS, STREET_TYPES, AddressWriter, street_names
from recall_pipeline.scenario.written_forms import (
    ACRONYMS,
    DIRECTION_FORMS,
    NO_ADDRESS_FORMS,
    TYPE_LOCAL,
    city_forms,
    ordinal_word,
)

_UNIT_FULL = {"APT": "APARTMENT", "UNIT": "UNIT", "#": "#", "SPC": "SPACE", "STE": "SUITE"}
_ORDINAL_WORDS = np.array([ordinal_word(i) for i in range(200)], dtype=object)
_PARTS = ["house_number", "fraction", "street_predir", "street_name", "street_type",
          "street_postdir", "unit_type", "unit_number", "zip5", "city", "community"]  # fmt: skip


def _text(values, index=None) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), index=index, dtype="str")


def _pick_from(options: dict[str, tuple[str, ...]], keys: np.ndarray, u: np.ndarray):
    """For each key, one of its options (the key itself where it has none)."""
    out = keys.astype(object).copy()
    codes, uniques = pd.factorize(pd.Series(keys, dtype="str"))
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes[codes >= 0], minlength=len(uniques)))
    starts = ends - np.bincount(codes[codes >= 0], minlength=len(uniques))
    offset = int((codes < 0).sum())  # missing keys sort first
    for i, key in enumerate(uniques):
        forms = options.get(key)
        if forms:
            at = order[offset + starts[i] : offset + ends[i]]
            out[at] = np.array(forms, dtype=object)[(u[at] * len(forms)).astype(np.int64)]
    return out


class CityWriter:
    """Shortened forms of every city and community name, for vectorized picks."""

    def __init__(self, zips: pd.DataFrame) -> None:
        names = sorted(set(zips["city"]) | set(zips["community"]) - {""})
        self.forms = {name: tuple(city_forms(name)) for name in names}

    def short(self, names: np.ndarray, u: np.ndarray) -> np.ndarray:
        return _pick_from(self.forms, names, u)


def _structure(lines: pd.DataFrame, roll, rng: np.random.Generator) -> pd.DataFrame:
    """The parts of each written address: the dwelling's, or a made-up one outside the county."""
    n = len(lines)
    kind = lines["addr_kind"].to_numpy()
    parts = pd.DataFrame({c: np.full(n, "", dtype=object) for c in _PARTS})
    at = np.nonzero(kind == "dwelling")[0]
    d = roll.dwellings.iloc[lines["dwelling"].to_numpy()[at]]
    for c in _PARTS:
        parts.loc[at, c] = d[c].astype(str).to_numpy(dtype=object)
    at = np.nonzero(kind == "ooj")[0]
    k = len(at)
    zips = roll.zips[roll.zips["jurisdiction_code"] != LA_CODE].reset_index(drop=True)
    pick = zips.iloc[rng.integers(0, len(zips), k)]
    names = street_names()
    parts.loc[at, "house_number"] = rng.integers(100, 20000, k).astype(str)
    parts.loc[at, "street_predir"] = np.where(
        rng.random(k) < 0.3, PREDIRS[rng.integers(0, 4, k)], ""
    )
    parts.loc[at, "street_name"] = names[rng.integers(0, len(names), k)]
    parts.loc[at, "street_type"] = STREET_TYPES[rng.integers(0, 6, k)]
    parts.loc[at, "zip5"] = pick["zip5"].to_numpy()
    parts.loc[at, "city"] = pick["city"].to_numpy()
    return parts


def key_addresses(
    lines: pd.DataFrame,
    roll,
    habits: AddressHabits,
    heavy: np.ndarray,
    cities: CityWriter,
    rng: np.random.Generator,
    log: HabitLog,
    none_zips: np.ndarray,
) -> pd.DataFrame:
    """residence_address, city and zip as keyed for each line."""
    n = len(lines)
    writer = AddressWriter()
    parts = _structure(lines, roll, rng)
    kind = lines["addr_kind"].to_numpy()
    located = kind != "none"
    u = rng.random((n, 8))

    # House number, with the 1/2 kept or dropped, and a slipped digit.
    house = parts["house_number"].to_numpy(dtype=object)
    has_frac = parts["fraction"].to_numpy() != ""
    keep_frac = has_frac & (u[:, 0] < habits.fraction_kept)
    log.flag("fraction_kept", keep_frac, has_frac, habits.fraction_kept)
    eligible = located.copy()
    at = np.nonzero(eligible & (heavy == "house_slip"))[0]
    house[at] = digit_slip(house[at], rng)
    log.flag("house_slip", np.isin(np.arange(n), at), eligible, habits.house_slip)
    house = np.where(keep_frac, house + " " + parts["fraction"].to_numpy(dtype=object), house)

    # Directions: one way of writing them per line.
    dform = choose(rng, habits.direction, n)
    pre_std = parts["street_predir"].to_numpy(dtype=object)
    post_std = parts["street_postdir"].to_numpy(dtype=object)
    has_dir = (pre_std != "") | (post_std != "")
    log.form("direction_form", dform, has_dir)
    pre = _direction(pre_std, dform)
    post = _direction(post_std, dform)

    # Street name: ordinal forms, and a slipped letter.
    name = parts["street_name"].to_numpy(dtype=object)
    number = pd.Series(name, dtype="str").str.extract(r"^(\d+)(?:ST|ND|RD|TH)$")[0]
    is_ord = number.notna().to_numpy()
    oform = choose(rng, habits.ordinal, n)
    num = number.fillna("0").astype(int).to_numpy()
    words = _ORDINAL_WORDS[np.minimum(num, len(_ORDINAL_WORDS) - 1)]
    oform = np.where((oform == "word") & (words == ""), "std", oform)
    log.form("ordinal_form", oform, is_ord)
    name = np.where(is_ord & (oform == "word"), words, name)
    name = np.where(is_ord & (oform == "bare"), number.fillna("").to_numpy(dtype=object), name)
    letters = pd.Series(name, dtype="str").str.count(r"[A-Z]").to_numpy()
    eligible = located & (letters >= 5) & ~is_ord
    at = np.nonzero(eligible & (heavy == "street_slip"))[0]
    two = rng.random(len(at)) < 0.3
    slipped = np.array(keyer_typo(name[at], rng), dtype=object)
    slipped[two] = keyer_typo(slipped[two], rng)
    name[at] = slipped
    log.flag("street_slip", np.isin(np.arange(n), at), eligible, habits.street_slip)

    # Street type.
    type_std = parts["street_type"].to_numpy(dtype=object)
    tform = choose(rng, habits.street_type, n)
    log.form("type_form", tform, type_std != "")
    full = writer.full_words(pd.Series(type_std, dtype="str")).to_numpy(dtype=object)
    local = _pick_from(TYPE_LOCAL, type_std, u[:, 1])
    typ = np.select(
        [tform == "std", tform == "local", tform == "full"], [type_std, local, full], default=""
    ).astype(object)

    # Unit: glued on, cut off, or wrong.
    unit_type = parts["unit_type"].to_numpy(dtype=object)
    unit_no = parts["unit_number"].to_numpy(dtype=object)
    has_unit = unit_type != ""
    wrong = has_unit & (u[:, 2] < habits.unit_wrong)
    log.flag("unit_wrong", wrong, has_unit, habits.unit_wrong)
    at = np.nonzero(wrong)[0]
    other = rng.integers(1, 400, len(at)).astype(str)
    slipped = np.array(digit_slip(unit_no[at], rng), dtype=object)
    unit_no[at] = np.where((slipped == unit_no[at]) | (rng.random(len(at)) < 0.5), other, slipped)
    uform = choose(rng, habits.unit, n)
    log.form("unit_form", uform, has_unit)
    word_full = pd.Series(unit_type).map(_UNIT_FULL).fillna("").to_numpy(dtype=object)
    std_word = np.where(unit_type == "#", "#", unit_type)
    unit = np.select(
        [
            uform == "std",
            uform == "full",
            uform == "glued",
            uform == "hash",
            uform == "hash_space",
            uform == "comma_hash",
            uform == "unit_word",
        ],
        [
            std_word + " " + unit_no,
            word_full + " " + unit_no,
            std_word + unit_no,
            "#" + unit_no,
            "# " + unit_no,
            ", #" + unit_no,
            "UNIT " + unit_no,
        ],
        default="",
    ).astype(object)
    unit = np.where(has_unit, unit, "")

    # The ZIP, or none at all (then a city is always written).
    zip5 = parts["zip5"].to_numpy(dtype=object)
    eligible = located.copy()
    missing = eligible & (heavy == "zip_missing")
    log.flag("zip_missing", missing, eligible, habits.zip_missing)
    zform = choose(rng, habits.zip, n)
    log.form("zip_form", zform, located & ~missing)
    plus4 = pd.Series(rng.integers(0, 10000, n)).astype(str).str.zfill(4).to_numpy(dtype=object)
    zip_out = np.select(
        [zform == "plus4", zform == "plus4_nohyphen"], [zip5 + "-" + plus4, zip5 + plus4], zip5
    ).astype(object)
    zip_out = np.where(located & ~missing, zip_out, "")

    # The city field: the city, nothing, the community, a short form, a misspelling.
    city = parts["city"].to_numpy(dtype=object)
    community = parts["community"].to_numpy(dtype=object)
    cform = choose(rng, habits.city, n)
    cform = np.where(missing & np.isin(cform, ["blank", "misspelled"]), "official", cform)
    cform = np.where((cform == "community") & (community == ""), "official", cform)
    named = np.where(community != "", community, city)
    short = cities.short(named.astype(object), u[:, 3])
    cform = np.where((cform == "short") & (short == named), "official", cform)
    cform = np.where(
        (cform == "misspelled") & (np.char.str_len(city.astype(str)) < 6), "official", cform
    )
    log.form("city_form", cform, located)
    city_out = np.select(
        [cform == "official", cform == "community", cform == "short"],
        [city, community, short],
        default="",
    ).astype(object)
    at = np.nonzero(located & (cform == "misspelled"))[0]
    city_out[at] = keyer_typo(city[at], rng)
    city_out = np.where(located, city_out, "")

    # Put together.
    commas = located & (u[:, 4] < habits.commas)
    log.flag("address_commas", commas, located, habits.commas)
    street = (
        _text(house) + " " + _text(pre) + " " + _text(name) + " " + _text(typ) + " " + _text(post)
    )
    street = street.str.replace(r"\s+", " ", regex=True).str.strip()
    unit_s = _text(unit)
    sep = pd.Series(np.where(commas & (unit != ""), ", ", " "), dtype="str")
    text = street + sep.where(~unit_s.str.startswith(","), "") + unit_s
    text = text.str.strip()

    # The city and state (and ZIP) written into the address field too.
    inside = located & (u[:, 5] < habits.city_in_address)
    log.flag("city_in_address", inside, located, habits.city_in_address)
    shown_city = np.where(city_out != "", city_out, city)
    # A short form that already carries the state ("L.A. CA") is not given it twice.
    shown_city = pd.Series(shown_city, dtype="str").str.replace(r" CA$", "", regex=True)
    shown_city = shown_city.to_numpy(dtype=object)
    style = (u[:, 6] * 3).astype(np.int64)
    tail = np.select(
        [style == 0, style == 1],
        [" " + shown_city + " CA " + zip_out, ", " + shown_city + ", CA " + zip_out],
        default=" " + shown_city + " CALIF",
    ).astype(object)
    text = text.where(~inside, text + _text(tail).str.rstrip())
    # The keyer who typed it all into one field often left the other two empty.
    emptied = inside & (u[:, 7] < 0.5)
    city_out = np.where(emptied, "", city_out)
    zip_out = np.where(emptied & (style != 2), "", zip_out)

    # No address that can be located.
    at = np.nonzero(~located)[0]
    forms = np.array(NO_ADDRESS_FORMS, dtype=object)
    template = forms[rng.integers(0, len(forms), len(at))]
    box = rng.integers(1, 9999, len(at)).astype(str)
    none_text = np.array([t.replace("{n}", b) for t, b in zip(template, box, strict=True)])
    text.iloc[at] = none_text
    zip_none = none_zips[rng.integers(0, len(none_zips), len(at))]
    zip_out[at] = np.where(rng.random(len(at)) < 0.6, zip_none, "")

    case = choose(rng, habits.case, n)
    log.form("address_case", case, np.ones(n, bool))
    text = text.str.replace(r"\s+", " ", regex=True).str.replace(r"\s+,", ",", regex=True)
    text = apply_case(text.str.strip(), case)
    city_s = apply_case(_text(city_out), case)
    # Initials stay capitals whatever the hand (LA, LB, RPV), as people write them.
    acronym = np.isin(city_out, ACRONYMS)
    city_s[acronym] = city_out[acronym]

    eligible = located.copy()
    at = np.nonzero(eligible & (heavy == "address_ocr"))[0]
    before = text.iloc[at].tolist()
    after = ocr_misread(before, rng)
    changed = np.array([a != b for a, b in zip(after, before, strict=True)], bool)
    text.iloc[at[changed]] = np.array(after, dtype=object)[changed]
    log.flag("address_ocr", np.isin(np.arange(n), at[changed]), eligible, habits.ocr)

    for flag, rate, fn in (
        ("address_double_space", habits.double_space, double_a_space),
        ("address_stray_punct", habits.stray_punct, stray_punctuation),
    ):
        sel = located & (rng.random(n) < rate)
        if sel.any():
            text[sel] = fn(text[sel], rng)
        log.flag(flag, sel, located, rate)
    return pd.DataFrame(
        {
            "residence_address": text.to_numpy(dtype=object),
            "city": city_s.to_numpy(dtype=object),
            "zip": zip_out.astype(object),
        },
        index=lines.index,
    )


def _direction(std: np.ndarray, form: np.ndarray) -> np.ndarray:
    out = std.astype(object).copy()
    for letter, forms in DIRECTION_FORMS.items():
        for key, written in forms.items():
            out[(std == letter) & (form == key)] = written
    out[form == "drop"] = ""
    return out
