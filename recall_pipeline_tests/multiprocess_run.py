"""Runs the `verify_all` job the way the daemon launches it: reconstructed by name in its own
process, each step in a subprocess of the multiprocess executor. Called by test_batches.py as
`python -m recall_pipeline_tests.multiprocess_run` (the executor's subprocesses import the
main module again, so this cannot run inside pytest's process)."""

from __future__ import annotations

import sys

import dagster as dg

from recall_pipeline import runner, settings
from recall_pipeline.defs.common import RANGE_END_TAG, RANGE_START_TAG
from recall_pipeline.ingest.batches import scan_batches


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        keys = list(scan_batches(settings.data_dir(), hashed=False))
        instance.add_dynamic_partitions("scan_batches", keys)
        result = dg.execute_job(
            dg.reconstructable(runner.verify_all_job),
            instance=instance,
            tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
        )
        steps = {e.step_key: e.pid for e in result.all_events if e.event_type_value == "STEP_START"}
        print(f"success={result.success} step_processes={len(set(steps.values()))}")
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
