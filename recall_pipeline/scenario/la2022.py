"""The LA County 2022 DA-recall scenario: a voter roll, a petition, and the truth about each line.

Every invalid line gets its reason the way it happens in life — a person who is not on the roll,
a voter who wrote the address they left last year, a section whose circulator never signed —
and never through a reason column. The truth is what a correct verifier following the
precedence of domain.md §3 must decide, and the data is built so that it is decidable:

- a registered signer writes their registered address (normalization-equal; unit free) or, if
  they moved, an address from their history; within a dwelling first names never conflict
  (equal, nickname-related or close in spelling), so one typo or a nickname still points to
  exactly one person;
- a voter found nowhere by address is identified only by a full name held by exactly one roll
  record; unregistered signers therefore carry names held by nobody or by two or more records,
  and the address-mismatch voters found that way are keyed without typos or nicknames;
- each voter belongs to one category only, except duplicate signers, whose earliest line is
  the valid one (earliest date, then section, page, line).

Dates are numpy day numbers (days since 1970-01-01) throughout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recall_pipeline.scenario import output as o
from recall_pipeline.scenario.calibration import Targets
from recall_pipeline.scenario.geography import LA_CODE, zip_table
from recall_pipeline.scenario.names import NamePools, strip_accents, typo
from recall_pipeline.scenario.streets import (
    PREDIRS,
    STREET_TYPES,
    AddressWriter,
    apply_case,
    make_dwellings,
    street_names,
    written_zip,
)


def day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


APPROVED = day("2022-01-27")
FILED = day("2022-07-06")
BASIS_DATE = day("2021-12-31")
NO_DATE = -1_000_000  # day numbers go negative before 1970, so "no date" needs a far sentinel
PERIOD_DAYS = FILED - APPROVED + 1

HOUSEHOLD_SIZES = np.arange(1, 7)
HOUSEHOLD_P = np.array([0.34, 0.31, 0.16, 0.11, 0.05, 0.03])
MAX_HOUSEHOLD = 6


def _split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Integer parts of `total` by shares; the last key takes the remainder."""
    keys = list(shares)
    out = {k: int(round(total * shares[k])) for k in keys[:-1]}
    out[keys[-1]] = total - sum(out.values())
    if out[keys[-1]] < 0:
        raise AssertionError(f"negative split of {total}: {out}")
    return out


def _sign_dates(
    rng: np.random.Generator, n: int, latest: int = FILED, earliest: int = APPROVED
) -> np.ndarray:
    """Dates within the circulation period, heavier towards the filing deadline."""
    span = latest - earliest + 1
    u = rng.random(n)
    u = np.where(rng.random(n) < 0.5, u, np.sqrt(u))
    return earliest + np.minimum((u * span).astype(np.int64), span - 1)


# --------------------------------------------------------------------------------------------
# The roll


class Roll:
    """Voters as arrays (one row each), their dwellings and their address history."""

    def __init__(self, targets: Targets, pools: NamePools, rng: np.random.Generator) -> None:
        self.pools = pools
        zips = zip_table()
        self.zips = zips
        la = zips[zips["jurisdiction_code"] == LA_CODE]
        self.la_zips = la["zip5"].to_numpy()
        n = targets.active + targets.inactive + targets.cancelled
        self.n = n

        sizes = rng.choice(HOUSEHOLD_SIZES, size=n // 2 + 16, p=HOUSEHOLD_P)
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, n)) + 1
        sizes = sizes[:k]
        sizes[-1] -= ends[k - 1] - n
        self.n_households = k
        # Current dwellings, then history-only and vacant dwellings (never anyone's current
        # address, and each used once), so that an address never points to two candidates.
        n_history = int(n * 0.12) + 64
        n_vacant = int(targets.raw_count * 0.2) + 64
        dw = make_dwellings(rng, self.la_zips, k + n_history + n_vacant)
        zip_city = la.set_index("zip5")
        dw["city"] = zip_city.loc[dw["zip5"], "city"].to_numpy()
        dw["community"] = zip_city.loc[dw["zip5"], "community"].to_numpy()
        self.dwellings = dw
        self.history_pool = np.arange(k, k + n_history)
        self.vacant_pool = np.arange(k + n_history, k + n_history + n_vacant)
        self.history_used = 0
        self.vacant_used = 0

        self.household = np.repeat(np.arange(k), sizes)
        self.hh_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.hh_size = sizes
        self.rank = np.arange(n) - self.hh_start[self.household]

        status = np.array(
            ["ACTIVE"] * targets.active
            + ["INACTIVE"] * targets.inactive
            + ["CANCELLED"] * targets.cancelled
        )
        self.status = status[rng.permutation(n)]
        self._names(rng)
        self._dates(rng)
        self.history = pd.DataFrame(columns=["voter", "dwelling", "valid_from", "valid_to"])

    def _names(self, rng: np.random.Generator) -> None:
        p, n = self.pools, self.n
        family = rng.random(self.n_households) < 0.72
        hh_last = p.draw_last(rng, self.n_households)
        own_last = p.draw_last(rng, n)
        self.last = np.where(family[self.household], hh_last[self.household], own_last)
        first = p.draw_first(rng, n)
        for _ in range(200):
            bad = self.household_conflicts(first)
            if not bad.any():
                break
            first[bad] = p.draw_first(rng, int(bad.sum()))
        else:
            raise RuntimeError("could not give households distinguishable first names")
        self.first = first
        self.middle = np.where(rng.random(n) < 0.65, p.draw_first(rng, n), -1)
        suffix = np.array(["", "JR", "SR", "II", "III"])
        self.suffix = suffix[rng.choice(5, n, p=[0.958, 0.025, 0.008, 0.004, 0.005])]
        self.accent_first = rng.random(n) < 0.35
        self.accent_last = rng.random(n) < 0.35
        keys = p.full_key(self.first, self.last)
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        self.name_keys = uniq
        self.name_counts = counts
        self.name_count = counts[inverse]

    def household_conflicts(self, first: np.ndarray) -> np.ndarray:
        """Voters whose first name conflicts with an earlier member of their household."""
        bad = np.zeros(self.n, bool)
        conflicts = self.pools.conflicts
        for gap in range(1, MAX_HOUSEHOLD):
            later = np.arange(gap, self.n)
            earlier = later - gap
            same = self.household[later] == self.household[earlier]
            idx_l, idx_e = later[same], earlier[same]
            hit = conflicts.conflict(first[idx_e], first[idx_l])
            bad[idx_l[hit]] = True
        return bad

    def roll_count(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """How many roll records hold each normalized full name."""
        keys = self.pools.full_key(first, last)
        pos = np.minimum(np.searchsorted(self.name_keys, keys), len(self.name_keys) - 1)
        return np.where(self.name_keys[pos] == keys, self.name_counts[pos], 0)

    def _dates(self, rng: np.random.Generator) -> None:
        n = self.n
        birth = day("1925-01-01") + rng.integers(0, day("2003-12-31") - day("1925-01-01"), n)
        adult = birth + 6575  # 18 years, near enough
        self.birth = birth
        self.birth_blank = rng.random(n) < 0.03
        self.registration = adult + (rng.random(n) * (BASIS_DATE - adult)).astype(np.int64)
        self.status_reason = np.full(n, "", dtype=object)
        self.status_date = np.full(n, NO_DATE, dtype=np.int64)
        cancelled = self.status == "CANCELLED"
        reasons = np.array(["DECEASED", "MOVED", "DUPLICATE_RECORD", "VOTER_REQUEST"])
        c = int(cancelled.sum())
        self.status_reason[cancelled] = reasons[rng.choice(4, c, p=[0.4, 0.35, 0.1, 0.15])]
        lo = np.maximum(self.registration[cancelled] + 30, day("2012-01-01"))
        hi = day("2022-11-30")
        self.status_date[cancelled] = lo + (rng.random(c) * np.maximum(hi - lo, 1)).astype(np.int64)
        inactive = self.status == "INACTIVE"
        self.status_reason[inactive] = "RETURNED_MAIL"
        m = int(inactive.sum())
        self.status_date[inactive] = day("2018-01-01") + rng.integers(0, 1400, m)

    def take_history_dwellings(self, k: int) -> np.ndarray:
        out = self.history_pool[self.history_used : self.history_used + k]
        if len(out) < k:
            raise RuntimeError("history dwelling pool exhausted")
        self.history_used += k
        return out

    def take_vacant_dwellings(self, k: int) -> np.ndarray:
        out = self.vacant_pool[self.vacant_used : self.vacant_used + k]
        if len(out) < k:
            raise RuntimeError("vacant dwelling pool exhausted")
        self.vacant_used += k
        return out

    def add_history(self, voters, valid_from, valid_to) -> np.ndarray:
        dwellings = self.take_history_dwellings(len(voters))
        rows = pd.DataFrame(
            {"voter": voters, "dwelling": dwellings, "valid_from": valid_from, "valid_to": valid_to}
        )
        self.history = rows if self.history.empty else pd.concat([self.history, rows])
        self.history = self.history.reset_index(drop=True)
        return dwellings

    def general_movers(self, rng: np.random.Generator, exclude: np.ndarray) -> None:
        """Earlier residences for about 9 % of voters (some with two)."""
        candidates = np.setdiff1d(np.arange(self.n), exclude)
        room = len(self.history_pool) - self.history_used
        k = min(int(self.n * 0.09), room - room // 10)
        movers = rng.choice(candidates, size=k, replace=False)
        moved_in = np.minimum(
            self.registration[movers] + rng.integers(200, 6000, k), BASIS_DATE - 30
        )
        start = moved_in - rng.integers(365, 4000, k)
        self.add_history(movers, start, moved_in - 1)
        cap = room // 10
        twice = rng.random(k) < 0.1
        earlier_end = start[twice][:cap] - 1
        self.add_history(
            movers[twice][:cap],
            earlier_end - rng.integers(365, 3000, len(earlier_end)),
            earlier_end,
        )


# --------------------------------------------------------------------------------------------
# Who signs what


LINE_COLUMNS = {
    "reason": "",
    "case": "",
    "voter": -1,
    "first": -1,
    "last": -1,
    "middle": -1,
    "suffix": "",
    "accent_first": False,
    "accent_last": False,
    "noisy_name": True,
    "addr_kind": "dwelling",
    "dwelling": -1,
    "date": NO_DATE,
    "signature": True,
    "section_kind": "good",
    "review": "",
    "dup_group": -1,
    "withdrawn_on": NO_DATE,
}


def _part(n: int, **cols) -> pd.DataFrame:
    data = {}
    for name, default in LINE_COLUMNS.items():
        value = cols.pop(name, default)
        data[name] = np.full(n, value) if np.isscalar(value) else np.asarray(value)
    if cols:
        raise TypeError(f"unknown line columns {sorted(cols)}")
    return pd.DataFrame(data)


class Signers:
    """Draws the people behind the lines: roll voters (each used once) and unregistered people."""

    def __init__(self, roll: Roll, rng: np.random.Generator) -> None:
        self.roll = roll
        self.rng = rng
        registered = np.nonzero(roll.status != "CANCELLED")[0]
        self.pool = rng.permutation(registered)
        self.used = 0
        self.cancelled = rng.permutation(np.nonzero(roll.status == "CANCELLED")[0])
        self.cancelled_used = 0
        self.taken = np.zeros(roll.n, bool)

    def voters(self, k: int, unique_name: bool = False) -> np.ndarray:
        if unique_name:
            pool = self.pool[self.used :]
            ok = (self.roll.name_count[pool] == 1) & ~self.taken[pool]
            out = pool[ok][:k]
        else:
            out = []
            while len(out) < k:
                chunk = self.pool[self.used : self.used + (k - len(out))]
                if len(chunk) == 0:
                    raise RuntimeError("roll too small for the signers asked for")
                self.used += len(chunk)
                out = np.concatenate([out, chunk[~self.taken[chunk]]]).astype(np.int64)
        if len(out) < k:
            raise RuntimeError("not enough voters with a unique full name")
        self.taken[out] = True
        return np.asarray(out, dtype=np.int64)

    @classmethod
    def drawing_from(cls, roll: Roll, rng, pool, cancelled, taken) -> Signers:
        """Signers drawn from given pools, sharing `taken` with other draws (another petition)."""
        s = cls.__new__(cls)
        s.roll, s.rng = roll, rng
        s.pool, s.used = pool, 0
        s.cancelled, s.cancelled_used = cancelled, 0
        s.taken = taken
        return s

    def cancelled_voters(self, k: int) -> np.ndarray:
        out = self.cancelled[self.cancelled_used : self.cancelled_used + k]
        if len(out) < k:
            raise RuntimeError("not enough cancelled records")
        self.cancelled_used += k
        self.taken[out] = True
        return out

    def roll_part(self, voters: np.ndarray, **cols) -> pd.DataFrame:
        r = self.roll
        cols.setdefault("dwelling", r.household[voters])
        return _part(
            len(voters),
            voter=voters,
            first=r.first[voters],
            last=r.last[voters],
            middle=r.middle[voters],
            suffix=r.suffix[voters],
            accent_first=r.accent_first[voters],
            accent_last=r.accent_last[voters],
            **cols,
        )

    def absent_names(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Names held by no roll record or by two or more — never by exactly one."""
        p, rng = self.roll.pools, self.rng
        first = p.draw_first(rng, k)
        last = p.draw_last(rng, k)
        for _ in range(100):
            bad = self.roll.roll_count(first, last) == 1
            if not bad.any():
                return first, last
            first[bad] = p.draw_first(rng, int(bad.sum()))
            last[bad] = p.draw_last(rng, int(bad.sum()))
        raise RuntimeError("could not draw unregistered names")

    def shared_names(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Names of people registered elsewhere under a name two or more records hold."""
        common = np.nonzero(self.roll.name_count >= 2)[0]
        if len(common) == 0:
            return self.absent_names(k)
        pick = common[self.rng.integers(0, len(common), k)]
        return self.roll.first[pick], self.roll.last[pick]

    def unregistered_part(self, k: int, names=None, **cols) -> pd.DataFrame:
        rng = self.rng
        first, last = names if names is not None else self.absent_names(k)
        middle = np.where(rng.random(k) < 0.5, self.roll.pools.draw_first(rng, k), -1)
        if "dwelling" not in cols and cols.get("addr_kind", "dwelling") == "dwelling":
            cols["dwelling"] = self.roll.take_vacant_dwellings(k)
        return _part(
            k,
            first=first,
            last=last,
            middle=middle,
            accent_first=rng.random(k) < 0.3,
            accent_last=rng.random(k) < 0.3,
            noisy_name=False,
            **cols,
        )

    def family_members(self, k: int, within=None, **cols) -> pd.DataFrame:
        """Unregistered people living at a registered address, with the household's last name
        (at any household, or at one of `within`)."""
        r, rng = self.roll, self.rng
        if within is None:
            households = rng.choice(r.n_households, size=min(k, r.n_households), replace=False)
        else:
            households = rng.choice(within, size=min(k, len(within)), replace=False)
        households = np.resize(households, k)
        head = r.hh_start[households]
        last = r.last[head]
        first = r.pools.draw_first(rng, k)
        for _ in range(300):
            bad = r.roll_count(first, last) == 1
            for member in range(MAX_HOUSEHOLD):
                inside = member < r.hh_size[households]
                voter = np.where(inside, head + member, 0)
                bad |= inside & r.pools.conflicts.conflict(first, r.first[voter])
            if not bad.any():
                break
            first[bad] = r.pools.draw_first(rng, int(bad.sum()))
        else:
            raise RuntimeError("could not name unregistered family members")
        middle = np.where(rng.random(k) < 0.5, r.pools.draw_first(rng, k), -1)
        return _part(
            k, first=first, last=last, middle=middle, noisy_name=False, dwelling=households, **cols
        )


def _plan_lines(
    targets: Targets, roll: Roll, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every line's signer, address source, date and flags; plus withdrawers who never signed."""
    t = targets.lines
    s = Signers(roll, rng)
    parts: list[pd.DataFrame] = []
    scale = targets.scale

    # Duplicates: a few voters sign three times, most twice; the earliest line is VALID.
    n_dup = t["DUPLICATE"]
    triple = n_dup // 12
    double = n_dup - 2 * triple
    dup_voters = s.voters(double + triple)
    copies = np.where(np.arange(len(dup_voters)) < triple, 3, 2)
    dv = np.repeat(dup_voters, copies)
    parts.append(
        s.roll_part(
            dv, reason="DUP_GROUP", case="duplicate", dup_group=dv, date=_sign_dates(rng, len(dv))
        )
    )

    valid_left = t["VALID"] - len(dup_voters)
    hard = {}
    for case, base in (
        ("moved_during_circulation", 300),
        ("cancelled_after_signing", 250),
        ("registered_after_signing", 300),
        ("blank_date", 120),
    ):
        hard[case] = min(int(round(base * scale)), max(valid_left, 0))
        valid_left -= hard[case]
    if valid_left < 0:
        raise AssertionError("VALID target smaller than the duplicate signers")

    v = s.voters(hard["moved_during_circulation"])
    signed = _sign_dates(rng, len(v), FILED - 1)
    until = signed + (rng.random(len(v)) * (FILED - signed)).astype(np.int64)
    dw = roll.add_history(v, signed - rng.integers(100, 3000, len(v)), until)
    parts.append(
        s.roll_part(v, reason="VALID", case="moved_during_circulation", dwelling=dw, date=signed)
    )

    v = s.cancelled_voters(hard["cancelled_after_signing"])
    signed = _sign_dates(rng, len(v))
    roll.status_date[v] = signed + rng.integers(1, 120, len(v))
    roll.status_reason[v] = "DECEASED"
    parts.append(s.roll_part(v, reason="VALID", case="cancelled_after_signing", date=signed))

    v = s.voters(hard["registered_after_signing"])
    signed = _sign_dates(rng, len(v), FILED - 1)
    roll.registration[v] = signed + 1 + (rng.random(len(v)) * (FILED - signed)).astype(np.int64)
    parts.append(s.roll_part(v, reason="VALID", case="registered_after_signing", date=signed))

    v = s.voters(hard["blank_date"])
    parts.append(s.roll_part(v, reason="VALID", case="blank_date", date=NO_DATE))

    v = s.voters(valid_left)
    parts.append(s.roll_part(v, reason="VALID", case="plain", date=_sign_dates(rng, len(v))))

    # Registered at another address.
    am = _split(t["ADDRESS_MISMATCH"], {"history": 0.7, "other": 0.3})
    v = s.voters(am["history"])
    left_on = APPROVED - rng.integers(1, 1500, len(v))
    dw = roll.add_history(v, left_on - rng.integers(200, 4000, len(v)), left_on)
    parts.append(
        s.roll_part(
            v,
            reason="ADDRESS_MISMATCH",
            case="old_address",
            dwelling=dw,
            date=_sign_dates(rng, len(v)),
        )
    )
    v = s.voters(am["other"], unique_name=True)
    parts.append(
        s.roll_part(
            v,
            reason="ADDRESS_MISMATCH",
            case="unique_name_elsewhere",
            dwelling=roll.take_vacant_dwellings(len(v)),
            noisy_name=False,
            date=_sign_dates(rng, len(v)),
        )
    )

    v = s.voters(t["SIGNATURE_MISMATCH"])
    parts.append(
        s.roll_part(
            v,
            reason="SIGNATURE_MISMATCH",
            case="examiner_no_match",
            review="NO_MATCH",
            date=_sign_dates(rng, len(v)),
        )
    )

    v = s.cancelled_voters(t["CANCELLED"])
    signed = _sign_dates(rng, len(v))
    back = rng.integers(1, 900, len(v))
    roll.status_date[v] = np.maximum(roll.registration[v] + 1, signed - back)
    parts.append(s.roll_part(v, reason="CANCELLED", case="cancelled_before_signing", date=signed))

    v = s.voters(t["REGISTERED_LATE"])
    roll.registration[v] = FILED + rng.integers(1, 120, len(v))
    parts.append(
        s.roll_part(
            v,
            reason="REGISTERED_LATE",
            case="registered_after_filing",
            date=_sign_dates(rng, len(v)),
        )
    )

    v = s.voters(t["WITHDRAWN"])
    signed = _sign_dates(rng, len(v), FILED - 2)
    received = signed + 1 + (rng.random(len(v)) * (FILED - 1 - signed)).astype(np.int64)
    parts.append(
        s.roll_part(
            v, reason="WITHDRAWN", case="withdrawal_on_file", date=signed, withdrawn_on=received
        )
    )

    v = s.voters(t["SIGNED_OUTSIDE_PERIOD"])
    u = rng.random(len(v))
    outside = np.where(
        u < 0.45,
        APPROVED - rng.integers(1, 120, len(v)),
        np.where(u < 0.8, FILED + rng.integers(1, 45, len(v)), _sign_dates(rng, len(v)) - 365),
    )
    parts.append(s.roll_part(v, reason="SIGNED_OUTSIDE_PERIOD", case="dated_outside", date=outside))

    def mixed(reason: str, total: int, roll_share: float, **cols) -> None:
        split = _split(total, {"roll": roll_share, "unregistered": 1 - roll_share})
        voters = s.voters(split["roll"])
        n_un = split["unregistered"]
        parts.append(
            s.roll_part(
                voters,
                reason=reason,
                case="registered_signer",
                date=_sign_dates(rng, len(voters)),
                **cols,
            )
        )
        parts.append(
            s.unregistered_part(
                n_un, reason=reason, case="unregistered_signer", date=_sign_dates(rng, n_un), **cols
            )
        )

    mixed("OUT_OF_JURISDICTION", t["OUT_OF_JURISDICTION"], 0.6, addr_kind="ooj")
    mixed("NO_RESIDENCE_ADDRESS", t["NO_RESIDENCE_ADDRESS"], 0.6, addr_kind="none")
    mixed("NO_SIGNATURE", t["NO_SIGNATURE"], 0.7, signature=False)

    nr = _split(t["NOT_REGISTERED"], {"absent": 0.5, "shared": 0.25, "family": 0.25})
    parts.append(
        s.unregistered_part(
            nr["absent"],
            reason="NOT_REGISTERED",
            case="new_person",
            date=_sign_dates(rng, nr["absent"]),
        )
    )
    parts.append(
        s.unregistered_part(
            nr["shared"],
            names=s.shared_names(nr["shared"]),
            reason="NOT_REGISTERED",
            case="common_name_elsewhere",
            date=_sign_dates(rng, nr["shared"]),
        )
    )
    parts.append(
        s.family_members(
            nr["family"],
            reason="NOT_REGISTERED",
            case="family_member_unregistered",
            date=_sign_dates(rng, nr["family"]),
        )
    )

    # Whole sections: the lines inside can be anyone; a few carry another defect too.
    for reason, kind in (("SECTION_NOT_FILED", "snf"), ("CIRCULATOR_DECLARATION_DEFECT", "cdd")):
        split = _split(t[reason], {"roll": 0.85, "unregistered": 0.15})
        voters = s.voters(split["roll"])
        no_sig = rng.random(len(voters)) < 0.08
        parts.append(
            s.roll_part(
                voters,
                reason=reason,
                case="section_defect",
                section_kind=kind,
                signature=~no_sig,
                date=_sign_dates(rng, len(voters)),
            )
        )
        parts.append(
            s.unregistered_part(
                split["unregistered"],
                reason=reason,
                case="section_defect",
                section_kind=kind,
                date=_sign_dates(rng, split["unregistered"]),
            )
        )

    lines = pd.concat(parts, ignore_index=True)
    never_signed = s.voters(max(2, int(round(60 * scale))))
    roll.general_movers(rng, exclude=np.nonzero(s.taken)[0])
    return lines, never_signed


# --------------------------------------------------------------------------------------------
# Sections, pages and batches


def _section_sizes(rng: np.random.Generator, total: int, lo: int, hi: int) -> np.ndarray:
    if total == 0:
        return np.zeros(0, np.int64)
    hi = max(lo, hi)
    draws = rng.integers(lo, hi + 1, total // lo + 2)
    ends = np.cumsum(draws)
    k = int(np.searchsorted(ends, total)) + 1
    sizes = draws[:k].copy()
    sizes[-1] -= ends[k - 1] - total
    return sizes


def _place(lines: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put lines into sections (~10 lines a page) and sections into an order; returns both."""
    sections = []
    for kind in ("good", "snf", "cdd"):
        count = int((lines["section_kind"] == kind).sum())
        hi = min(80, max(1, count // 4)) if kind == "good" else 60
        sizes = _section_sizes(rng, count, min(4, hi), hi)
        sections.append(pd.DataFrame({"kind": kind, "size": sizes}))
    sec = pd.concat(sections, ignore_index=True)
    sec = sec.iloc[rng.permutation(len(sec))].reset_index(drop=True)
    sec["section_no"] = np.arange(len(sec))
    sec["section_id"] = "S" + pd.Series(np.arange(1, len(sec) + 1)).astype(str).str.zfill(6)

    placed = []
    for kind in ("good", "snf", "cdd"):
        rows = lines.index[lines["section_kind"] == kind].to_numpy()
        rows = rows[rng.permutation(len(rows))]
        these = sec[sec["kind"] == kind]
        sec_no = np.repeat(these["section_no"].to_numpy(), these["size"].to_numpy())
        starts = np.repeat(
            np.cumsum(these["size"].to_numpy()) - these["size"].to_numpy(), these["size"].to_numpy()
        )
        slot = np.arange(len(rows)) - starts
        placed.append(pd.DataFrame({"row": rows, "section_no": sec_no, "slot": slot}))
    pos = pd.concat(placed).set_index("row").sort_index()
    lines = lines.join(pos)
    lines["page"] = lines["slot"] // 10 + 1
    lines["line"] = lines["slot"] % 10 + 1
    return lines, sec


def _settle_duplicates(lines: pd.DataFrame) -> pd.DataFrame:
    """A duplicate signer's earliest line (date, then position) is VALID, the rest DUPLICATE."""
    group = lines["dup_group"].to_numpy() >= 0
    idx = np.nonzero(group)[0]
    owner = lines["dup_group"].to_numpy()[idx]
    position = lines["section_no"].to_numpy()[idx] * 10_000 + lines["slot"].to_numpy()[idx]
    by_position = idx[np.lexsort((position, owner))]
    dates = lines["date"].to_numpy()[idx]
    dates_sorted = dates[np.lexsort((dates, owner))]
    first = np.r_[
        True, owner[np.lexsort((position, owner))][1:] != owner[np.lexsort((position, owner))][:-1]
    ]
    date = lines["date"].to_numpy().copy()
    date[by_position] = dates_sorted
    reason = lines["reason"].to_numpy().copy()
    case = lines["case"].to_numpy().copy()
    reason[by_position] = np.where(first, "VALID", "DUPLICATE")
    case[by_position] = np.where(first, "duplicate_signer_first_line", "repeat_signature")
    return lines.assign(date=date, reason=reason, case=case)


def _batches(sec: pd.DataFrame, total: int) -> np.ndarray:
    """Batch number per section: runs of whole sections of roughly equal line counts."""
    n_batches = min(max(3, int(round(total / 20_000))), len(sec))
    starts = np.cumsum(sec["size"].to_numpy()) - sec["size"].to_numpy()
    batch = starts * n_batches // max(total, 1) + 1
    if len(np.unique(batch)) < n_batches:  # a few huge sections: split by section count
        batch = np.arange(len(sec)) * n_batches // len(sec) + 1
    return batch.astype(np.int64)


# --------------------------------------------------------------------------------------------
# How the lines read on paper


def _text(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def render_names(lines: pd.DataFrame, pools: NamePools, rng: np.random.Generator) -> pd.Series:
    n = len(lines)
    first = lines["first"].to_numpy()
    last = lines["last"].to_numpy()
    middle = lines["middle"].to_numpy()
    noisy = lines["noisy_name"].to_numpy(bool)
    first_ascii = pools.first[first]
    last_ascii = pools.last[last]
    first_out = np.where(lines["accent_first"], pools.first_display[first], first_ascii)
    last_out = np.where(lines["accent_last"], pools.last_display[last], last_ascii)
    first_out = first_out.astype(object)
    last_out = last_out.astype(object)

    u = rng.random(n)
    count = pools.nick_count[first]
    nick = noisy & (u < 0.07) & (count > 0)
    pick = pools.nick_offset[first] + (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
    pick = np.minimum(pick, len(pools.nick_flat) - 1)
    first_out[nick] = pools.nick_flat[pick[nick]]
    # One typo, in the first or the last name, only on names of 5+ letters; never with a nickname.
    wants_typo = noisy & (u >= 0.07) & (u < 0.13)
    flen = np.char.str_len(first_ascii)
    llen = np.char.str_len(last_ascii)
    coin = rng.random(n) < 0.5
    on_first = wants_typo & (flen >= 5) & ((llen < 5) | coin)
    on_last = wants_typo & (llen >= 5) & ~on_first
    first_out[on_first] = typo(_text(first_ascii[on_first]), rng).to_numpy(dtype=object)
    last_out[on_last] = typo(_text(last_ascii[on_last]), rng).to_numpy(dtype=object)

    middle_name = np.where(middle >= 0, pools.first[np.maximum(middle, 0)], "")
    mode = rng.choice(4, n, p=[0.3, 0.25, 0.15, 0.3])
    initial = _text(middle_name).str.slice(0, 1).to_numpy(dtype=object)
    mid = np.select(
        [mode == 0, mode == 1, mode == 2],
        [middle_name, initial, np.where(middle_name != "", initial + ".", "")],
        default="",
    )
    suffix = np.where(rng.random(n) < 0.5, lines["suffix"].to_numpy(dtype=object), "")
    f, m, la, sx = _text(first_out), _text(mid), _text(last_out), _text(suffix)
    order = rng.choice(3, n, p=[0.7, 0.25, 0.05])
    natural = f + " " + m + " " + la + " " + sx
    comma = la + ", " + f + " " + m
    comma_suffix = la + " " + sx + ", " + f + " " + m
    text = natural.where(order == 0, comma.where(order == 1, comma_suffix))
    text = text.str.replace(r"\s+", " ", regex=True).str.replace(r"\s+,", ",", regex=True)
    text = text.str.strip()
    drop = rng.random(n) < 0.5
    text = text.where(~drop, strip_accents(text))
    return apply_case(text, rng, (0.5, 0.35, 0.15))


_NO_ADDRESS = np.array(
    ["", "", "PO BOX {n}", "P.O. Box {n}", "SAME", "N/A", "HOMELESS", "NONE", "SEE ABOVE"]
)


def render_addresses(
    lines: pd.DataFrame, roll: Roll, writer: AddressWriter, rng: np.random.Generator
) -> pd.DataFrame:
    """residence_address, city and zip as written on each line."""
    out = pd.DataFrame(
        {"residence_address": "", "city": "", "zip": ""}, index=lines.index, dtype="str"
    )
    kind = lines["addr_kind"].to_numpy()

    at = np.nonzero(kind == "dwelling")[0]
    d = roll.dwellings.iloc[lines["dwelling"].to_numpy()[at]].reset_index(drop=True)
    d.index = lines.index[at]
    out.loc[d.index, "residence_address"] = writer.signer_address(d, rng)
    out.loc[d.index, "city"] = _written_city(d["city"], d["community"], rng)
    out.loc[d.index, "zip"] = written_zip(d["zip5"], rng, 0.25)

    at = np.nonzero(kind == "ooj")[0]
    zips = roll.zips[roll.zips["jurisdiction_code"] != LA_CODE].reset_index(drop=True)
    pick = zips.iloc[rng.integers(0, len(zips), len(at))].reset_index(drop=True)
    names = street_names()
    k = len(at)
    far = pd.DataFrame(
        {
            "house_number": rng.integers(100, 20000, k),
            "fraction": "",
            "street_predir": np.where(rng.random(k) < 0.3, PREDIRS[rng.integers(0, 4, k)], ""),
            "street_name": names[rng.integers(0, len(names), k)],
            "street_type": STREET_TYPES[rng.integers(0, 6, k)],
            "street_postdir": "",
            "unit_type": "",
            "unit_number": "",
        },
        index=lines.index[at],
    ).astype(
        {
            c: "str"
            for c in (
                "fraction",
                "street_predir",
                "street_name",
                "street_type",
                "street_postdir",
                "unit_type",
                "unit_number",
            )
        }
    )
    out.loc[far.index, "residence_address"] = writer.signer_address(far, rng)
    city = pick["city"].copy()
    city.index = far.index
    out.loc[far.index, "city"] = apply_case(city, rng, (0.6, 0.35, 0.05))
    zip5 = pick["zip5"].copy()
    zip5.index = far.index
    out.loc[far.index, "zip"] = written_zip(zip5, rng, 0.2)

    at = np.nonzero(kind == "none")[0]
    k = len(at)
    idx = lines.index[at]
    template = _text(_NO_ADDRESS[rng.integers(0, len(_NO_ADDRESS), k)])
    number = _text(rng.integers(1, 9999, k).astype(str))
    template.index = idx
    number.index = idx
    out.loc[idx, "residence_address"] = template.str.replace("{n}", "", regex=False).where(
        ~template.str.contains("{n}", regex=False),
        template.str.replace("{n}", "", regex=False) + number,
    )
    la_zip = _text(roll.la_zips[rng.integers(0, len(roll.la_zips), k)])
    la_zip.index = idx
    out.loc[idx, "zip"] = la_zip.where(rng.random(k) < 0.6, "")
    return out


_CITY_SHORT = {
    "LOS ANGELES": "LA",
    "LONG BEACH": "LB",
    "SOUTH PASADENA": "S PASADENA",
    "WEST COVINA": "W COVINA",
    "BEVERLY HILLS": "BEV HILLS",
    "RANCHO PALOS VERDES": "RPV",
    "CULVER CITY": "CULVER",
    "LA CANADA FLINTRIDGE": "LA CANADA",
    "WEST HOLLYWOOD": "WEHO",
}


def _written_city(city: pd.Series, community: pd.Series, rng: np.random.Generator) -> pd.Series:
    n = len(city)
    u = rng.random(n)
    short = city.replace(_CITY_SHORT)
    out = city.where(u < 0.55, "")
    out = out.where(~((u >= 0.67) & (u < 0.87)), community.where(community != "", city))
    out = out.where(~(u >= 0.87), short)
    return apply_case(out, rng, (0.6, 0.35, 0.05))


# --------------------------------------------------------------------------------------------
# Putting it together


def _sections_table(
    sec: pd.DataFrame,
    lines: pd.DataFrame,
    pools: NamePools,
    rng: np.random.Generator,
    approved: int = APPROVED,
    filed: int = FILED,
    jurisdiction: str = LA_CODE,
) -> pd.DataFrame:
    k = len(sec)
    first = pools.first[pools.draw_first(rng, k)]
    last = pools.last[pools.draw_last(rng, k)]
    circulator = (_text(first) + " " + _text(last)).str.title()
    in_period = lines["date"].where(lines["date"].between(approved, filed))
    latest = in_period.groupby(lines["section_no"]).max().reindex(sec["section_no"])
    latest = latest.fillna(filed - 10).to_numpy(np.int64)
    declared = np.minimum(latest + rng.integers(0, 4, k), filed)
    kind = sec["kind"].to_numpy()
    u = rng.random(k)
    signed = np.where((kind == "cdd") & (u < 0.5), "N", "Y")
    signed = np.where((kind == "snf") & (u < 0.15), "N", signed)
    circulator = circulator.where(~((kind == "cdd") & (u >= 0.5) & (u < 0.75)), "")
    declaration_date = o.iso(declared).where(~((kind == "cdd") & (u >= 0.75)), "")
    return pd.DataFrame(
        {
            "section_id": sec["section_id"],
            "circulator_name": circulator,
            "declaration_signed": signed,
            "declaration_date": declaration_date,
            "jurisdiction_code": jurisdiction,
            "filed_with_petition": np.where(kind == "snf", "N", "Y"),
        }
    )


# How many signatures on file an examiner compares a line's with (the registration card, later
# cards, ballot envelopes): an assumed spread, not a published figure.
SIGNATURES_ON_FILE = (1, 2, 3, 4)
SIGNATURES_ON_FILE_SHARES = (0.3, 0.3, 0.25, 0.15)


@dataclass
class _Petition:
    """One petition's planned lines, and the settings and random streams its files use."""

    petition_id: str
    lines: pd.DataFrame
    sec: pd.DataFrame
    never_signed: np.ndarray
    yaml: str
    approved: int
    filed: int
    jurisdiction: str
    reviews_from: str
    none_zips: np.ndarray
    rng_text: np.random.Generator
    rng_write: np.random.Generator
    rng_files: np.random.Generator
    # Its own stream, so that the reviews' added column moves no other byte of the scenario.
    rng_reviews: np.random.Generator
    scans: pd.DataFrame | None = None
    batch_of_line: np.ndarray | None = None
    log: object = None


def _render(p: _Petition, roll: Roll, pools: NamePools, keying, world) -> None:
    """The scan rows of a petition: each line as keyed, with its section, page and batch."""
    lines = p.lines
    if keying.legacy:
        printed = render_names(lines, pools, p.rng_text)
        where = render_addresses(lines, roll, AddressWriter(), p.rng_text)
    else:
        from recall_pipeline.scenario.keyed_lines import key_lines

        printed, where, p.log = key_lines(lines, roll, world, keying, p.rng_text, p.none_zips)
    p.sec["batch"] = _batches(p.sec, len(lines))
    section_id = p.sec["section_id"].to_numpy()[lines["section_no"].to_numpy()]
    scans = pd.DataFrame(
        {
            "section_id": section_id,
            "page": lines["page"].to_numpy(),
            "line": lines["line"].to_numpy(),
            "printed_name": printed.to_numpy(dtype=object),
            "residence_address": where["residence_address"].to_numpy(dtype=object),
            "city": where["city"].to_numpy(dtype=object),
            "zip": where["zip"].to_numpy(dtype=object),
            "date_signed": o.iso(lines["date"].to_numpy()),
            "signature_present": np.where(lines["signature"].to_numpy(bool), "Y", "N"),
        }
    )
    scans["page_image"] = (
        "images/" + scans["section_id"] + "/p" + scans["page"].astype(str).str.zfill(3) + ".png"
    )
    p.scans = scans
    p.batch_of_line = p.sec["batch"].to_numpy()[lines["section_no"].to_numpy()]


def _write_petition(out, p: _Petition, pools: NamePools, keying, voter_ids) -> tuple:
    """petition.yaml, sections, scans, reviews and withdrawals; returns the truth and counts."""
    lines, scans, rng_write = p.lines, p.scans, p.rng_write
    page = scans["page"].to_numpy()
    petition = out / "petitions" / p.petition_id
    petition.mkdir(parents=True, exist_ok=True)
    (petition / "petition.yaml").write_text(p.yaml, encoding="utf-8")
    sections = _sections_table(p.sec, lines, pools, rng_write, p.approved, p.filed, p.jurisdiction)
    o.write_csv(sections, petition / "sections.csv")
    if keying.legacy:
        for b in np.unique(p.batch_of_line):
            o.write_csv(scans[p.batch_of_line == b], petition / "scans" / f"batch_{b:04d}.csv")
    else:
        from recall_pipeline.scenario.keyed_lines import write_scans

        write_scans(scans, p.batch_of_line, petition / "scans", keying.files, p.rng_files)

    voter = lines["voter"].to_numpy()
    reason = lines["reason"].to_numpy()
    no_match = (lines["review"].to_numpy() == "NO_MATCH") | (
        np.isin(reason, ["ADDRESS_MISMATCH", "CANCELLED"]) & (rng_write.random(len(lines)) < 0.05)
    )
    match = (voter >= 0) & ~no_match & (rng_write.random(len(lines)) < 0.18)
    match &= ~np.isin(reason, ["SIGNATURE_MISMATCH"])
    reviewed = no_match | match
    k = int(reviewed.sum())
    seconds = np.datetime64(p.reviews_from) + rng_write.integers(0, 35 * 86400, k)
    reviews = pd.DataFrame(
        {
            "section_id": scans["section_id"][reviewed].to_numpy(),
            "page": page[reviewed],
            "line": lines["line"].to_numpy()[reviewed],
            "finding": np.where(no_match[reviewed], "NO_MATCH", "MATCH"),
            "examiner_id": pd.Series(rng_write.integers(1, 41, k))
            .astype(str)
            .str.zfill(3)
            .radd("EX")
            .to_numpy(),
            "reviewed_at": np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"),
        }
    )
    if not keying.legacy:
        # The signatures on file the examiner had, drawn apart from the finding and the truth
        # so that nothing ties a count to a wrong finding. The standard profile keeps the
        # files it always wrote: a county that does not record the count.
        reviews["signatures_compared"] = p.rng_reviews.choice(
            SIGNATURES_ON_FILE, size=k, p=SIGNATURES_ON_FILE_SHARES
        )
    n_review_files = max(1, int(np.ceil(len(reviews) / o.REVIEW_ROWS_PER_FILE)))
    for i, rows in enumerate(np.array_split(np.arange(len(reviews)), n_review_files)):
        o.write_csv(reviews.iloc[rows], petition / "reviews" / f"reviews_{i + 1:03d}.csv")

    withdrawn = lines["withdrawn_on"].to_numpy() > NO_DATE
    extra = p.never_signed
    extra_dates = _sign_dates(rng_write, len(extra), p.filed - 1, p.approved)
    withdrawals = pd.DataFrame(
        {
            "voter_id": np.concatenate([voter_ids[voter[withdrawn]], voter_ids[extra]]),
            "received_date": o.iso(
                np.concatenate([lines["withdrawn_on"].to_numpy()[withdrawn], extra_dates])
            ),
        }
    ).sort_values("received_date", kind="stable")
    o.write_csv(withdrawals, petition / "withdrawals.csv")

    truth = pd.DataFrame(
        {
            "petition_id": p.petition_id,
            "section_id": scans["section_id"].to_numpy(),
            "page": page,
            "line": lines["line"].to_numpy(),
            "true_voter_id": np.where(voter >= 0, voter_ids[np.maximum(voter, 0)], ""),
            "true_status": np.where(reason == "VALID", "VALID", "INVALID"),
            "true_reason_code": np.where(reason == "VALID", "", reason),
            "true_case": lines["case"].to_numpy(),
        }
    )
    return truth, len(reviews), len(withdrawals)


def _remove_stale(out, petition_ids: list[str], absent: list[str]) -> None:
    """Files an earlier generation into `out` left that this one would not overwrite."""
    stale = list(out.glob("voter_roll/roll_part_*.csv"))
    for pid in petition_ids:
        stale += list(out.glob(f"petitions/{pid}/scans/batch_*.csv"))
        stale += list(out.glob(f"petitions/{pid}/scans/batch_*.parquet"))
        stale += list(out.glob(f"petitions/{pid}/reviews/reviews_*.csv"))
    for pid in absent:
        folder = out / "petitions" / pid
        stale += list(folder.glob("scans/batch_*")) + list(folder.glob("reviews/reviews_*.csv"))
        stale += [folder / f for f in ("petition.yaml", "sections.csv", "withdrawals.csv")]
    for path in stale:
        path.unlink(missing_ok=True)
    # A petition folder left empty would read as a petition without its petition.yaml.
    for pid in absent:
        folder = out / "petitions" / pid
        for sub in (folder / "scans", folder / "reviews", folder):
            if sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()


def generate_la_2022(
    targets: Targets,
    pools: NamePools,
    seed: int,
    out,
    truth_out,
    keying=None,
    city_petition: bool = False,
) -> dict:
    """The LA petition (and, with `city_petition`, the city's) keyed under profile `keying`."""
    from recall_pipeline.scenario.city import CITY
    from recall_pipeline.scenario.keying import STANDARD

    keying = keying or STANDARD
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    # Streams 1-4 are the original generator's; the city and the keying profiles draw from
    # their own, so that neither moves a byte of the standard LA scenario.
    rng_roll = stream(1)
    rng_lines = stream(2)
    rng_text = stream(3)
    rng_write = stream(4)

    roll = Roll(targets, pools, rng_roll)
    numbers = pd.Series(rng_roll.permutation(roll.n) + 1).astype(str).str.zfill(8)
    voter_ids = ("LA" + numbers).to_numpy(dtype=object)
    lap("roll")

    lines, never_signed = _plan_lines(targets, roll, rng_lines)
    lines, sec = _place(lines, rng_lines)
    lines = _settle_duplicates(lines)
    lines = lines.sort_values(["section_no", "slot"], kind="stable").reset_index(drop=True)
    petitions = [
        _Petition(
            o.PETITION_ID,
            lines,
            sec,
            never_signed,
            o.petition_yaml(targets),
            APPROVED,
            FILED,
            LA_CODE,
            "2022-07-07T08:00:00",
            roll.la_zips,
            rng_text if keying.legacy else stream(7),
            rng_write,
            stream(9),
            stream(13),
        )
    ]
    city = None
    if city_petition:
        from recall_pipeline.scenario.city import petition_yaml, plan_city

        city = plan_city(roll, lines, never_signed, stream(5))
        petitions.append(
            _Petition(
                city.spec.petition_id,
                city.lines,
                city.sec,
                city.never_signed,
                petition_yaml(city),
                city.approved,
                city.filed,
                city.spec.jurisdiction_code,
                f"{o.iso(np.array([city.filed + 1]))[0]}T08:00:00",
                city.zips,
                stream(10),
                stream(11),
                stream(12),
                stream(14),
            )
        )
    lap("lines")

    world = None
    if not keying.legacy:
        from recall_pipeline.scenario.world import decorate_world

        world = decorate_world(roll, [p.lines for p in petitions], keying.roll, stream(6))
        lap("world")
    for p in petitions:
        _render(p, roll, pools, keying, world)
    lap("render")

    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(
        out, [p.petition_id for p in petitions], [] if city_petition else [CITY.petition_id]
    )
    cities = [(CITY.jurisdiction_code, CITY.name, city.zips)] if city else ()
    o.write_reference(out, roll.zips, cities)
    roll_habits = None
    if world is not None:
        from recall_pipeline.scenario.world import RollWriterHabits

        roll_habits = RollWriterHabits(roll, world, keying.roll, stream(8))
    n_roll_files = o.write_roll(out, roll, voter_ids, rng_write, roll_habits)
    n_history = o.write_history(out, roll, voter_ids)
    lap("write_roll")

    written = [_write_petition(out, p, pools, keying, voter_ids) for p in petitions]
    truth_out.mkdir(parents=True, exist_ok=True)
    # Truth files an earlier generation wrote that this one does not.
    leftover = ["keying_log.parquet", "keying_summary.json"] if world is None else []
    if city is None:
        leftover.append("expected_determinations.json")
    for name in leftover:
        (truth_out / name).unlink(missing_ok=True)
    truth = pd.concat([w[0] for w in written], ignore_index=True)
    o.write_csv(truth, truth_out / "line_truth.csv")
    la_truth = written[0][0]
    determination = o.expected_determination(la_truth, targets)
    o.write_json(determination, truth_out / "expected_determination.json")
    determinations = [determination]
    if city is not None:
        determinations.append(
            o.full_count(
                written[1][0], city.spec.petition_id, city.basis, city.percent, city.required
            )
            | {"configured_method": "random_sample"}
        )
        o.write_json({"petitions": determinations}, truth_out / "expected_determinations.json")
    if world is not None:
        from recall_pipeline.scenario.keyed_lines import write_keying_log

        write_keying_log(
            truth_out,
            keying,
            [(w[0], p.log) for w, p in zip(written, petitions, strict=True)],
            world,
        )
    lap("write_petition")

    return {
        "scenario": "la-2022",
        "scale": targets.scale,
        "seed": seed,
        "keying": keying.name,
        "lines": len(la_truth),
        "valid": determination["valid"],
        "required": determination["required"],
        "result": determination["result"],
        "by_reason": determination["by_reason"],
        "roll_records": roll.n,
        "roll_files": n_roll_files,
        "history_rows": n_history,
        "sections": len(sec),
        "batches": int(sec["batch"].max()),
        "review_rows": written[0][1],
        "withdrawals": written[0][2],
        "petitions": [
            {k: d[k] for k in ("petition_id", "raw_count", "valid", "required", "result")}
            for d in determinations
        ],
        "timings_s": timings,
    }
