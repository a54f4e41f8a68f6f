"""The run-failure sensor: every failed run of this code location is recorded in the
`run_failures` table, logged, and passed to the configured notifiers
(`recall_pipeline/operations/failures.py`). It runs under `dagster-daemon` (and `dagster dev`).
"""

import datetime as dt

import dagster as dg

from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.operations.failures import (
    FailedCheck,
    StepFailure,
    configured_notifiers,
    failure_row,
    notification,
    notify_all,
    record_failure,
    summary_line,
)

_EVENTS = {
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.RUN_FAILURE,
}


def _original(error):
    # Dagster wraps what user code raised; the cause is what the county needs to read.
    while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error


def _step_failure(event: dg.DagsterEvent) -> StepFailure:
    error = _original(event.step_failure_data.error)
    if error is None:
        return StepFailure(event.step_key, None, event.message or "step failed")
    return StepFailure(event.step_key, error.cls_name, error.message)


def _failed_blocking_check(event: dg.DagsterEvent) -> FailedCheck | None:
    evaluation = event.event_specific_data
    if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
        return None
    # Events written before Dagster recorded `blocking` leave it None: report those too.
    if evaluation.blocking is False:
        return None
    return FailedCheck(evaluation.asset_key.to_user_string(), evaluation.check_name)


@dg.run_failure_sensor(
    name="run_failure_sensor",
    description="Records every failed run (failed steps, failed blocking checks, the error) in "
    "the run_failures table, logs it, and runs RECALL_ALERT_COMMAND / RECALL_ALERT_WEBHOOK.",
    # Runs of `recall-audit run` execute in-process and carry no code location; only a sensor
    # watching every location sees them. The workspace has one location, so nothing else is.
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_sensor(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    records = context.instance.get_records_for_run(run_id=run.run_id, of_type=_EVENTS).records
    steps: list[StepFailure] = []
    checks: list[FailedCheck] = []
    failed_at = None
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.is_step_failure:
            steps.append(_step_failure(event))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            if failed := _failed_blocking_check(event):
                checks.append(failed)
        elif event.event_type == dg.DagsterEventType.RUN_FAILURE:
            failed_at = dt.datetime.fromtimestamp(record.timestamp, dt.UTC)
    run_error = _original(getattr(context.failure_event.event_specific_data, "error", None))
    row = failure_row(
        run_id=run.run_id,
        job_name=run.job_name,
        failed_at=failed_at or dt.datetime.now(dt.UTC),
        steps=steps,
        checks=checks,
        run_error=run_error.message if run_error else context.failure_event.message,
        run_error_class=run_error.cls_name if run_error else None,
        partition=context.partition_key or run.tags.get("dagster/partition"),
        recorded_by=context.sensor_name,
    )
    context.log.error(summary_line(row))
    recorded, problem = True, None
    try:
        with warehouse.open() as store:
            record_failure(store, row)
    except Exception as exc:  # noqa: BLE001 - still alert when the warehouse is what failed
        recorded, problem = False, exc
        context.log.error(f"could not record run {run.run_id} in run_failures: {exc}")
    notify_all(configured_notifiers(), notification(row, recorded=recorded), context.log)
    if problem is not None:
        # Raised after alerting: the tick shows the error, and Dagster still moves past this
        # run, so the alert is not repeated on every tick.
        raise problem
