"""What a harder profile changes about the county itself, and how its roll is written.

Two decorations of the world, drawn after every line is planned so that no line's truth moves:

- streets renamed with words a parser takes for a suffix or a direction (PARK AVE, AVENUE 50,
  WEST BLVD): a renamed street keeps its dwellings, and the dwelling key stays unique;
- compound surnames (DOMINGUEZ-RAMIREZ, GARCIA LOPEZ, DE LA CRUZ) for a share of voters: the
  scenario's name identity stays the pool surname, and the second surname is never one that a
  roll record or a line carries with the same first name, so "one part of the surname" can only
  ever point back to its owner.

`RollWriterHabits` then writes the roll the way another county would: the compound surnames,
suffixes inside the last name, middle initials, postal community names as the city, Title Case
parts. The roll stays valid per the data contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recall_pipeline.reference import read_reference
from recall_pipeline.scenario.names import ACCENTED
from recall_pipeline.scenario.noise import title_case
from recall_pipeline.scenario.written_forms import (
    NUMBERED_AVENUES,
    PARTICLES,
    TRICKY_STREETS_DIRECTION,
    TRICKY_STREETS_TYPED,
    TYPELESS_STREETS,
)

NO_COMPOUND, HYPHEN, SPACE, PARTICLE = 0, 1, 2, 3
_STREET_KEY = ["zip5", "street_predir", "street_name", "street_type", "street_postdir"]


@dataclass
class World:
    """Per-voter compound surnames (kind and the added part) and how many streets were renamed."""

    compound_kind: np.ndarray
    compound_text: np.ndarray
    renamed_streets: int


def decorate_world(roll, line_frames: list[pd.DataFrame], habits, rng: np.random.Generator):
    renamed = rename_streets(roll, habits.tricky_streets, rng)
    kind, text = compound_surnames(roll, line_frames, habits, rng)
    return World(kind, text, renamed)


def _reserved_words() -> set[str]:
    words = set(read_reference("street_suffixes.csv")["written"])
    words |= set(read_reference("directionals.csv")["written"])
    return words


def rename_streets(roll, share: float, rng: np.random.Generator) -> int:
    """Give a share of the streets a name with a suffix or direction word in it."""
    d = roll.dwellings
    codes, streets = pd.factorize(pd.MultiIndex.from_frame(d[_STREET_KEY]))
    streets = streets.to_frame(index=False)
    streets.columns = _STREET_KEY
    k = len(streets)
    name = streets["street_name"].to_numpy(dtype=object)
    ordinal = streets["street_name"].str.match(r"^\d+(ST|ND|RD|TH)$").to_numpy()
    chosen = (rng.random(k) < share) & ~ordinal
    family = rng.choice(4, size=k, p=[0.55, 0.15, 0.25, 0.05])
    no_dir = (streets["street_predir"] == "") & (streets["street_postdir"] == "")
    family = np.where((family == 1) & ~no_dir.to_numpy(), 0, family)
    pools = [
        np.array(TRICKY_STREETS_TYPED, dtype=object),
        np.array(TRICKY_STREETS_DIRECTION, dtype=object),
        np.array(NUMBERED_AVENUES, dtype=object),
        np.array(TYPELESS_STREETS, dtype=object),
    ]
    reserved = _reserved_words()
    for pool in pools:
        plain = [s for s in pool if not any(w in reserved for w in s.split())]
        if plain:
            raise AssertionError(f"street names without a reserved word: {plain}")
    u = rng.random(k)
    new_name = name.copy()
    new_type = streets["street_type"].to_numpy(dtype=object).copy()
    for f, pool in enumerate(pools):
        at = chosen & (family == f)
        new_name[at] = pool[(u[at] * len(pool)).astype(np.int64)]
        if f >= 2:
            new_type[at] = ""
    renamed = pd.DataFrame(
        {
            "zip5": streets["zip5"],
            "street_predir": streets["street_predir"],
            "street_name": new_name,
            "street_type": new_type,
            "street_postdir": streets["street_postdir"],
        }
    )
    # Two streets of a ZIP given the same new name would merge their dwellings: keep the first.
    clash = renamed.duplicated(_STREET_KEY, keep="first").to_numpy() & chosen
    new_name[clash] = name[clash]
    new_type[clash] = streets["street_type"].to_numpy(dtype=object)[clash]
    d = d.copy()
    d["street_name"] = pd.Series(new_name[codes], index=d.index, dtype="str")
    d["street_type"] = pd.Series(new_type[codes], index=d.index, dtype="str")
    roll.dwellings = d
    return int((chosen & ~clash).sum())


def compound_surnames(roll, line_frames, habits, rng: np.random.Generator):
    """A second surname (hyphenated or two words) or a particle for a share of voters."""
    pools = roll.pools
    n = roll.n
    kind = np.zeros(n, np.int8)
    text = np.full(n, "", dtype=object)
    chosen = np.nonzero(rng.random(n) < habits.compound_surnames)[0]
    if len(chosen) == 0:
        return kind, text
    particle_of = np.array([PARTICLES.get(w, "") for w in pools.last], dtype=object)
    particle = particle_of[roll.last[chosen]]
    use_particle = (particle != "") & (rng.random(len(chosen)) < 0.8)
    at = chosen[use_particle]
    kind[at] = PARTICLE
    text[at] = particle[use_particle]

    rest = chosen[~use_particle]
    taken = _taken_name_keys(roll, line_frames)
    second = pools.draw_last(rng, len(rest))
    for _ in range(6):
        keys = pools.full_key(roll.first[rest], second)
        bad = (
            (roll.roll_count(roll.first[rest], second) > 0)
            | np.isin(keys, taken)
            | (second == roll.last[rest])
        )
        if not bad.any():
            break
        second[bad] = pools.draw_last(rng, int(bad.sum()))
    keep = ~bad
    rest, second = rest[keep], second[keep]
    hyphen = rng.random(len(rest)) < habits.compound_hyphen
    kind[rest] = np.where(hyphen, HYPHEN, SPACE)
    text[rest] = pools.last[second]
    return kind, text


def _taken_name_keys(roll, line_frames) -> np.ndarray:
    keys = []
    for lines in line_frames:
        first = lines["first"].to_numpy()
        last = lines["last"].to_numpy()
        ok = (first >= 0) & (last >= 0)
        keys.append(roll.pools.full_key(first[ok], last[ok]))
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def written_surname(base: np.ndarray, kind: np.ndarray, text: np.ndarray, accent: np.ndarray):
    """The surname as the roll writes it: BASE-SECOND, BASE SECOND or PARTICLE BASE."""
    second = np.array([ACCENTED.get(t, t) if a else t for t, a in zip(text, accent, strict=True)])
    out = base.astype(object).copy()
    hy, sp, pa = kind == HYPHEN, kind == SPACE, kind == PARTICLE
    out[hy] = base[hy] + "-" + second[hy]
    out[sp] = base[sp] + " " + second[sp]
    out[pa] = text[pa] + " " + base[pa]
    return out


class RollWriterHabits:
    """Another county's way of writing the roll, applied to each part as it is written."""

    _TEXT = ("last_name", "first_name", "middle_name", "street_name", "street_type",
             "street_predir", "street_postdir", "unit_type", "city")  # fmt: skip

    def __init__(self, roll, world: World, habits, rng: np.random.Generator) -> None:
        self.roll = roll
        self.world = world
        self.habits = habits
        self.rng = rng
        la = roll.zips.set_index("zip5")["community"]
        self.community = la[~la.index.duplicated()]

    def apply(self, frame: pd.DataFrame, rows: np.ndarray, zip5: pd.Series, part: int):
        h, rng, w = self.habits, self.rng, self.world
        k = len(frame)
        kind = w.compound_kind[rows]
        has = kind != NO_COMPOUND
        if has.any():
            last = frame["last_name"].to_numpy(dtype=object)
            accent = self.roll.accent_last[rows]
            last[has] = written_surname(
                last[has], kind[has], w.compound_text[rows][has], accent[has]
            )
            frame["last_name"] = last
        suffix = frame["name_suffix"].to_numpy(dtype=object)
        inside = (suffix != "") & (rng.random(k) < h.suffix_in_last_name)
        if inside.any():
            frame.loc[inside, "last_name"] = frame.loc[inside, "last_name"] + " " + suffix[inside]
            frame.loc[inside, "name_suffix"] = ""
        initial = (frame["middle_name"] != "").to_numpy() & (rng.random(k) < h.middle_initial)
        if initial.any():
            frame.loc[initial, "middle_name"] = frame.loc[initial, "middle_name"].str.slice(0, 1)
        community = self.community.reindex(zip5.to_numpy()).fillna("").to_numpy(dtype=object)
        postal = (community != "") & (rng.random(k) < h.community_as_city)
        if postal.any():
            frame.loc[postal, "city"] = community[postal]
        if part in h.title_case_parts:
            for col in self._TEXT:
                frame[col] = title_case(frame[col].astype("str"))
        return frame
