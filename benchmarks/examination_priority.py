"""Does the review priority put the wrongly invalidated lines first? Measured on a scenario
whose truth is known.

    python benchmarks/examination_priority.py --warehouse URL --truth-dir DIR [--inject N]

The warehouse holds a published run of the scenario (`recall-audit run`); DIR holds its
`line_truth.csv` (`recall-audit generate --truth-out`). Two kinds of wrongly invalidated lines
are ranked in the examination set ordered by `review_priority`:

- the pipeline's own: lines the truth says are VALID that the run published INVALID;
- registrar errors injected here: N lines the truth says are VALID, published VALID with their
  voter found, are taken as a clerk who could not find the voter would have published them —
  INVALID, NOT_REGISTERED, no voter — and ranked among the real invalid lines with the
  priority the same evidence gives them (the registrations the matcher weighed for the line
  stay what they are; the injected lines are not in the warehouse).

Prints, for each kind, how many of them the first 10 % and 25 % of the ordered set hold, beside
the share a random order would give (10 % and 25 %). A report, never a pass or a fail.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.services.examination import best_candidates, examination_set_of
from recall_pipeline.services.io import petition_configs
from recall_pipeline.tables import LINE_KEY_COLUMNS
from recall_pipeline.verify.examination import review_priority
from recall_pipeline.warehouse import Warehouse

KEY = LINE_KEY_COLUMNS


def injected_priority(
    store: Warehouse, config: PetitionConfig, lines: pd.DataFrame, valid_voters: set[str]
) -> pd.DataFrame:
    """The priority `lines` (published VALID) would get, published INVALID as not found."""
    as_not_found = lines[KEY].assign(reason_code="NOT_REGISTERED", voter_id=None)
    best = best_candidates(store, config.petition_id)
    # Their own voters lose the lines the clerk rejected.
    still_valid = valid_voters - set(lines["voter_id"])
    return review_priority(
        as_not_found,
        best,
        pd.DataFrame(columns=["voter_id", "valid_from", "valid_to"]),
        still_valid,
        (config.approved_for_circulation, config.filed_date),
    )


def share_in_top(ranked: pd.DataFrame, marked: pd.Series, fraction: float) -> tuple[int, int]:
    """How many marked rows the first `fraction` of `ranked` (in order) holds, of how many."""
    top = int(np.ceil(len(ranked) * fraction))
    return int(marked.iloc[:top].sum()), int(marked.sum())


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(
        ["review_priority", *KEY], ascending=[False, *([True] * len(KEY))], ignore_index=True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--truth-dir", type=Path, required=True)
    parser.add_argument("--inject", type=int, default=1000, help="registrar errors to inject")
    parser.add_argument("--seed", type=int, default=20221104)
    args = parser.parse_args(argv)

    truth = pd.read_csv(args.truth_dir / "line_truth.csv", dtype={"section_id": str})
    truth_valid = truth.loc[truth["true_status"] == "VALID", KEY]
    rng = np.random.default_rng(args.seed)
    with Warehouse(args.warehouse, read_only=True) as store:
        for config in petition_configs(store):
            pid = config.petition_id
            examined = examination_set_of(store, config)
            verdicts = store.read_frame(
                "line_verdicts", columns=[*KEY, "status", "voter_id"], where={"petition_id": pid}
            )
            mine = truth_valid[truth_valid["petition_id"] == pid]
            wrong = examined.merge(mine, on=KEY, how="left", indicator=True)["_merge"] == "both"
            ranked = ordered(examined.assign(wrong=wrong.to_numpy(), injected=False))
            print(f"{pid}: {len(examined):,} invalid lines")
            _report("  the pipeline's own wrongly invalid lines", ranked, ranked["wrong"])

            candidates = verdicts[verdicts["status"] == "VALID"].merge(mine, on=KEY)
            chosen = candidates.iloc[
                rng.choice(len(candidates), size=min(args.inject, len(candidates)), replace=False)
            ]
            valid_voters = set(verdicts.loc[verdicts["status"] == "VALID", "voter_id"].dropna())
            injected = injected_priority(store, config, chosen, valid_voters)
            pool = pd.concat(
                [
                    examined[[*KEY, "review_priority"]].assign(injected=False),
                    injected[[*KEY, "review_priority"]].assign(injected=True),
                ],
                ignore_index=True,
            )
            pooled = ordered(pool)
            _report(
                f"  {len(injected):,} injected registrar errors (not found)",
                pooled,
                pooled["injected"],
            )
    return 0


def _report(label: str, ranked: pd.DataFrame, marked: pd.Series) -> None:
    parts = []
    for fraction in (0.10, 0.25):
        held, total = share_in_top(ranked, marked.reset_index(drop=True), fraction)
        share = held / total if total else float("nan")
        parts.append(f"first {fraction:.0%}: {held:,} of {total:,} ({share:.1%})")
    print(f"{label}: " + "; ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
