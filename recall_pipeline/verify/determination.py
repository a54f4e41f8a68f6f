"""The arithmetic of sufficiency: the threshold, the full count and the statutory random sample.

Everything here is exact decimal arithmetic, rounded only where the law says so, because a
determination is a legal finding and a float's last digit can move a ceiling:

- required signatures (EC §11221): ceil(percent × registered voters of the basis report), the
  percent from the table by size of the jurisdiction unless the petition overrides it;
- full count (EC §11224): sufficient when valid is greater than the requirement (or at least
  equal to it, a petition setting: the code's wording is ambiguous for a tie);
- random sample (EC §11225, 2 CCR §§20530–20532): a sample of max(500, rate × raw count) lines,
  each with equal chance from a seeded generator; the projection corrects for duplicates found
  inside the sample; the projection against 90 %/110 % (95 % for initiatives and state recalls)
  of the requirement decides sufficient, insufficient, or a full count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import numpy as np

# (registered voters below this, percent); 10 % at or above the last bound.
RECALL_PERCENT_TABLE: tuple[tuple[int, int], ...] = (
    (1_000, 30),
    (10_000, 25),
    (50_000, 20),
    (100_000, 15),
)
RECALL_PERCENT_LARGE = 10

SUFFICIENT = "SUFFICIENT"
INSUFFICIENT = "INSUFFICIENT"
FULL_COUNT_REQUIRED = "FULL_COUNT_REQUIRED"


@dataclass(frozen=True)
class SamplingRule:
    rate: Decimal
    minimum: int
    lower_band: Decimal
    upper_band: Decimal
    authority: str


SAMPLING_RULES: dict[str, SamplingRule] = {
    "local_recall": SamplingRule(
        Decimal("0.05"), 500, Decimal("0.90"), Decimal("1.10"), "EC §11225"
    ),
    "state_recall": SamplingRule(
        Decimal("0.03"), 500, Decimal("0.95"), Decimal("1.10"), "EC §11105"
    ),
    "initiative": SamplingRule(Decimal("0.03"), 500, Decimal("0.95"), Decimal("1.10"), "EC §9030"),
}


def statutory_percent(registered: int) -> int:
    """EC §11221: the share of registered voters a recall petition needs."""
    for bound, percent in RECALL_PERCENT_TABLE:
        if registered < bound:
            return percent
    return RECALL_PERCENT_LARGE


def threshold_percent(registered: int, override: float | None) -> Decimal:
    return (
        Decimal(str(override)) if override is not None else Decimal(statutory_percent(registered))
    )


def required_signatures(registered: int, percent: Decimal) -> int:
    return int((Decimal(registered) * percent / 100).to_integral_value(rounding=ROUND_CEILING))


def full_count_result(valid: int, required: int, sufficient_when: str) -> str:
    if sufficient_when == "greater_than":
        return SUFFICIENT if valid > required else INSUFFICIENT
    if sufficient_when == "at_least":
        return SUFFICIENT if valid >= required else INSUFFICIENT
    raise ValueError(f"unknown sufficient_when {sufficient_when!r}")


def lines_to_flip(valid: int, required: int, sufficient_when: str) -> tuple[int, str]:
    """How many lines must change verdict to change a full count's result, and which way:
    ("reinstate", k) INVALID lines made VALID for an insufficient petition, ("invalidate", k)
    VALID lines found invalid for a sufficient one. Found with the determination's own rule."""
    result = full_count_result(valid, required, sufficient_when)
    if result == INSUFFICIENT:
        k = max(required - valid, 0)
        while full_count_result(valid + k, required, sufficient_when) == INSUFFICIENT:
            k += 1
        return k, "reinstate"
    k = max(valid - required, 0)
    while full_count_result(valid - k, required, sufficient_when) == SUFFICIENT:
        k += 1
    return k, "invalidate"


def sample_size(raw_count: int, kind: str) -> int:
    rule = SAMPLING_RULES[kind]
    by_rate = int((rule.rate * raw_count).to_integral_value(rounding=ROUND_CEILING))
    return min(raw_count, max(rule.minimum, by_rate))


def draw_sample(raw_count: int, size: int, seed: int) -> np.ndarray:
    """Positions (into the lines sorted by their key) of a uniform sample without replacement.

    NumPy's PCG64 generator seeded from the petition's recorded seed: anyone with the same lines
    and seed draws the same sample (2 CCR §20521 asks for a computerized random generator).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.sort(rng.choice(raw_count, size=size, replace=False))


@dataclass(frozen=True)
class Projection:
    raw_count: int  # N
    sample_size: int  # n
    sample_valid: int  # s
    sample_duplicates: int  # d
    validity_rate: Decimal  # r
    uncorrected: int  # V
    line_value: Decimal  # A
    duplicate_weight: Decimal  # B
    estimated_duplicates: int  # C
    projected_valid: int  # P


def _four_places(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def project(raw_count: int, size: int, valid: int, duplicates: int) -> Projection:
    """2 CCR §§20530–20532: project the valid signatures of the whole petition from a sample."""
    if not 0 < size <= raw_count:
        raise ValueError(f"sample size {size} must be within 1..{raw_count}")
    r = _four_places(Decimal(valid) / Decimal(size))
    v = int((Decimal(raw_count) * r).to_integral_value(rounding=ROUND_CEILING))
    a = _four_places(Decimal(raw_count) / Decimal(size))
    b = _four_places(a * (a - 1))
    c = int((b * duplicates).to_integral_value(rounding=ROUND_CEILING))
    return Projection(raw_count, size, valid, duplicates, r, v, a, b, c, v - c)


def sample_result(projected_valid: int, required: int, kind: str) -> str:
    rule = SAMPLING_RULES[kind]
    if projected_valid > rule.upper_band * required:
        return SUFFICIENT
    if projected_valid < rule.lower_band * required:
        return INSUFFICIENT
    return FULL_COUNT_REQUIRED


def sample_cutoffs(required: int, size: int, raw_count: int, kind: str) -> tuple[int, int]:
    """The sample-valid counts the registrar publishes: above the first qualifies, below the
    second fails (the bands scaled to the sample, before the duplicate correction)."""
    rule = SAMPLING_RULES[kind]
    scale = Decimal(size) / Decimal(raw_count)
    upper = math.ceil(rule.upper_band * required * scale)
    lower = math.ceil(rule.lower_band * required * scale)
    return upper, lower
