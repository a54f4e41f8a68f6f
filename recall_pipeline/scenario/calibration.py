"""The published LA 2022 figures and how they scale.

At scale 1 the scenario must reproduce the registrar's full count exactly (domain.md §1), so
every count is derived here, once: line totals per reason by largest-remainder rounding (the
parts always sum to the scaled raw count), roll sizes by plain rounding, and the statutory
requirement from the basis. Everything else in the generator takes its numbers from `Targets`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RAW_COUNT = 715_833
LINE_COUNTS: dict[str, int] = {
    "VALID": 520_050,
    "NOT_REGISTERED": 88_464,
    "DUPLICATE": 43_593,
    "ADDRESS_MISMATCH": 32_187,
    "SIGNATURE_MISMATCH": 9_490,
    "CANCELLED": 7_344,
    "OUT_OF_JURISDICTION": 5_374,
    # The registrar's "Other" (9,331), split by reason.
    "SECTION_NOT_FILED": 1_120,
    "CIRCULATOR_DECLARATION_DEFECT": 2_240,
    "NO_SIGNATURE": 1_850,
    "WITHDRAWN": 412,
    "NO_RESIDENCE_ADDRESS": 1_985,
    "SIGNED_OUTSIDE_PERIOD": 731,
    "REGISTERED_LATE": 993,
}
ROLL_ACTIVE = 5_438_400
ROLL_INACTIVE = 230_169
ROLL_CANCELLED = 240_000
THRESHOLD_TABLE = ((1_000, 30), (10_000, 25), (50_000, 20), (100_000, 15))  # else 10 %
LA_PERCENT = 10

assert sum(LINE_COUNTS.values()) == RAW_COUNT


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def largest_remainder(counts: dict[str, int], total: int) -> dict[str, int]:
    """Split `total` in proportion to `counts`, integer parts summing exactly to `total`."""
    keys = list(counts)
    weights = np.array([counts[k] for k in keys], dtype=np.float64)
    exact = weights * total / weights.sum()
    floor = np.floor(exact).astype(np.int64)
    short = total - int(floor.sum())
    # Ties broken by the order of `keys` (stable sort), which keeps the result deterministic.
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:short]] += 1
    return {k: int(v) for k, v in zip(keys, floor, strict=True)}


def statutory_percent(registered: int) -> int:
    """EC §11221 percent for a local recall."""
    for upper, percent in THRESHOLD_TABLE:
        if registered < upper:
            return percent
    return 10


def required_signatures(registered: int, percent: int) -> int:
    return -(-percent * registered // 100)


@dataclass(frozen=True)
class Targets:
    scale: float
    lines: dict[str, int]
    raw_count: int
    active: int
    inactive: int
    cancelled: int
    # None: the petition leaves the percent to the statutory table.
    threshold_override: int | None

    @property
    def registered_voters_basis(self) -> int:
        return self.active + self.inactive

    @property
    def threshold_percent(self) -> int:
        if self.threshold_override is not None:
            return self.threshold_override
        return statutory_percent(self.registered_voters_basis)

    @property
    def required(self) -> int:
        return required_signatures(self.registered_voters_basis, self.threshold_percent)

    @property
    def valid(self) -> int:
        return self.lines["VALID"]

    @property
    def result(self) -> str:
        # petition.yaml says sufficient_when: greater_than.
        return "SUFFICIENT" if self.valid > self.required else "INSUFFICIENT"

    @property
    def margin(self) -> int:
        return self.valid - self.required


def targets(scale: float) -> Targets:
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    raw = _round_half_up(RAW_COUNT * scale)
    lines = largest_remainder(LINE_COUNTS, raw)
    active = _round_half_up(ROLL_ACTIVE * scale)
    inactive = _round_half_up(ROLL_INACTIVE * scale)
    cancelled = _round_half_up(ROLL_CANCELLED * scale)
    # A scaled-down county would fall into a higher row of the §11221 table; the scenario keeps
    # LA's percent so that the verdict scales with it.
    override = LA_PERCENT if active + inactive < 100_000 else None
    return Targets(scale, lines, raw, active, inactive, cancelled, override)
