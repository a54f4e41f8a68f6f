"""How well the published verdicts agree with a scenario's ground truth.

    python benchmarks/accuracy.py --truth TRUTH_DIR [--warehouse URL] [--show 20]

Prints status and reason accuracy, the confusion table of true reason × published reason, the
per-reason count differences against `expected_determination.json`, the determination next to
the expected one, and the first wrong lines with the evidence the matcher recorded, so a miss
can be traced to its cause. Exits non-zero when any line disagrees.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from recall_pipeline import settings
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse

KEY = ["petition_id", "section_id", "page", "line"]


def compare(store: Warehouse, truth_dir: Path) -> tuple[pd.DataFrame, dict]:
    truth = pd.read_csv(truth_dir / "line_truth.csv", dtype=str, keep_default_na=False)
    truth["page"] = truth["page"].astype("int64")
    truth["line"] = truth["line"].astype("int64")
    verdicts = store.read("line_verdicts").to_pandas()
    matches = store.read(
        "line_matches",
        columns=[
            *KEY,
            "match_method",
            "candidates_at_address",
            "passing_candidates",
            "roll_records_with_name",
            "first_name_agreement",
            "last_name_agreement",
        ],
    ).to_pandas()
    joined = truth.merge(verdicts, on=KEY, how="outer", indicator=True)
    joined = joined.merge(matches, on=KEY, how="left", suffixes=("", "_m"))
    joined["true_reason"] = joined["true_reason_code"].replace("", "VALID").fillna("MISSING")
    joined["got_reason"] = joined["reason_code"].fillna(joined["status"]).fillna("MISSING")
    expected = json.loads((truth_dir / "expected_determination.json").read_text())
    return joined, expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--warehouse", default=None)
    parser.add_argument("--show", type=int, default=20, help="wrong lines to print")
    args = parser.parse_args(argv)
    url = args.warehouse or settings.warehouse_url()
    with Warehouse(url) as store:
        joined, expected = compare(store, args.truth)
        report = load_determination(store, expected["petition_id"])

    total = len(joined)
    status_ok = (joined["status"] == joined["true_status"]).sum()
    reason_ok = (joined["got_reason"] == joined["true_reason"]).sum()
    print(
        f"lines: {total:,} (only in truth: {(joined['_merge'] == 'left_only').sum()}, "
        f"only published: {(joined['_merge'] == 'right_only').sum()})"
    )
    print(f"status accuracy: {status_ok / total:.5%} ({total - status_ok} wrong)")
    print(f"reason accuracy: {reason_ok / total:.5%} ({total - reason_ok} wrong)")
    print("\nconfusion (rows: truth, columns: published; off-diagonal only)")
    confusion = pd.crosstab(joined["true_reason"], joined["got_reason"])
    off = confusion.stack()
    off = off[(off > 0) & (off.index.get_level_values(0) != off.index.get_level_values(1))]
    print(off.to_string() if len(off) else "  none")

    print(f"\n{'reason':<32}{'expected':>10}{'published':>11}{'diff':>8}")
    for code, want in expected["by_reason"].items():
        got = report["by_reason"].get(code, 0)
        print(f"{code:<32}{want:>10,}{got:>11,}{got - want:>+8,}")
    print(f"\n{'figure':<32}{'expected':>14}{'published':>14}")
    for name in ("raw_count", "valid", "invalid", "required", "margin", "result"):
        print(f"{name:<32}{expected[name]!s:>14}{report[name]!s:>14}")

    wrong = joined[joined["got_reason"] != joined["true_reason"]]
    if len(wrong):
        print(f"\nfirst {min(args.show, len(wrong))} wrong lines:")
        columns = [
            "section_id", "page", "line", "true_reason", "got_reason", "true_case",
            "true_voter_id", "voter_id", "match_method", "candidates_at_address",
            "passing_candidates", "roll_records_with_name",
        ]  # fmt: skip
        print(wrong[[c for c in columns if c in wrong]].head(args.show).to_string(index=False))
    same = (
        len(wrong) == 0
        and report["result"] == expected["result"]
        and report["valid"] == expected["valid"]
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
