"""Runs the `verify_lines` job, then `verify_petitions`, the way the daemon launches them:
reconstructed by name in their own process, each step in a subprocess of the multiprocess
executor. Called by test_batches.py as
`python -m recall_pipeline_tests.multiprocess_run` (the executor's subprocesses import the
main module again, so this cannot run inside pytest's process)."""

from __future__ import annotations

import sys

import dagster as dg

from recall_pipeline import runner, settings
from recall_pipeline.defs.common import PUBLICATION_TAG
from recall_pipeline.defs.planning import lines_run_tags, petition_run_tags, register_partitions
from recall_pipeline.publication import new_publication_id


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        register_partitions(instance, settings.data_dir())
        batches = instance.get_dynamic_partitions("scan_batches")
        petitions = instance.get_dynamic_partitions("petitions")
        publication = {PUBLICATION_TAG: new_publication_id()}
        pids = set()
        for job, tags in (
            (runner.verify_lines_job, {**lines_run_tags(batches), **publication}),
            (
                runner.verify_petitions_job,
                {**petition_run_tags(petitions, batches, batches), **publication},
            ),
        ):
            result = dg.execute_job(dg.reconstructable(job), instance=instance, tags=tags)
            pids |= {e.pid for e in result.all_events if e.event_type_value == "STEP_START"}
            if not result.success:
                print("success=False")
                return 1
        print(f"success=True step_processes={len(pids)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
