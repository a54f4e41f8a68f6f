"""python -m recall_pipeline.scenario --scale S --seed N --out DATA --truth-out TRUTH"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from recall_pipeline.scenario import SCENARIOS, generate_scenario


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recall_pipeline.scenario")
    parser.add_argument("--scenario", default="la-2022", choices=SCENARIOS)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--truth-out", type=Path, required=True)
    args = parser.parse_args(argv)
    summary = generate_scenario(args.scenario, args.scale, args.seed, args.out, args.truth_out)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
