"""The pipeline benchmark: generate once, run as a user would, time each stage, score it.

    python benchmarks/bench.py --scale 1 [--scale 0.1 ...] [--seed 20220706] [--out DIR]

For each scale: generates the LA 2022 scenario once (cached under data/generated/), runs the
whole pipeline in this process into a fresh DuckDB warehouse, and prints the wall time of each
stage (Dagster step), the time per line, the process's peak memory and the accuracy against the
scenario's ground truth. Figures go to a JSON file and a small table in `--out` so they can be
compared across commits. Targets are reported, never asserted.

Not yet here: a side-by-side run of Splink on the same lines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.accuracy import compare  # noqa: E402
from recall_pipeline import settings  # noqa: E402

STAGES = {
    "ingest": (
        "jurisdictions", "jurisdiction_zips", "voter_roll", "voter_address_history",
        "petitions", "petition_sections", "petition_lines", "signature_reviews",
        "withdrawal_requests",
    ),
    "match (normalize, block, compare)": ("line_matches",),
    "verdicts (+ per-reason tables, checks)": ("line_verdicts",),
    "determination": ("sufficiency_determination",),
    "audit (manifest, certificate)": ("run_manifest", "determination_certificate"),
}  # fmt: skip
TARGET_SECONDS = 60
TARGET_RSS_GIB = 4


def scenario(scale: float, seed: int) -> tuple[Path, Path]:
    data = PROJECT / "data" / "generated" / f"la-2022-scale-{scale:g}"
    truth = Path(f"{data}.truth")
    if not (data / ".complete").exists():
        partial = Path(f"{data}.partial")
        subprocess.run(
            [sys.executable, "-m", "recall_pipeline.cli", "generate", "--scale", str(scale),
             "--seed", str(seed), "--out", str(partial), "--truth-out", str(truth)],
            check=True,
        )  # fmt: skip
        (partial / ".complete").touch()
        partial.rename(data)
    return data, truth


def measure(scale: float, seed: int, work: Path) -> dict:
    from recall_pipeline.runner import materialize_all
    from recall_pipeline.warehouse import Warehouse

    data, truth = scenario(scale, seed)
    warehouse = work / f"bench-scale-{scale:g}.duckdb"
    for leftover in work.glob(f"{warehouse.name}*"):
        leftover.unlink()
    os.environ[settings.DATA_DIR_ENV] = str(data)
    os.environ[settings.WAREHOUSE_URL_ENV] = f"duckdb:///{warehouse}"
    os.environ[settings.REPORTS_DIR_ENV] = str(work / "reports")
    started = time.perf_counter()
    outcome = materialize_all()
    wall = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit(f"pipeline failed: {outcome.errors}")
    with Warehouse(f"duckdb:///{warehouse}") as store:
        joined, expected = compare(store, truth)
        lines = len(joined)
    stages = {
        stage: round(sum(outcome.step_seconds.get(step, 0.0) for step in steps), 2)
        for stage, steps in STAGES.items()
    }
    return {
        "scale": scale,
        "lines": lines,
        "wall_seconds": round(wall, 2),
        "microseconds_per_line": round(1e6 * wall / lines, 1),
        "stages_seconds": stages,
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "status_accuracy": float((joined["status"] == joined["true_status"]).mean()),
        "reason_accuracy": float((joined["got_reason"] == joined["true_reason"]).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append")
    parser.add_argument("--seed", type=int, default=20220706)
    parser.add_argument("--out", type=Path, default=PROJECT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    scales = args.scale or [1.0]
    args.out.mkdir(parents=True, exist_ok=True)
    if len(scales) > 1:
        # Peak memory is per process: each scale gets its own.
        results = []
        for scale in scales:
            subprocess.run(
                [sys.executable, __file__, "--scale", str(scale), "--seed", str(args.seed),
                 "--out", str(args.out)],
                check=True,
            )  # fmt: skip
            results.append(json.loads((args.out / f"scale-{scale:g}.json").read_text()))
    else:
        results = [measure(scales[0], args.seed, args.out)]
        (args.out / f"scale-{scales[0]:g}.json").write_text(json.dumps(results[0], indent=2))
    table = render(results)
    (args.out / "latest.md").write_text(table + "\n")
    print(table)
    return 0


def render(results: list[dict]) -> str:
    stages = list(STAGES)
    header = ["scale", "lines", "wall s", "µs/line", *stages, "peak RSS GiB", "reason acc."]
    rows = [
        [
            f"{r['scale']:g}",
            f"{r['lines']:,}",
            f"{r['wall_seconds']:.1f}",
            f"{r['microseconds_per_line']:.0f}",
            *(f"{r['stages_seconds'][s]:.1f}" for s in stages),
            f"{r['peak_rss_gib']:.2f}",
            f"{r['reason_accuracy']:.5%}",
        ]
        for r in results
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append(
        f"\ntargets at scale 1: ≤ {TARGET_SECONDS} s wall, ≤ {TARGET_RSS_GIB} GiB peak RSS"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
