"""Failed runs, recorded in the warehouse and announced to whoever is on call.

A run fails when a step raises (bad input, a crash) or when a blocking check fails with ERROR
severity. The run-failure sensor (`defs/operations/sensors.py`) reads what failed from Dagster's
event log and hands plain values to this module, which turns them into one `run_failures` row,
publishes it, and passes it to the configured notifiers.

The row names runs, steps, checks, files and row numbers — never voter data. The project's own
input errors (`StructuralError`, `PetitionConfigError`) promise not to quote personal data, so
their messages are kept whole; any other exception may quote a cell it choked on, so its quoted
literals are blanked. The full traceback stays on the run's page in the Dagster UI.

Notifiers are how a county wires e-mail or chat without code: `RECALL_ALERT_COMMAND` is a shell
command that gets the failure as JSON on stdin (`mail -s ...`, `sendmail`, `curl ... -d @-`),
`RECALL_ALERT_WEBHOOK` a URL the JSON is POSTed to. Without either, failures are only logged and
recorded. A notifier that fails is logged and never raises: the alert path must not hide the
failure it reports.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from recall_pipeline.tables import RUN_ID, Column, TableSchema
from recall_pipeline.warehouse import Warehouse

log = logging.getLogger(__name__)

ALERT_COMMAND_ENV = "RECALL_ALERT_COMMAND"
ALERT_WEBHOOK_ENV = "RECALL_ALERT_WEBHOOK"

RUN_FAILURES = TableSchema(
    name="run_failures",
    description="One row per failed Dagster run: when it failed, which steps and blocking "
    "checks failed, and why. Identifiers only, no voter data.",
    columns=(
        RUN_ID,
        Column("job_name", "string", False, "the job the run belonged to"),
        Column("failed_at", "timestamp", False, "when the run failed (UTC)"),
        Column("failed_steps", "string", True, "failed step keys, comma-separated"),
        Column(
            "failed_checks",
            "string",
            True,
            "asset:check of each blocking check that failed with ERROR severity, comma-separated",
        ),
        Column("error", "string", False, "one line per failed step, or the run's own error"),
        Column("partition", "string", True, "the run's partition, if it had one"),
        Column("recorded_at", "timestamp", False, "when the sensor recorded it (UTC)"),
        Column("recorded_by", "string", False, "the sensor that recorded it"),
    ),
    primary_key=("run_id",),
)

# Errors whose messages are written for the county and are free of personal data by contract.
SELF_DESCRIBING_ERRORS = frozenset(
    {"StructuralError", "PetitionConfigError", "DagsterAssetCheckFailedError"}
)
MAX_ERROR_CHARS = 4000
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


@dataclass(frozen=True)
class StepFailure:
    step_key: str
    error_class: str | None
    message: str


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str

    def __str__(self) -> str:
        return f"{self.asset}:{self.check}"


def describe_error(error_class: str | None, message: str) -> str:
    """The error as the table shows it: the project's own errors verbatim, others with quoted
    literals blanked (they may be cell values)."""
    # One line per failure keeps the table and the log line readable; lists stay in order.
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    if error_class:
        # Python's rendering puts "package.module.Class: " in front of the message.
        text = re.sub(rf"^(?:[\w.]+\.)?{re.escape(error_class)}: ", "", text, count=1)
        if error_class not in SELF_DESCRIBING_ERRORS:
            blanked = _QUOTED.sub(lambda m: f"{m.group(0)[0]}…{m.group(0)[0]}", text)
            text = f"{error_class}: {blanked}"
    return text


def failure_row(
    *,
    run_id: str,
    job_name: str,
    failed_at: dt.datetime,
    steps: Sequence[StepFailure] = (),
    checks: Iterable[FailedCheck] = (),
    run_error: str | None = None,
    run_error_class: str | None = None,
    partition: str | None = None,
    recorded_by: str = "run_failure_sensor",
    recorded_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The `run_failures` row of one failed run."""
    step_keys = list(dict.fromkeys(s.step_key for s in steps))
    check_names = list(dict.fromkeys(str(c) for c in checks))
    if steps:
        error = "\n".join(
            f"{s.step_key}: {describe_error(s.error_class, s.message)}" for s in steps
        )
    else:
        # Nothing inside a step failed: the run itself did (launch, code server, cancellation).
        error = describe_error(run_error_class, run_error or "")
        error = error or "the run failed without a step failure"
    if len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    return {
        "run_id": run_id,
        "job_name": job_name,
        "failed_at": _utc(failed_at),
        "failed_steps": ", ".join(step_keys) or None,
        "failed_checks": ", ".join(check_names) or None,
        "error": error,
        "partition": partition,
        "recorded_at": _utc(recorded_at or dt.datetime.now(dt.UTC)),
        "recorded_by": recorded_by,
    }


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("timestamps of run_failures must carry a time zone")
    return moment.astimezone(dt.UTC)


def record_failure(store: Warehouse, row: Mapping[str, Any]) -> int:
    """Publish `row`, replacing any earlier row of the same run: a sensor re-evaluating the same
    run leaves exactly one row."""
    frame = pd.DataFrame([dict(row)], columns=RUN_FAILURES.column_names)
    return store.publish(RUN_FAILURES, frame, replace_where={"run_id": row["run_id"]})


def summary_line(row: Mapping[str, Any]) -> str:
    """The one log line of a failure."""
    what = []
    if row.get("failed_steps"):
        what.append(f"steps {row['failed_steps']}")
    if row.get("failed_checks"):
        what.append(f"blocking checks {row['failed_checks']}")
    partition = f" partition {row['partition']}" if row.get("partition") else ""
    first_error = str(row.get("error") or "").splitlines()[0:1]
    return (
        f"run {row['run_id']} of {row['job_name']}{partition} failed"
        f"{': ' + '; '.join(what) if what else ''}"
        f"{' — ' + first_error[0] if first_error else ''}"
    )


def notification(row: Mapping[str, Any], *, recorded: bool) -> dict[str, Any]:
    """What notifiers receive: the row as JSON-able values, and `text`, the summary line that
    chat webhooks display."""
    payload: dict[str, Any] = {"text": summary_line(row)}
    for key, value in row.items():
        payload[key] = value.isoformat() if isinstance(value, dt.datetime) else value
    payload["recorded_in_warehouse"] = recorded
    payload["table"] = RUN_FAILURES.name
    return payload


# --- notifiers ------------------------------------------------------------------------------


class Notifier(Protocol):
    """Something that tells a person about a failure. `name` is what logs show: never the
    command or URL, which may hold a token."""

    name: str

    def notify(self, payload: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class CommandNotifier:
    """Runs a shell command with the failure as JSON on stdin (e-mail, chat CLIs, curl)."""

    command: str
    timeout: float = 60.0
    name: str = "command"

    def notify(self, payload: Mapping[str, Any]) -> None:
        done = subprocess.run(
            self.command,
            shell=True,
            input=json.dumps(payload, sort_keys=True),
            text=True,
            capture_output=True,
            timeout=self.timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"exited with {done.returncode}: {done.stderr.strip()[-500:]}")


@dataclass(frozen=True)
class WebhookNotifier:
    """POSTs the failure as JSON to a URL (chat incoming webhooks, an on-call service)."""

    url: str
    timeout: float = 10.0
    name: str = "webhook"

    def notify(self, payload: Mapping[str, Any]) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"{ALERT_WEBHOOK_ENV} must be an http(s) URL")
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload, sort_keys=True).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


_registered: list[Notifier] = []


def register_notifier(notifier: Notifier) -> None:
    """Add a notifier in code, beside the ones the environment configures."""
    _registered.append(notifier)


def configured_notifiers(environ: Mapping[str, str] | None = None) -> list[Notifier]:
    """Registered notifiers, then those named by RECALL_ALERT_COMMAND / RECALL_ALERT_WEBHOOK."""
    env = os.environ if environ is None else environ
    notifiers: list[Notifier] = list(_registered)
    if command := env.get(ALERT_COMMAND_ENV, "").strip():
        notifiers.append(CommandNotifier(command))
    if url := env.get(ALERT_WEBHOOK_ENV, "").strip():
        notifiers.append(WebhookNotifier(url))
    return notifiers


def notify_all(
    notifiers: Sequence[Notifier],
    payload: Mapping[str, Any],
    logger: logging.Logger | logging.LoggerAdapter = log,
) -> dict[str, bool]:
    """Give `payload` to every notifier; a failing one is logged, never raised. Returns which
    notifiers succeeded, by name."""
    outcome: dict[str, bool] = {}
    for notifier in notifiers:
        try:
            notifier.notify(payload)
        except Exception as exc:  # noqa: BLE001 - the alert must not mask the failure itself
            logger.warning(f"failure notifier {notifier.name} failed: {type(exc).__name__}: {exc}")
            outcome[notifier.name] = False
        else:
            outcome[notifier.name] = True
    return outcome
