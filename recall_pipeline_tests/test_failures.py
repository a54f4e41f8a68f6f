"""Failed runs are recorded in `run_failures`, logged and announced (operations/failures.py and
the run-failure sensor), on both warehouse backends."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shlex
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest

from recall_pipeline import settings
from recall_pipeline.checks import CheckOutcome
from recall_pipeline.defs.operations.sensors import run_failure_sensor
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.operations import failures
from recall_pipeline.operations.failures import (
    ALERT_COMMAND_ENV,
    ALERT_WEBHOOK_ENV,
    RUN_FAILURES,
    CommandNotifier,
    FailedCheck,
    StepFailure,
    WebhookNotifier,
    configured_notifiers,
    describe_error,
    failure_row,
    notification,
    notify_all,
    record_failure,
)
from recall_pipeline.runner import materialize_all
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import build_data_dir, write_lines

FAILED_AT = dt.datetime(2022, 7, 20, 9, 30, tzinfo=dt.UTC)
# Personal values of the test roll: never in the table, the log line or the alert.
PII_VALUES = ("GARCIA", "MARIA", "O'BRIEN", "MUÑOZ", "SUNSET", "1234 1/2", "1970-04-02")


def _row(run_id: str = "run-1", **overrides) -> dict:
    values = dict(
        run_id=run_id,
        job_name="__ASSET_JOB",
        failed_at=FAILED_AT,
        steps=[StepFailure("voter_roll", "StructuralError", "roll.csv, row 3: voter_id repeats")],
        checks=[FailedCheck("voter_roll", "rows_conserved")],
        recorded_at=FAILED_AT + dt.timedelta(seconds=30),
    )
    values.update(overrides)
    return failure_row(**values)


# --- plain functions -------------------------------------------------------------------------


def test_failure_row_names_steps_checks_and_errors() -> None:
    row = _row(
        steps=[
            StepFailure(
                "voter_roll",
                "StructuralError",
                "recall_pipeline.ingest.errors.StructuralError: roll.csv, row 3: "
                "voter_id must be unique, but 1 value(s) repeat: voter_id=V0001\n",
            ),
            StepFailure("petitions", "PetitionConfigError", "p.yaml: 1 problem(s):\n  - kind: 'x'"),
        ],
        partition="batch-7",
    )
    assert row["failed_steps"] == "voter_roll, petitions"
    assert row["failed_checks"] == "voter_roll:rows_conserved"
    assert row["error"].splitlines() == [
        "voter_roll: roll.csv, row 3: voter_id must be unique, but 1 value(s) repeat: "
        "voter_id=V0001",
        "petitions: p.yaml: 1 problem(s): - kind: 'x'",
    ]
    assert row["partition"] == "batch-7"
    assert row["recorded_by"] == "run_failure_sensor"
    assert set(row) == set(RUN_FAILURES.column_names)


def test_failure_row_without_steps_keeps_the_run_error() -> None:
    row = _row(steps=[], checks=[], run_error="Run was canceled", run_error_class=None)
    assert (row["failed_steps"], row["failed_checks"]) == (None, None)
    assert row["error"] == "Run was canceled"
    assert _row(steps=[], checks=[])["error"] == "the run failed without a step failure"


def test_unknown_errors_lose_their_quoted_values() -> None:
    # An arbitrary exception may quote the cell it failed on; the project's own errors do not.
    assert (
        describe_error("ArrowInvalid", "pyarrow.lib.ArrowInvalid: Failed to parse 'GARCIA' as date")
        == "ArrowInvalid: Failed to parse '…' as date"
    )
    assert describe_error("StructuralError", "f.csv: 'voter_id' repeated") == (
        "f.csv: 'voter_id' repeated"
    )


def test_notification_is_json_with_a_summary_line() -> None:
    payload = notification(_row(), recorded=True)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["failed_at"] == "2022-07-20T09:30:00+00:00"
    assert payload["recorded_in_warehouse"] is True
    assert payload["text"].startswith("run run-1 of __ASSET_JOB failed: steps voter_roll;")
    assert "blocking checks voter_roll:rows_conserved" in payload["text"]


def test_record_failure_is_idempotent(warehouse: Warehouse) -> None:
    record_failure(warehouse, _row("run-1"))
    record_failure(warehouse, _row("run-2"))
    again = _row("run-1", recorded_at=FAILED_AT + dt.timedelta(minutes=5))
    record_failure(warehouse, again)

    rows = warehouse.read(RUN_FAILURES).to_pylist()
    assert sorted(r["run_id"] for r in rows) == ["run-1", "run-2"]
    (run_1,) = [r for r in rows if r["run_id"] == "run-1"]
    assert run_1 == again


def test_notifiers_come_from_the_environment() -> None:
    assert configured_notifiers({}) == []
    assert configured_notifiers({ALERT_COMMAND_ENV: "mail -s x ops", ALERT_WEBHOOK_ENV: ""}) == [
        CommandNotifier("mail -s x ops")
    ]
    assert configured_notifiers({ALERT_WEBHOOK_ENV: "https://chat.example/hook"}) == [
        WebhookNotifier("https://chat.example/hook")
    ]


def test_command_and_webhook_notifiers_deliver_the_json(tmp_path: Path) -> None:
    received: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    out = tmp_path / "alert.json"
    payload = notification(_row(), recorded=True)
    try:
        outcome = notify_all(
            [
                CommandNotifier(f"cat > {shlex.quote(str(out))}"),
                WebhookNotifier(f"http://127.0.0.1:{server.server_port}/hook"),
            ],
            payload,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert outcome == {"command": True, "webhook": True}
    assert json.loads(out.read_text()) == payload
    assert [json.loads(body) for body in received] == [payload]


def test_a_failing_notifier_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    secret = "http://127.0.0.1:1/hook?token=s3cret"  # refused at once, no DNS
    with caplog.at_level(logging.WARNING, logger=failures.__name__):
        outcome = notify_all(
            [CommandNotifier("echo nope >&2; exit 3"), WebhookNotifier("file:///etc/passwd")],
            notification(_row(), recorded=True),
        )
        notify_all([WebhookNotifier(secret)], {"text": "x"}, logging.getLogger(failures.__name__))
    assert outcome == {"command": False, "webhook": False}
    assert "failure notifier command failed: RuntimeError: exited with 3: nope" in caplog.text
    assert "s3cret" not in caplog.text


# --- the sensor, on real failed runs ---------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = build_data_dir(tmp_path / "data")
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    return root


@pytest.fixture
def alert_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "alert.json"
    monkeypatch.setenv(ALERT_COMMAND_ENV, f"cat > {shlex.quote(str(out))}")
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    return out


def _evaluate_sensor(instance: dg.DagsterInstance, run_id: str, warehouse_url: str) -> None:
    run = instance.get_run_by_id(run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    (failure,) = instance.get_records_for_run(
        run_id=run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure.event_log_entry.dagster_event,
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
    )
    run_failure_sensor(context)


def _failure_rows(warehouse: Warehouse) -> list[dict]:
    return warehouse.read(RUN_FAILURES).to_pylist()


def test_sensor_records_a_failed_step(
    data_dir: Path,
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    warehouse_url: str,
    alert_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)
    part_2 = data_dir / "voter_roll" / "roll_part_02.csv"
    lines = part_2.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("V0004", "V0001")
    write_lines(part_2, lines)

    outcome = materialize_all()
    assert not outcome.success
    _evaluate_sensor(instance, outcome.run_id, warehouse_url)
    _evaluate_sensor(instance, outcome.run_id, warehouse_url)  # a re-evaluation adds nothing

    (row,) = _failure_rows(warehouse)
    assert row["run_id"] == outcome.run_id
    assert row["job_name"] == "__ASSET_JOB"
    assert row["failed_steps"] == "voter_roll"
    assert row["failed_checks"] is None
    assert row["error"].startswith("voter_roll: voter_roll/roll_part_01.csv, row 2: voter_id")
    assert "voter_id=V0001" in row["error"]
    assert row["recorded_by"] == "run_failure_sensor"
    assert row["failed_at"].tzinfo is not None and row["failed_at"] <= row["recorded_at"]
    alert = json.loads(alert_file.read_text())
    assert alert["run_id"] == outcome.run_id
    assert alert["failed_steps"] == "voter_roll"
    assert alert["recorded_in_warehouse"] is True
    for value in PII_VALUES:
        assert value not in json.dumps(row, default=str) + alert_file.read_text(), value


def test_sensor_records_a_failed_blocking_check(
    data_dir: Path,
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    warehouse_url: str,
    alert_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)
    # A row gone missing between publishing and the conservation check.
    monkeypatch.setattr(
        "recall_pipeline.defs.ingest.assets.conservation_report",
        lambda store, spec: CheckOutcome(False, {"problems": ["roll.csv: read 3, landed 2"]}),
    )

    outcome = materialize_all(selection=["jurisdictions"])
    assert not outcome.success
    _evaluate_sensor(instance, outcome.run_id, warehouse_url)

    (row,) = _failure_rows(warehouse)
    assert row["run_id"] == outcome.run_id
    assert row["failed_steps"] == "jurisdictions"
    assert row["failed_checks"] == "jurisdictions:rows_conserved"
    assert "1 blocking asset check failed with ERROR severity" in row["error"]
    assert json.loads(alert_file.read_text())["failed_checks"] == "jurisdictions:rows_conserved"


@dg.op
def _parse_dates() -> None:
    raise ValueError("could not parse 'GARCIA' as a birth date")


@dg.job
def _failing_job() -> None:
    _parse_dates()


def test_sensor_alerts_and_raises_when_the_warehouse_is_down(
    alert_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dg.instance_for_test() as instance:
        result = _failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        with pytest.raises(Exception, match="connect|refused|Connection"):
            _evaluate_sensor(
                instance, result.run_id, "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
            )
    alert = json.loads(alert_file.read_text())
    assert alert["recorded_in_warehouse"] is False
    assert alert["failed_steps"] == "_parse_dates"
    assert alert["error"] == "_parse_dates: ValueError: could not parse '…' as a birth date"


def test_sensor_is_in_the_definitions() -> None:
    from recall_pipeline.definitions import defs

    sensor = defs().resolve_sensor_def("run_failure_sensor")
    assert isinstance(sensor, dg.RunStatusSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.required_resource_keys == {"warehouse"}
