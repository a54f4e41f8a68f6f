"""How a launched run executes its steps: each in its own process, a bounded number at once.

`recall-audit run` executes in its own process; runs launched by the daemon (sensors,
schedules, the UI) use this executor. Steps tagged as memory-heavy — the roll's ingestion,
matching, the verdicts — never run side by side, so a run's peak memory is one heavy step's.
"""

import os

import dagster as dg

MEMORY_TAG = "recall/memory"
HEAVY = {MEMORY_TAG: "high"}


@dg.definitions
def execution() -> dg.Definitions:
    processes = int(os.environ.get("RECALL_MAX_PROCESSES", "2"))
    return dg.Definitions(
        executor=dg.multiprocess_executor.configured(
            {
                "max_concurrent": processes,
                "tag_concurrency_limits": [{"key": MEMORY_TAG, "value": "high", "limit": 1}],
            }
        )
    )
