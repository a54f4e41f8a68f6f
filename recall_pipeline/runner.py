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
    # What the check proves (its spec's description, unless its result gave one) and what it
    # found: counts, files, rows and identifying keys, never personal data (see checks.py).
    description: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class RunOutcome:
    success: bool
    # The last run (the one that failed, when one did); `run_ids` has every run, in order.
    run_id: str
    errors: list[str] = field(default_factory=list)
    checks: list[CheckSummary] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    # Wall time of each step (an asset, or a multi-asset producing several tables), in seconds.
    step_seconds: dict[str, float] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)

    @classmethod
    def of_runs(cls, outcomes: list[RunOutcome]) -> RunOutcome:
        """One outcome for runs made one after another."""
        merged = cls(all(o.success for o in outcomes), outcomes[-1].run_id)
        for o in outcomes:
            merged.errors += o.errors
            merged.checks += o.checks
            merged.materialized += o.materialized
            merged.step_seconds.update(o.step_seconds)
            merged.run_ids += o.run_ids or [o.run_id]
        return merged


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
    raising.

    As a deployment does (`verify_lines`, then `verify_petitions` for the petitions of its
    batches), this takes two runs: one over the scan batches, one over the petitions; the
    second starts only if the first succeeded.
    """
    from recall_pipeline.defs.common import PARTITION_TAGS, SCAN_BATCHES
    from recall_pipeline.defs.jobs import PETITION_PHASE

    defs = load_definitions()
    job = defs.resolve_implicit_global_asset_job_def()
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
    graph = defs.resolve_asset_graph()
    per_petition = {key.to_user_string() for key in PETITION_PHASE.resolve(graph)}
    every = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    wanted = selection or every
    phases = [
        [a for a in wanted if a not in per_petition],
        [a for a in wanted if a in per_petition],
    ]
    described = {
        (spec.asset_key.to_user_string(), spec.name): spec.description or ""
        for assets_def in graph.assets_defs
        for spec in assets_def.check_specs
    }
    # The assets partitioned by scan batch, as the definitions declare them.
    batch_assets = {
        spec.key.to_user_string()
        for spec in defs.resolve_all_asset_specs()
        if spec.partitions_def == SCAN_BATCHES
    }

    def run(on) -> RunOutcome:
        try:
            partition_tags = batch_tags(on, batches, bool(set(phases[0]) & batch_assets))
            petition_runs = petition_tags(on, batches) if phases[1] else []
        except (StructuralError, ValueError) as exc:
            return RunOutcome(False, "", errors=[f"scan batches: {exc}"])
        outcomes = []
        # The runner decides which partitions each run covers (a schedule's tags name batches).
        given = {k: v for k, v in (tags or {}).items() if k not in PARTITION_TAGS}
        for assets, runs in ((phases[0], [partition_tags]), (phases[1], petition_runs)):
            for run_tags in runs if assets else []:
                keys = [dg.AssetKey(name) for name in assets]
                outcomes.append(
                    _execute(job, on, run_config, keys, {**given, **run_tags}, described)
                )
                if not outcomes[-1].success:
                    return RunOutcome.of_runs(outcomes)
        return RunOutcome.of_runs(outcomes)

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
    from recall_pipeline.defs.common import SCAN_BATCHES, range_tags
    from recall_pipeline.ingest.batches import scan_batches

    present = list(scan_batches(settings.data_dir(), hashed=False))
    _register(instance, SCAN_BATCHES.name, present)
    if not partitioned:
        return {}
    wanted = batches if batches is not None else present
    unknown = sorted(set(wanted) - set(present))
    if unknown:
        raise StructuralError("petitions/", f"no scan file for batch(es) {', '.join(unknown)}")
    if not wanted:
        raise StructuralError("petitions/*/scans/", "no scan batch files found")
    return range_tags(instance.get_dynamic_partitions(SCAN_BATCHES.name), wanted)


def petition_tags(instance, batches: list[str] | None = None) -> list[dict[str, str]]:
    """Register the data directory's petitions as partitions (dropping those whose folder is
    gone) and the tags of the petition runs that follow a run for `batches` (or for all):
    one run over every petition, or one per petition of those batches, deciding again only
    what their lines can change."""
    from recall_pipeline import settings
    from recall_pipeline.defs.common import (
        CHANGED_LINES_TAG,
        PARTITION_TAG,
        PETITIONS,
        SCAN_BATCHES,
        petition_of,
        range_tags,
    )
    from recall_pipeline.ingest.pipeline import petition_folders

    present = [folder.name for folder in petition_folders(settings.data_dir())]
    _register(instance, PETITIONS.name, present)
    if not present:
        raise StructuralError("petitions/", "no petition folders found")
    # `batch_tags` registered the data directory's batches.
    if batches is None or set(batches) >= set(instance.get_dynamic_partitions(SCAN_BATCHES.name)):
        return [range_tags(instance.get_dynamic_partitions(PETITIONS.name), present)]
    return [
        {PARTITION_TAG: petition, CHANGED_LINES_TAG: "true"}
        for petition in sorted({petition_of(key) for key in batches})
    ]


def _register(instance, partitions: str, present: list[str]) -> None:
    """Make the instance's dynamic partitions `partitions` exactly `present`."""
    known = instance.get_dynamic_partitions(partitions)
    for gone in set(known) - set(present):
        instance.delete_dynamic_partition(partitions, gone)
    instance.add_dynamic_partitions(partitions, [k for k in present if k not in known])


def _execute(job, instance, run_config, asset_selection, tags, described) -> RunOutcome:
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
            asset = data.asset_key.to_user_string()
            checks.append(
                CheckSummary(
                    asset,
                    data.check_name,
                    data.passed,
                    data.severity.value,
                    data.description or described.get((asset, data.check_name), ""),
                    {key: _plain(value) for key, value in data.metadata.items()},
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


def _plain(value):
    return value.value if isinstance(value, dg.MetadataValue) else value


# Errors that describe bad input speak for themselves; others keep their class name.
_INPUT_ERRORS = ("StructuralError", "PetitionConfigError")


def _user_message(error) -> str:
    if error is None:
        return "unknown error"
    # Dagster wraps what user code raised; the original is the cause.
    original = error.cause or error
    message = original.message.strip()
    if original.cls_name == "DagsterAssetCheckFailedError":
        # "<module>.DagsterAssetCheckFailedError: N blocking asset check(s) failed ...:" and a
        # line per check; what each found is in the run's check results.
        _, _, rest = message.partition(": ")
        return " ".join(line.strip() for line in rest.splitlines() if line.strip())
    if original.cls_name in _INPUT_ERRORS:
        prefix, _, rest = message.partition(": ")
        if prefix.endswith(original.cls_name):
            return rest
    return message


def verify_lines_job() -> dg.JobDefinition:
    """The `verify_lines` job, importable by name: what a run in its own processes (launched
    by the daemon, or on the multiprocess executor) reconstructs."""
    return load_definitions().resolve_job_def("verify_lines")


def verify_petitions_job() -> dg.JobDefinition:
    """The `verify_petitions` job, importable by name (see `verify_lines_job`)."""
    return load_definitions().resolve_job_def("verify_petitions")
