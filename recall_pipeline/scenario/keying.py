"""Keying profiles: how the handwritten lines reach the keyed scan files, and the roll its file.

A profile is one keying operation's habits, declared as data: how its signers write their names
and addresses, how its keyers type them, how it delivers the scan batches, and with which
county's habits the voter roll it is checked against was written. `standard` is the generator's
original keying, reproduced byte for byte (the LA 2022 figures and many tests rest on it). The
other profiles model other hands:

- `hard` — a hurried keying vendor: everything in capitals, its own abbreviations (SO/NO, AV,
  BL, STR), units glued on (APT24), ZIP+4 without the hyphen, slipped digits and letters; the
  roll carries compound surnames and streets named PARK, AVENUE 50 or WEST;
- `hardest` — pages read by OCR and corrected by a second vendor, from signers who write as
  they speak: mixed case, full words and dots, neighbourhoods and shortened city names instead
  of the city, city and state inside the address field, no ZIP at all, nicknames and diminutives
  far beyond any table, accents added; one batch delivered as Parquet; the roll written by a
  county that uses postal city names, Title Case and middle initials.

Rules of fairness, which every profile keeps:

1. Keying never changes a line's truth. The truth is what the registrar decides from the
   handwritten original, and the original is the same under every profile: the same signers,
   addresses, dates and reasons (a test compares the truth of `standard` and `hard`). Noise is
   drawn from random streams of its own, after the lines are planned.
2. A valid signer's line stays recoverable by a careful human with the roll. Each line gets at
   most one heavy corruption (a name typo, a nickname, an initial for the first name, the middle
   name as the first, an OCR misreading, a slipped house number or street letter, the ZIP left
   off), so either the name or the address keeps its identity. Lighter habits (case, order,
   abbreviations, units, punctuation, compound-surname parts) combine freely.
3. Noise that would make a line point to someone else is not applied: an initial only when no
   other registered member of the household shares it, a middle name or nickname only when it
   cannot be read as another member's first name, two-letter typos only on the surname (first
   names within a household differ by four letters or more), a typo in an unregistered signer's
   name only when it does not spell another name of the pool. Names that are a line's only link
   to the roll (voters found by a unique full name) keep their identity: only format habits.
4. The ZIP is left off only when a city or community is written, so the line stays locatable;
   a written ZIP is always well-formed (a malformed one would be a data-entry error the contract
   quarantines, not a keying habit).
5. The roll stays a valid roll per the data contract: decorations change how a record is
   written (a second surname, a renamed street, a postal city name), never whom it identifies;
   a second surname is chosen so that no roll record or line carries it as a surname with the
   same first name.

Noise is applied with vectorized masks over whole columns; the few per-string edits (typos,
slips, OCR) run only on the rows a mask selected. Every habit a line received is logged
(`keying_log.parquet` beside the truth) with its configured rate, so tests can check how often
each one occurs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NameHabits:
    """How a printed name is written and keyed. Rates are per line where the habit can apply."""

    order: Mapping[str, float]  # natural | comma (LAST, FIRST) | last_first | comma_suffix
    case: Mapping[str, float]  # upper | title | lower
    middle: Mapping[str, float]  # full | initial | initial_dot | none
    suffix_written: float  # JR/SR/II... written when the voter has one
    suffix_dot: float  # "JR." rather than "JR"
    accent_written: float  # the accented spelling written where one exists
    # Heavy: at most one heavy habit per line (names and addresses together).
    nickname: float
    nickname_beyond_table: float  # share of nicknames taken from beyond the project's table
    typo1: float  # one substitution, deletion, transposition or doubled letter
    typo2: float  # two such slips, on the surname
    first_initial: float  # "J GARCIA"
    middle_as_first: float  # a voter who goes by the middle name
    ocr: float  # one OCR misreading in the surname (O/0, I/1, RN/M...)
    # Light.
    compound: Mapping[str, float]  # a roll compound surname: full | other_joiner | glued |
    #                                first_part | second_part
    compound_added: float  # a second surname the roll does not carry
    double_space: float
    stray_punct: float


@dataclass(frozen=True)
class AddressHabits:
    """How a residence address, city and ZIP are written and keyed."""

    direction: Mapping[str, float]  # std | dot | two (SO/NO) | two_dot | full | drop
    street_type: Mapping[str, float]  # std | local (AV, BL, STR...) | full | drop
    ordinal: Mapping[str, float]  # std (6TH) | word (SIXTH) | bare (6)
    fraction_kept: float  # the 1/2 of "1234 1/2"
    unit: Mapping[str, float]  # std | full | glued | hash | hash_space | comma_hash |
    #                           unit_word | drop
    unit_wrong: float  # another unit number (a wrong unit does not invalidate)
    zip: Mapping[str, float]  # zip5 | plus4 | plus4_nohyphen
    city: Mapping[str, float]  # official | blank | community | short | misspelled
    city_in_address: float  # "... LOS ANGELES CA 90012" inside the address field
    commas: float  # "1234 N Main St, Apt 5"
    double_space: float
    stray_punct: float
    case: Mapping[str, float]
    # Heavy.
    house_slip: float  # a transposed or mistyped digit in the house number
    street_slip: float  # one or two letters of the street name
    ocr: float  # one OCR misreading anywhere in the address
    zip_missing: float  # no ZIP: only the city (or community) tells where


@dataclass(frozen=True)
class FileHabits:
    """How the scan batches are delivered."""

    shuffle_columns: bool  # each batch with its own column order
    extra_columns: tuple[str, ...]  # columns outside the contract (kept and ignored)
    parquet_batches: int  # batches delivered as Parquet instead of CSV
    bom_batches: int  # CSV batches saved with a UTF-8 byte-order mark


@dataclass(frozen=True)
class RollHabits:
    """How the county that wrote the roll writes its records (and who lives in it)."""

    compound_surnames: float  # share of voters with a compound surname
    compound_hyphen: float  # of those without a particle: hyphenated rather than two words
    tricky_streets: float  # share of streets named with a suffix or direction word
    title_case_parts: tuple[int, ...]  # roll parts (0-based) written in Title Case
    community_as_city: float  # the postal community written as the city
    middle_initial: float  # middle names cut to their initial
    suffix_in_last_name: float  # JR/SR written inside last_name


@dataclass(frozen=True)
class KeyingProfile:
    name: str
    description: str
    # None everywhere: the generator's original keying (standard).
    names: NameHabits | None = None
    addresses: AddressHabits | None = None
    files: FileHabits | None = None
    roll: RollHabits | None = None

    @property
    def legacy(self) -> bool:
        return self.names is None


STANDARD = KeyingProfile(
    "standard",
    "the generator's original keying (its noise is fixed: the LA 2022 figures rest on it)",
)

HARD = KeyingProfile(
    "hard",
    "a hurried keying vendor: capitals, its own abbreviations, glued units, slipped digits",
    names=NameHabits(
        order={"natural": 0.6, "comma": 0.25, "last_first": 0.1, "comma_suffix": 0.05},
        case={"upper": 0.92, "title": 0.06, "lower": 0.02},
        middle={"full": 0.25, "initial": 0.35, "initial_dot": 0.05, "none": 0.35},
        suffix_written=0.45,
        suffix_dot=0.2,
        accent_written=0.0,
        nickname=0.07,
        nickname_beyond_table=0.6,
        typo1=0.06,
        typo2=0.02,
        first_initial=0.03,
        middle_as_first=0.02,
        ocr=0.0,
        compound={
            "full": 0.35,
            "other_joiner": 0.15,
            "glued": 0.05,
            "first_part": 0.4,
            "second_part": 0.05,
        },
        compound_added=0.02,
        double_space=0.05,
        stray_punct=0.03,
    ),
    addresses=AddressHabits(
        direction={
            "std": 0.4,
            "dot": 0.05,
            "two": 0.25,
            "two_dot": 0.05,
            "full": 0.1,
            "drop": 0.15,
        },
        street_type={"std": 0.45, "local": 0.3, "full": 0.05, "drop": 0.2},
        ordinal={"std": 0.75, "word": 0.1, "bare": 0.15},
        fraction_kept=0.6,
        unit={
            "std": 0.25,
            "full": 0.02,
            "glued": 0.3,
            "hash": 0.15,
            "hash_space": 0.05,
            "comma_hash": 0.05,
            "unit_word": 0.03,
            "drop": 0.15,
        },
        unit_wrong=0.03,
        zip={"zip5": 0.78, "plus4": 0.04, "plus4_nohyphen": 0.18},
        city={"official": 0.35, "blank": 0.4, "community": 0.12, "short": 0.1, "misspelled": 0.03},
        city_in_address=0.04,
        commas=0.1,
        double_space=0.12,
        stray_punct=0.05,
        case={"upper": 0.92, "title": 0.06, "lower": 0.02},
        house_slip=0.025,
        street_slip=0.025,
        ocr=0.0,
        zip_missing=0.04,
    ),
    files=FileHabits(
        shuffle_columns=True, extra_columns=("keyer_id",), parquet_batches=0, bom_batches=0
    ),
    roll=RollHabits(
        compound_surnames=0.06,
        compound_hyphen=0.6,
        tricky_streets=0.08,
        title_case_parts=(),
        community_as_city=0.0,
        middle_initial=0.0,
        suffix_in_last_name=0.0,
    ),
)

HARDEST = KeyingProfile(
    "hardest",
    "OCR corrected by a second vendor, signers writing as they speak, a roll from another county",
    names=NameHabits(
        order={"natural": 0.5, "comma": 0.3, "last_first": 0.12, "comma_suffix": 0.08},
        case={"upper": 0.45, "title": 0.45, "lower": 0.1},
        middle={"full": 0.3, "initial": 0.25, "initial_dot": 0.15, "none": 0.3},
        suffix_written=0.6,
        suffix_dot=0.5,
        accent_written=0.5,
        nickname=0.1,
        nickname_beyond_table=0.8,
        typo1=0.05,
        typo2=0.03,
        first_initial=0.04,
        middle_as_first=0.03,
        ocr=0.03,
        compound={
            "full": 0.25,
            "other_joiner": 0.15,
            "glued": 0.1,
            "first_part": 0.4,
            "second_part": 0.1,
        },
        compound_added=0.04,
        double_space=0.15,
        stray_punct=0.1,
    ),
    addresses=AddressHabits(
        direction={
            "std": 0.25,
            "dot": 0.1,
            "two": 0.15,
            "two_dot": 0.15,
            "full": 0.2,
            "drop": 0.15,
        },
        street_type={"std": 0.3, "local": 0.25, "full": 0.25, "drop": 0.2},
        ordinal={"std": 0.5, "word": 0.3, "bare": 0.2},
        fraction_kept=0.4,
        unit={
            "std": 0.2,
            "full": 0.1,
            "glued": 0.15,
            "hash": 0.1,
            "hash_space": 0.05,
            "comma_hash": 0.05,
            "unit_word": 0.1,
            "drop": 0.25,
        },
        unit_wrong=0.06,
        zip={"zip5": 0.8, "plus4": 0.1, "plus4_nohyphen": 0.1},
        city={"official": 0.25, "blank": 0.15, "community": 0.3, "short": 0.25, "misspelled": 0.05},
        city_in_address=0.12,
        commas=0.3,
        double_space=0.2,
        stray_punct=0.12,
        case={"upper": 0.4, "title": 0.5, "lower": 0.1},
        house_slip=0.03,
        street_slip=0.03,
        ocr=0.03,
        zip_missing=0.12,
    ),
    files=FileHabits(
        shuffle_columns=True,
        extra_columns=("keyer_id", "keyed_at", "ocr_confidence"),
        parquet_batches=1,
        bom_batches=1,
    ),
    roll=RollHabits(
        compound_surnames=0.1,
        compound_hyphen=0.4,
        tricky_streets=0.15,
        title_case_parts=(1,),
        community_as_city=0.5,
        middle_initial=0.3,
        suffix_in_last_name=0.3,
    ),
)

PROFILES: dict[str, KeyingProfile] = {p.name: p for p in (STANDARD, HARD, HARDEST)}


def profile(name: str) -> KeyingProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown keying profile {name!r}; known: {', '.join(PROFILES)}") from None


# --------------------------------------------------------------------------------------------
# Drawing and logging habits


def choose(rng: np.random.Generator, choices: Mapping[str, float], n: int) -> np.ndarray:
    """One key of `choices` per row (an object array), drawn by its probability."""
    keys = np.array(list(choices), dtype=object)
    p = np.array(list(choices.values()), dtype=np.float64)
    if abs(p.sum() - 1) > 1e-9:
        raise ValueError(f"probabilities of {sorted(choices)} sum to {p.sum()}, not 1")
    return keys[rng.choice(len(keys), size=n, p=p)]


@dataclass
class HabitLog:
    """Which habit each line received, and where it could have applied."""

    n: int
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    eligible: dict[str, np.ndarray] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    forms: dict[str, np.ndarray] = field(default_factory=dict)

    def flag(self, name: str, applied: np.ndarray, eligible: np.ndarray, rate: float) -> None:
        self.flags[name] = np.asarray(applied, bool)
        self.eligible[name] = np.asarray(eligible, bool)
        self.rates[name] = float(rate)

    def form(self, name: str, values: np.ndarray, where: np.ndarray) -> None:
        """A categorical habit: the form used, empty where the part is absent."""
        self.forms[name] = np.where(where, values, "").astype(object)

    def frame(self) -> pd.DataFrame:
        data = {f"{k}": v for k, v in self.forms.items()}
        data |= {k: v for k, v in self.flags.items()}
        return pd.DataFrame(data)

    def summary(self) -> dict:
        out = {}
        for name, applied in self.flags.items():
            eligible = self.eligible[name]
            k = int(eligible.sum())
            out[name] = {
                "rate": self.rates[name],
                "eligible": k,
                "applied": int(applied.sum()),
                "observed": round(float(applied.sum()) / k, 4) if k else None,
            }
        for name, values in self.forms.items():
            present = values[values != ""]
            counts = pd.Series(present).value_counts()
            out[name] = {str(k): int(v) for k, v in counts.items()}
        return out


def heavy_draw(
    rng: np.random.Generator, names: NameHabits, addresses: AddressHabits, n: int
) -> np.ndarray:
    """The one heavy habit a line may receive ("" for none), names and addresses together."""
    rates = heavy_rates(names, addresses)
    total = sum(rates.values())
    if total >= 1:
        raise ValueError(f"heavy habits add up to {total:.2f}: a line could get two")
    return choose(rng, rates | {"": 1 - total}, n)


def heavy_rates(names: NameHabits, addresses: AddressHabits) -> dict[str, float]:
    return {
        "nickname": names.nickname,
        "name_typo1": names.typo1,
        "name_typo2": names.typo2,
        "first_initial": names.first_initial,
        "middle_as_first": names.middle_as_first,
        "name_ocr": names.ocr,
        "house_slip": addresses.house_slip,
        "street_slip": addresses.street_slip,
        "address_ocr": addresses.ocr,
        "zip_missing": addresses.zip_missing,
    }
