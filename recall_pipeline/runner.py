"""Materializing every asset in one process, as `recall-audit run` and the tests do.

The run goes through Dagster itself (the same definitions `dagster dev` shows), on the instance
named by DAGSTER_HOME when set, so command-line runs appear in the UI's history; otherwise on an
ephemeral instance.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from recall_pipeline import settings
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
    # The publication the runs committed (None when they did not).
    publication: str | None = None

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


@dataclass(frozen=True)
class Locations:
    """Where a run reads its inputs and writes its tables and certificates."""

    warehouse_url: str
    data_dir: Path
    reports_dir: Path

    @classmethod
    def from_settings(cls) -> Locations:
        return cls(settings.warehouse_url(), settings.data_dir(), settings.reports_dir())


class _Progress(threading.Thread):
    """Prints a run's steps, materializations and checks as the run records them."""

    _KINDS = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    }

    def __init__(self, instance: dg.DagsterInstance, run_id: str, say: Callable[[str], None]):
        super().__init__(daemon=True)
        self.instance, self.run_id, self.say = instance, run_id, say
        self.done = threading.Event()
        self.cursor: str | None = None
        self.started: dict[str, float] = {}
        self.shown: set = set()

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.drain()

    def finish(self) -> None:
        self.done.set()
        self.join()
        self.drain()

    def drain(self) -> None:
        while True:
            page = self.instance.get_records_for_run(
                self.run_id, cursor=self.cursor, of_type=self._KINDS, limit=200
            )
            for record in page.records:
                entry = record.event_log_entry
                if entry.dagster_event is not None:
                    self.show(entry.dagster_event, entry.timestamp)
            self.cursor = page.cursor
            if not page.has_more:
                return

    def show(self, event: dg.DagsterEvent, at: float) -> None:
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.started[event.step_key] = at
            self.say(f"  … {event.step_key}")
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            # A step over many scan batches reports one materialization per batch.
            if (event.step_key, event.asset_key) in self.shown:
                return
            self.shown.add((event.step_key, event.asset_key))
            elapsed = at - self.started.get(event.step_key, at)
            self.say(f"  ✓ {event.asset_key.to_user_string()}  ({elapsed:.1f} s)")
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            status = "passed" if data.passed else f"FAILED ({data.severity.value})"
            self.say(f"      check {data.check_name}: {status}")
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self.say(f"  ✗ {event.step_key} failed")


def materialize_all(
    progress: Callable[[str], None] | None = None,
    selection: list[str] | None = None,
    batches: list[str] | None = None,
    tags: dict[str, str] | None = None,
    locations: Locations | None = None,
    wait: float = 3600.0,
) -> RunOutcome:
    """Materialize every asset (or the `selection` of asset names) and their checks, for every
    scan batch in the data directory (or only `batches`); return what happened instead of
    raising.

    As a deployment does (`verify_lines`, then `verify_petitions` for the petitions of its
    batches, planned by `defs/planning.py` as the sensors plan them), this takes two runs, the
    second only if the first succeeded. Both write into one publication, which the second
    commits (the `publication` asset, always selected): their tables become visible together
    or not at all. While it goes, the run holds the warehouse's lease: a second one waits up to
    `wait` seconds for it.
    """
    from recall_pipeline.defs.common import PARTITION_TAGS, PUBLICATION_TAG, SCAN_BATCHES
    from recall_pipeline.defs.jobs import PETITION_PHASE
    from recall_pipeline.defs.planning import (
        lines_run_tags,
        petition_run_tags,
        register_partitions,
    )
    from recall_pipeline.publication import LeaseTimeout, lease, new_publication_id

    where = locations or Locations.from_settings()
    defs = load_definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    # Dagster's own console log is for debugging: with progress lines printed from the run's
    # events it is silenced, without them only warnings get through.
    level = "CRITICAL" if progress is not None else "WARNING"
    run_config = {
        "loggers": {"console": {"config": {"log_level": level}}},
        "resources": {
            # One process runs every step, one after another: steps may hold the file.
            "warehouse": {"config": {"url": where.warehouse_url, "hold_per_step": True}},
            "input_data": {
                "config": {"data_dir": str(where.data_dir), "reports_dir": str(where.reports_dir)}
            },
        },
    }
    graph = defs.resolve_asset_graph()
    per_petition = {key.to_user_string() for key in PETITION_PHASE.resolve(graph)}
    every = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    wanted = sorted(set(selection or every) | {"publication"})
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

    def run(on: dg.DagsterInstance) -> RunOutcome:
        try:
            register_partitions(on, where.data_dir)
            registered = on.get_dynamic_partitions(SCAN_BATCHES.name)
            lines_tags = (
                lines_run_tags(registered, batches) if set(phases[0]) & batch_assets else {}
            )
            covered = batches if batches is not None else registered
            petitions_tags = petition_run_tags(
                on.get_dynamic_partitions("petitions"), registered, covered
            )
        except (StructuralError, ValueError) as exc:
            return RunOutcome(False, "", errors=[f"scan batches: {exc}"])
        publication = new_publication_id()
        # The runner decides which partitions each run covers (a schedule's tags name batches).
        given = {k: v for k, v in (tags or {}).items() if k not in PARTITION_TAGS}
        given[PUBLICATION_TAG] = publication
        outcomes = []
        for assets, run_tags in ((phases[0], lines_tags), (phases[1], petitions_tags)):
            if not assets:
                continue
            keys = [dg.AssetKey(name) for name in assets]
            outcomes.append(
                _execute(
                    job,
                    on,
                    run_config,
                    keys,
                    {**given, **run_tags},
                    described,
                    progress,
                )
            )
            if not outcomes[-1].success:
                break
        merged = RunOutcome.of_runs(outcomes)
        merged.publication = publication if merged.success else None
        return merged

    try:
        with lease(where.warehouse_url, wait, progress):
            if not os.environ.get("DAGSTER_HOME"):
                with dg.DagsterInstance.ephemeral() as ephemeral:
                    return run(ephemeral)
            with dg.DagsterInstance.get() as instance:
                return run(instance)
    except LeaseTimeout as exc:
        return RunOutcome(False, "", errors=[str(exc)])


def _execute(job, instance, run_config, asset_selection, tags, described, progress) -> RunOutcome:
    run_id = str(uuid.uuid4())
    watcher = _Progress(instance, run_id, progress) if progress is not None else None
    if watcher is not None:
        watcher.start()
    try:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=run_config,
            asset_selection=asset_selection,
            tags=tags,
            run_id=run_id,
        )
    finally:
        if watcher is not None:
            watcher.finish()
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
