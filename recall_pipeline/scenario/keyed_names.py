"""Printed names under a keying profile's name habits (see keying.py for the rules of fairness).

A line's name is built from its parts — given name, middle, surname (with the roll's compound
surname, if any) and suffix — each written in the form the habits draw, then put in order,
cased and punctuated. Identity-changing habits (nickname, typo, initial, middle name as the
first, OCR) are the line's one heavy habit, drawn beforehand for names and addresses together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recall_pipeline.scenario.keying import HabitLog, NameHabits, choose
from recall_pipeline.scenario.names import osa_distance, strip_accents
from recall_pipeline.scenario.noise import (
    apply_case,
    double_a_space,
    keyer_typo,
    ocr_misread,
    stray_punctuation,
)
from recall_pipeline.scenario.world import HYPHEN, NO_COMPOUND, PARTICLE, World
from recall_pipeline.scenario.written_forms import EXTRA_NICKNAMES

MAX_HOUSEHOLD = 6


class Nicknames:
    """Per pool first name: the project's nicknames and the ones beyond its table."""

    def __init__(self, pools) -> None:
        self.table = [[] for _ in range(len(pools.first))]
        for fid, (off, count) in enumerate(zip(pools.nick_offset, pools.nick_count, strict=True)):
            self.table[fid] = list(pools.nick_flat[off : off + count])
        index = {name: i for i, name in enumerate(pools.first)}
        self.beyond = [[] for _ in range(len(pools.first))]
        for given, nicks in EXTRA_NICKNAMES.items():
            if given in index:
                own = set(self.table[index[given]])
                self.beyond[index[given]] = [x for x in nicks if x not in own]
        self.has_table = np.array([bool(x) for x in self.table])
        self.has_beyond = np.array([bool(x) for x in self.beyond])

    def pick(self, first: np.ndarray, rng: np.random.Generator, beyond_share: float):
        """A nickname per row (object array, "" where the name has none) and whether it came
        from beyond the project's table."""
        u = rng.random((len(first), 2))
        out = np.full(len(first), "", dtype=object)
        beyond = np.zeros(len(first), bool)
        for i, (fid, (which_u, pick_u)) in enumerate(zip(first, u, strict=True)):
            table, extra = self.table[fid], self.beyond[fid]
            use_extra = bool(extra) and (which_u < beyond_share or not table)
            options = extra if use_extra else table
            if options:
                out[i] = options[int(pick_u * len(options))]
                beyond[i] = use_extra
        return out, beyond


def _household_others(roll, lines: pd.DataFrame):
    """For each line, the other registered members of the household at the written dwelling:
    a list of (member index array, present mask) per member slot."""
    voter = lines["voter"].to_numpy()
    dwelling = lines["dwelling"].to_numpy()
    at_home = (voter >= 0) & (dwelling >= 0) & (dwelling < roll.n_households)
    hh = np.where(at_home, dwelling, 0)
    start = roll.hh_start[hh]
    size = np.where(at_home, roll.hh_size[hh], 0)
    slots = []
    for j in range(MAX_HOUSEHOLD):
        member = np.minimum(start + j, roll.n - 1)
        present = (j < size) & (member != voter)
        slots.append((member, present))
    return slots


def key_names(
    lines: pd.DataFrame,
    roll,
    world: World,
    habits: NameHabits,
    heavy: np.ndarray,
    nicknames: Nicknames,
    rng: np.random.Generator,
    log: HabitLog,
) -> pd.Series:
    pools = roll.pools
    n = len(lines)
    first = lines["first"].to_numpy()
    last = lines["last"].to_numpy()
    middle = lines["middle"].to_numpy()
    voter = lines["voter"].to_numpy()
    registered = voter >= 0
    noisy = lines["noisy_name"].to_numpy(bool) & registered
    first_ascii = pools.first[first].astype(object)
    last_ascii = pools.last[last].astype(object)
    others = _household_others(roll, lines)

    # Accents: written where a spelling with accents exists, whatever the roll says.
    accent_u = rng.random((n, 2))
    can_f = pools.first_display[first] != pools.first[first]
    can_l = pools.last_display[last] != pools.last[last]
    acc_f = can_f & (accent_u[:, 0] < habits.accent_written)
    acc_l = can_l & (accent_u[:, 1] < habits.accent_written)
    log.flag("accent_first", acc_f, can_f, habits.accent_written)
    log.flag("accent_last", acc_l, can_l, habits.accent_written)
    given = np.where(acc_f, pools.first_display[first], first_ascii).astype(object)
    surname = np.where(acc_l, pools.last_display[last], last_ascii).astype(object)
    middle_name = np.where(middle >= 0, pools.first[np.maximum(middle, 0)], "").astype(object)
    # Set when the middle name replaces the first: the first's initial may lead ("J ROBERT").
    lead_tokens = np.full(n, "", dtype=object)

    # -- heavy habits --
    # Nickname.
    eligible = noisy & (nicknames.has_table[first] | nicknames.has_beyond[first])
    at = np.nonzero(eligible & (heavy == "nickname"))[0]
    nick, beyond = nicknames.pick(first[at], rng, habits.nickname_beyond_table)
    ok = nick != ""
    nick_ascii = strip_accents(pd.Series(nick, dtype="str")).to_numpy(dtype=object)
    for member, present in others:
        p = present[at]
        if p.any():
            other = pools.first[roll.first[member[at]]]
            close = osa_distance(np.where(p, nick_ascii, "").astype(str), other.astype(str)) <= 2
            ok &= ~(p & close)
    applied = np.zeros(n, bool)
    applied[at[ok]] = True
    given[at[ok]] = nick[ok]
    log.flag("nickname", applied, eligible, habits.nickname)
    beyond_flag = np.zeros(n, bool)
    beyond_flag[at[ok & beyond]] = True
    # The share is a choice only where the name has nicknames both in and beyond the table.
    both = applied & nicknames.has_table[first] & nicknames.has_beyond[first]
    log.flag("nickname_beyond_table", beyond_flag & both, both, habits.nickname_beyond_table)

    # One-letter typo: any name of 5+ letters, registered or not (an unregistered signer's
    # typo must not spell another pool name).
    flen = np.char.str_len(pools.first[first])
    llen = np.char.str_len(pools.last[last])
    eligible = (noisy | ~registered) & ((flen >= 5) | (llen >= 5))
    sel = eligible & (heavy == "name_typo1")
    on_first = sel & (flen >= 5) & ((llen < 5) | (rng.random(n) < 0.5))
    on_last = sel & ~on_first
    new_first = np.array(keyer_typo(first_ascii[on_first], rng), dtype=object)
    new_last = np.array(keyer_typo(last_ascii[on_last], rng), dtype=object)
    pool_names = set(pools.first) | set(pools.last)
    spelled_f = np.array([w in pool_names for w in new_first], bool) & ~registered[on_first]
    spelled_l = np.array([w in pool_names for w in new_last], bool) & ~registered[on_last]
    applied = np.zeros(n, bool)
    idx = np.nonzero(on_first)[0][~spelled_f]
    given[idx] = new_first[~spelled_f]
    applied[idx] = True
    idx = np.nonzero(on_last)[0][~spelled_l]
    surname[idx] = new_last[~spelled_l]
    applied[idx] = True
    log.flag("name_typo1", applied, eligible, habits.typo1)

    # Two slips, on the surname only: first names in a household differ by four or more.
    eligible = noisy & (llen >= 6)
    at = np.nonzero(eligible & (heavy == "name_typo2"))[0]
    surname[at] = keyer_typo(last_ascii[at], rng, edits=2)
    log.flag("name_typo2", np.isin(np.arange(n), at), eligible, habits.typo2)

    # First initial only, where no other member of the household shares it.
    initial = np.array([w[:1] for w in first_ascii], dtype=object)
    eligible = noisy.copy()
    for member, present in others:
        eligible &= ~(present & (pools.first[roll.first[member]].astype("U1") == initial))
    at = np.nonzero(eligible & (heavy == "first_initial"))[0]
    dot = rng.random(len(at)) < 0.4
    given[at] = np.where(dot, initial[at] + ".", initial[at])
    log.flag("first_initial", np.isin(np.arange(n), at), eligible, habits.first_initial)

    # The middle name as the first, when it cannot be read as another member's name.
    eligible = noisy & (middle >= 0) & (middle != first)
    for member, present in others:
        eligible &= ~(present & pools.conflicts.conflict(np.maximum(middle, 0), roll.first[member]))
    at = np.nonzero(eligible & (heavy == "middle_as_first"))[0]
    lead = rng.random(len(at)) < 0.4  # "J ROBERT SMITH" rather than "ROBERT SMITH"
    given[at] = middle_name[at]
    lead_tokens[at] = np.where(lead, initial[at], "")
    as_first = np.isin(np.arange(n), at)
    log.flag("middle_as_first", as_first, eligible, habits.middle_as_first)

    # OCR misreading in the surname.
    eligible = noisy.copy()
    at = np.nonzero(eligible & (heavy == "name_ocr"))[0]
    before = last_ascii[at]
    after = np.array(ocr_misread(before, rng), dtype=object)
    changed = after != before
    surname[at[changed]] = after[changed]
    applied = np.zeros(n, bool)
    applied[at[changed]] = True
    log.flag("name_ocr", applied, eligible, habits.ocr)

    # -- the surname's written form --
    kind = np.where(registered, world.compound_kind[np.maximum(voter, 0)], NO_COMPOUND)
    part = np.where(registered, world.compound_text[np.maximum(voter, 0)], "").astype(object)
    has = kind != NO_COMPOUND
    form = choose(rng, habits.compound, n)
    # A name that is the line's only link to the roll keeps the surname's first part.
    form = np.where(~noisy & (form == "second_part"), "first_part", form)
    log.form("compound_form", form, has)
    surname = _compound(surname, kind, part, form, has)

    # A second surname the roll does not carry, never one that the roll holds with this first
    # name (the signer would then read as that other voter).
    second = pools.draw_last(rng, n)
    for _ in range(4):
        taken = (roll.roll_count(first, second) > 0) | (second == last)
        if not taken.any():
            break
        second[taken] = pools.draw_last(rng, int(taken.sum()))
    eligible = ~has & ~taken
    at = np.nonzero(eligible & (rng.random(n) < habits.compound_added))[0]
    hyph = rng.random(len(at)) < 0.3
    surname[at] = surname[at] + np.where(hyph, "-", " ") + pools.last[second[at]]
    log.flag("compound_added", np.isin(np.arange(n), at), eligible, habits.compound_added)

    # -- middle and suffix --
    mform = choose(rng, habits.middle, n)
    mid_initial = np.array([w[:1] for w in middle_name], dtype=object)
    mid = np.select(
        [mform == "full", mform == "initial", mform == "initial_dot"],
        [middle_name, mid_initial, np.where(middle_name != "", mid_initial + ".", "")],
        default="",
    ).astype(object)
    log.form("middle_form", mform, (middle_name != "") & ~as_first)
    mid = np.where(as_first, "", mid).astype(object)
    suffix = lines["suffix"].to_numpy(dtype=object)
    has_suffix = suffix != ""
    written = has_suffix & (rng.random(n) < habits.suffix_written)
    dotted = written & (rng.random(n) < habits.suffix_dot)
    log.flag("suffix_written", written, has_suffix, habits.suffix_written)
    sx = np.where(written, np.where(dotted, suffix + ".", suffix), "").astype(object)

    # -- order, case, punctuation --
    order = choose(rng, habits.order, n)
    # LAST FIRST without a comma reads as a swap: only where the address also identifies.
    order = np.where(~noisy & (order == "last_first"), "natural", order)
    order = np.where((order == "comma_suffix") & (sx == ""), "comma", order)
    log.form("name_order", order, np.ones(n, bool))
    g, m, s, x, lt = (pd.Series(a, dtype="str") for a in (given, mid, surname, sx, lead_tokens))
    natural = lt + " " + g + " " + m + " " + s + " " + x
    comma = s + ", " + lt + " " + g + " " + m + " " + x
    comma_suffix = s + " " + x + ", " + lt + " " + g + " " + m
    last_first = s + " " + lt + " " + g + " " + m + " " + x
    text = natural.where(order == "natural", comma)
    text = text.where(order != "comma_suffix", comma_suffix)
    text = text.where(order != "last_first", last_first)
    text = text.str.replace(r"\s+", " ", regex=True).str.replace(r"\s+,", ",", regex=True)
    text = text.str.strip()

    case = choose(rng, habits.case, n)
    log.form("name_case", case, np.ones(n, bool))
    text = apply_case(text, case)
    for name, rate, fn in (
        ("name_double_space", habits.double_space, double_a_space),
        ("name_stray_punct", habits.stray_punct, stray_punctuation),
    ):
        sel = rng.random(n) < rate
        if sel.any():
            text[sel] = fn(text[sel], rng)
        log.flag(name, sel, np.ones(n, bool), rate)
    return text


def _compound(surname, kind, part, form, has):
    """The surname with its compound part, in the form drawn."""
    out = surname.copy()
    base = surname
    sep_full = np.where(kind == HYPHEN, "-", " ")
    sep_other = np.where(kind == HYPHEN, " ", "-")
    full = np.where(kind == PARTICLE, part + " " + base, base + sep_full + part)
    other = np.where(
        kind == PARTICLE,
        np.array([p.replace(" ", "") for p in part], dtype=object) + " " + base,
        base + sep_other + part,
    )
    glued = np.where(
        kind == PARTICLE,
        np.array([p.replace(" ", "") for p in part], dtype=object) + base,
        base + part,
    )
    second = np.where(kind == PARTICLE, base, part)
    choices = {
        "full": full,
        "other_joiner": other,
        "glued": glued,
        "first_part": base,
        "second_part": second,
    }
    for key, values in choices.items():
        at = has & (form == key)
        out[at] = values[at]
    return out
