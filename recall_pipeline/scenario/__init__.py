"""Synthetic petition scenarios with known truth, for testing the verifier end to end.

`generate_scenario` writes a county data directory (data-contract.md) and, elsewhere, the truth
about every line and the determination a correct verifier must reach.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from recall_pipeline.scenario.calibration import Targets, targets

SCENARIOS = ("la-2022",)

__all__ = ["SCENARIOS", "Targets", "generate_scenario", "targets"]


@functools.lru_cache(maxsize=1)
def _name_pools():
    from recall_pipeline.scenario.names import NamePools

    return NamePools()


def generate_scenario(
    scenario: str,
    scale: float,
    seed: int,
    out: Path,
    truth_out: Path,
    keying: str = "standard",
    city_petition: bool = False,
) -> dict:
    """Write scenario `scenario` at `scale` into `out`, its truth into `truth_out`.

    `keying` names a keying profile (scenario/keying.py: standard, hard, hardest);
    `city_petition` adds the Santa Clarita recall petition (scenario/city.py) beside LA's.
    Returns a summary (counts per reason, file counts, timings in seconds).
    """
    from recall_pipeline.scenario.keying import profile

    habits = profile(keying)
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    goal = targets(scale)
    out, truth_out = Path(out).resolve(), Path(truth_out).resolve()
    if truth_out == out or out in truth_out.parents:
        raise ValueError("the truth directory must not be inside the data directory")
    from recall_pipeline.scenario.la2022 import generate_la_2022

    started = time.perf_counter()
    pools = _name_pools()
    pools_s = round(time.perf_counter() - started, 2)
    summary = generate_la_2022(goal, pools, int(seed), out, truth_out, habits, city_petition)
    summary["timings_s"] = {"name_pools": pools_s} | summary["timings_s"]
    summary["elapsed_s"] = round(time.perf_counter() - started, 2)
    return summary
