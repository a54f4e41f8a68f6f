"""Materializing every asset in one process, as `recall-audit run` and the tests do.

The run goes through Dagster itself (the same definitions `dagster dev` shows), on the instance
named by DAGSTER_HOME when set, so command-line runs appear in the UI's history; otherwise on an
ephemeral instance.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.log_manager import get_log_record_event, has_log_record_event

from recall_pipeline.defs.resources import steps_hold_the_warehouse
from recall_pipeline.ingest.errors import StructuralError


@dataclass
class CheckSummary:
    asset: str
    name: str
    passed: bool
    severity: str


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    errors: list[str] = field(default_factory=list)
    checks: list[CheckSummary] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    # Wall time of each step (an asset, or a multi-asset producing several tables), in seconds.
    step_seconds: dict[str, float] = field(default_factory=dict)


def load_definitions() -> dg.Definitions:
    from recall_pipeline.definitions import defs

    return defs()


def _progress_logger(progress: Callable[[str], None]) -> dg.LoggerDefinition:
    started: dict[str, float] = {}
    shown: set = set()

    class ProgressHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not has_log_record_event(record):
                return
            event = get_log_record_event(record)
            kind = event.event_type_value
            if kind == "STEP_START":
                started[event.step_key] = time.perf_counter()
                progress(f"  … {event.step_key}")
            elif kind == "ASSET_MATERIALIZATION":
                # A step over many scan batches reports one materialization per batch.
                if (event.step_key, event.asset_key) in shown:
                    return
                shown.add((event.step_key, event.asset_key))
                elapsed = time.perf_counter() - started.get(event.step_key, time.perf_counter())
                progress(f"  ✓ {event.asset_key.to_user_string()}  ({elapsed:.1f} s)")
            elif kind == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                status = "passed" if data.passed else f"FAILED ({data.severity.value})"
                progress(f"      check {data.check_name}: {status}")
            elif kind == "STEP_FAILURE":
                progress(f"  ✗ {event.step_key} failed")

    @dg.logger
    def progress_logger(_init_context) -> logging.Logger:
        logger = logging.getLogger("recall_pipeline.progress")
        logger.handlers = [ProgressHandler()]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        return logger

    return progress_logger


def materialize_all(
    progress: Callable[[str], None] | None = None,
    selection: list[str] | None = None,
    batches: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> RunOutcome:
    """Materialize every asset (or the `selection` of asset names) and their checks, for every
    scan batch in the data directory (or only `batches`); return what happened instead of
    raising."""
    defs = load_definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    asset_selection = [dg.AssetKey(name) for name in selection] if selection else None
    if progress is not None:
        job = job.with_logger_defs({"progress": _progress_logger(progress)})
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    # Dagster's own console log is for debugging: with progress lines it is replaced by them,
    # without it only warnings get through.
    if progress is not None:
        loggers: dict = {"progress": {}}
    else:
        loggers = {"console": {"config": {"log_level": "WARNING"}}}
    run_config = {"loggers": loggers}
    # The assets partitioned by scan batch, as the definitions declare them.
    batch_assets = {
        spec.key.to_user_string()
        for spec in defs.resolve_all_asset_specs()
        if spec.partitions_def is not None
    }
    partitioned = selection is None or bool(set(selection) & batch_assets)

    def run(on) -> RunOutcome:
        try:
            partition_tags = batch_tags(on, batches, partitioned)
        except (StructuralError, ValueError) as exc:
            return RunOutcome(False, "", errors=[f"scan batches: {exc}"])
        return _execute(job, on, run_config, asset_selection, {**(tags or {}), **partition_tags})

    # Every step runs in this process, one after another: steps may hold the warehouse file.
    with steps_hold_the_warehouse():
        if instance is None:
            with dg.DagsterInstance.ephemeral() as ephemeral:
                return run(ephemeral)
        return run(instance)


def batch_tags(
    instance, batches: list[str] | None = None, partitioned: bool = True
) -> dict[str, str]:
    """Register the data directory's scan batches as partitions (dropping those whose file is
    gone) and the tags that make one run cover `batches`, or all of them."""
    from recall_pipeline import settings
    from recall_pipeline.defs.common import (
        PARTITION_TAG,
        RANGE_END_TAG,
        RANGE_START_TAG,
        SCAN_BATCHES,
    )
    from recall_pipeline.ingest.batches import scan_batches

    present = list(scan_batches(settings.data_dir(), hashed=False))
    known = instance.get_dynamic_partitions(SCAN_BATCHES.name)
    for gone in set(known) - set(present):
        instance.delete_dynamic_partition(SCAN_BATCHES.name, gone)
    instance.add_dynamic_partitions(SCAN_BATCHES.name, [k for k in present if k not in known])
    if not partitioned:
        return {}
    wanted = batches if batches is not None else present
    unknown = sorted(set(wanted) - set(present))
    if unknown:
        raise StructuralError("petitions/", f"no scan file for batch(es) {', '.join(unknown)}")
    if not wanted:
        raise StructuralError("petitions/*/scans/", "no scan batch files found")
    if len(wanted) == 1:
        return {PARTITION_TAG: wanted[0]}
    order = instance.get_dynamic_partitions(SCAN_BATCHES.name)
    positions = sorted(order.index(k) for k in wanted)
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise ValueError("batches must be a contiguous run of the registered scan batches")
    return {
        RANGE_START_TAG: order[positions[0]],
        RANGE_END_TAG: order[positions[-1]],
    }


def _execute(job, instance, run_config, asset_selection, tags) -> RunOutcome:
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config=run_config,
        asset_selection=asset_selection,
        tags=tags,
    )
    errors = []
    checks = []
    materialized = []
    for event in result.all_events:
        if event.is_step_failure:
            errors.append(f"{event.step_key}: {_user_message(event.step_failure_data.error)}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            checks.append(
                CheckSummary(
                    data.asset_key.to_user_string(),
                    data.check_name,
                    data.passed,
                    data.severity.value,
                )
            )
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialized.append(event.asset_key.to_user_string())
    return RunOutcome(
        result.success, result.run_id, errors, checks, materialized, _step_seconds(instance, result)
    )


def _step_seconds(instance, result) -> dict[str, float]:
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds[event.step_key] = round(entry.timestamp - started.get(event.step_key, 0), 3)
    return seconds


# Errors that describe bad input speak for themselves; others keep their class name.
_INPUT_ERRORS = ("StructuralError", "PetitionConfigError")


def _user_message(error) -> str:
    if error is None:
        return "unknown error"
    # Dagster wraps what user code raised; the original is the cause.
    original = error.cause or error
    message = original.message.strip()
    if original.cls_name in _INPUT_ERRORS:
        prefix, _, rest = message.partition(": ")
        if prefix.endswith(original.cls_name):
            return rest
    return message


def verify_all_job() -> dg.JobDefinition:
    """The `verify_all` job, importable by name: what a run in its own processes (launched by
    the daemon, or on the multiprocess executor) reconstructs."""
    return load_definitions().get_job_def("verify_all")
