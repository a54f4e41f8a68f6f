"""Runs that start themselves: a sensor for scan batches and review files as they arrive, the
nightly refresh against the latest voter-roll extract, and the sensor that decides each
petition again after its lines are matched (`verify_lines` → `verify_petitions`, see
`defs/jobs.py`)."""

import datetime as dt
import hashlib
from pathlib import Path

import dagster as dg

from recall_pipeline.defs.common import (
    PETITION_TAG,
    PETITIONS,
    PUBLICATION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    REASON_TAG,
    SCAN_BATCHES,
    petition_of,
    tagged_partitions,
)
from recall_pipeline.defs.jobs import (
    LINES_PHASE,
    PETITION_PHASE,
    REVIEW_RUN,
    verify_lines,
    verify_petitions,
)
from recall_pipeline.defs.planning import petition_run_tags
from recall_pipeline.defs.resources import InputDataResource, run_publication
from recall_pipeline.ingest.arrivals import advance, arrivals, departed_batches

# A batch's own lines and matches; its petition's verdicts follow in a `verify_petitions` run.
BATCH_LINES = dg.AssetSelection.assets("petition_lines").downstream() & LINES_PHASE
# A new roll extract: every line is matched again, then every petition decided again.
ROLL_RUN = (
    dg.AssetSelection.assets("voter_roll", "voter_address_history").downstream()
    | dg.AssetSelection.assets("jurisdiction_zips")
) & LINES_PHASE
# On a `verify_lines` run: the petitions to decide after it, when they are not just those of
# its batches (a batch withdrawn from one petition, carried by a batch of another).
PETITIONS_TAG = "recall/petitions"


def batch_run_assets(asset_graph) -> list[str]:
    """The asset names a run for a new scan batch materializes, in both phases."""
    both = BATCH_LINES | PETITION_PHASE
    return sorted(key.to_user_string() for key in both.resolve(asset_graph))


BATCH_TAG = "recall/batch"


@dg.sensor(
    jobs=[verify_lines, verify_petitions],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches a run for a new or changed scan batch or review file, or one to drop the "
        "lines of scan batches no longer delivered — one at a time: while a run and the one "
        "after it have not published, new files wait."
    ),
)
def data_arrivals(context: dg.SensorEvaluationContext, input_data: InputDataResource):
    # Two chains of runs started from one publication cannot both commit (see
    # recall_pipeline/publication.py): the second would fail. New files wait their turn.
    if busy := _chain_in_flight(context.instance):
        return dg.SkipReason(f"run {busy} has not published yet; new files wait for it")
    found, cursor = arrivals(Path(input_data.data_dir), context.cursor)
    known = set(context.instance.get_dynamic_partitions(SCAN_BATCHES.name))
    new_batches = sorted(
        {a.file.key for a in found if a.kind == "scan_batch" and a.file.key not in known}
    )
    gone = [key for key in departed_batches(context.cursor, cursor) if key in known]
    remaining = sorted((known - set(gone)) | set(new_batches))
    add = [SCAN_BATCHES.build_add_request(new_batches)] if new_batches else []
    # A batch whose file is gone is no partition any more: a run over every batch would
    # look for its file.
    add += [SCAN_BATCHES.build_delete_request(gone)] if gone else []
    petitions = set(context.instance.get_dynamic_partitions(PETITIONS.name))
    new_petitions = sorted({a.file.petition_id for a in found} - petitions)
    add += [PETITIONS.build_add_request(new_petitions)] if new_petitions else []
    if found and not _loaded(context.instance):
        # Nothing verified yet: one run loads every input and matches every batch (a batch
        # alone has no roll to be matched against); `petition_runs` decides each petition.
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"initial:{cursor}",
                    job_name=verify_lines.name,
                    tags={
                        REASON_TAG: f"first verification ({len(found)} files arrived)",
                        RANGE_START_TAG: remaining[0],
                        RANGE_END_TAG: remaining[-1],
                    },
                )
            ]
            if remaining
            else [],
            dynamic_partitions_requests=add,
            cursor=cursor,
        )
    graph = context.repository_def.asset_graph
    # One chain per look: a scan batch (which also drops the lines of batches gone), else the
    # departures, else a review file.
    scans = [a for a in found if a.kind == "scan_batch"]
    requests = _departure_runs(context, gone, remaining, found)
    handled = scans[:1] if scans else ([] if requests else found[:1])
    for arrival in handled:
        tags = {REASON_TAG: arrival.reason, PETITION_TAG: arrival.file.petition_id}
        if arrival.kind == "scan_batch":
            requests.append(
                dg.RunRequest(
                    run_key=arrival.run_key,
                    job_name=verify_lines.name,
                    partition_key=arrival.file.key,
                    asset_selection=list(BATCH_LINES.resolve(graph)),
                    tags={**tags, BATCH_TAG: arrival.file.key},
                )
            )
        else:
            requests.append(
                dg.RunRequest(
                    run_key=arrival.run_key,
                    job_name=verify_petitions.name,
                    partition_key=arrival.file.petition_id,
                    asset_selection=list(REVIEW_RUN.resolve(graph)),
                    tags=tags,
                )
            )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=add,
        cursor=advance(context.cursor, cursor, handled),
    )


def _departure_runs(
    context: dg.SensorEvaluationContext, gone: list[str], remaining: list[str], found: list
) -> list[dg.RunRequest]:
    """One run that drops the rows of the batches in `gone`.

    A batch run drops the rows of every scan file no longer delivered along with its own, so a
    batch arriving in the same look does it; otherwise one remaining batch (of the same
    petition where there is one) is matched again to carry the removal — its own rows come
    out as they were — and the petitions of the gone batches are decided again after it.
    """
    if not gone or any(a.kind == "scan_batch" for a in found):
        return []
    if not remaining:
        context.log.warning(
            f"scan batches {', '.join(gone)} are gone and no batch remains; their rows stay "
            "until a batch is delivered"
        )
        return []
    petition = petition_of(gone[0])
    carrier = next((k for k in remaining if petition_of(k) == petition), remaining[0])
    state = hashlib.sha256(f"{gone}{remaining}".encode()).hexdigest()[:16]
    return [
        dg.RunRequest(
            run_key=f"departed:{','.join(gone)}@{state}",
            job_name=verify_lines.name,
            partition_key=carrier,
            asset_selection=list(BATCH_LINES.resolve(context.repository_def.asset_graph)),
            tags={
                REASON_TAG: f"scan batch(es) no longer delivered: {', '.join(gone)}",
                PETITION_TAG: petition_of(carrier),
                PETITIONS_TAG: ",".join(sorted({petition_of(k) for k in [*gone, carrier]})),
                BATCH_TAG: carrier,
            },
        )
    ]


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[verify_lines],
    request_job=verify_petitions,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a successful verify_lines run: the verify_petitions run that decides "
    "the petitions whose lines it matched (for some batches, deciding again only what they "
    "can change) and publishes both runs' tables together.",
)
def petition_runs(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    instance = context.instance
    registered = instance.get_dynamic_partitions(SCAN_BATCHES.name)
    covered = tagged_partitions(run.tags, registered)
    decide = run.tags[PETITIONS_TAG].split(",") if run.tags.get(PETITIONS_TAG) else None
    wanted = decide or sorted({petition_of(key) for key in covered})
    known = set(instance.get_dynamic_partitions(PETITIONS.name))
    if missing := [p for p in wanted if p not in known]:
        instance.add_dynamic_partitions(PETITIONS.name, missing)
    reason = run.tags.get(REASON_TAG, "run started by hand")
    tags = {
        REASON_TAG: f"{reason} (after lines run {run.run_id[:8]})",
        PUBLICATION_TAG: run_publication(run),
        **petition_run_tags(
            instance.get_dynamic_partitions(PETITIONS.name), registered, covered, decide
        ),
    }
    yield dg.RunRequest(
        run_key=f"{run.run_id}:petitions",
        asset_selection=list(PETITION_PHASE.resolve(context.repository_def.asset_graph)),
        tags=tags,
    )


_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
# How long after a lines run succeeds its petition run is still expected (petition_runs looks
# every 30 s); past it, a missing petition run (the sensor switched off) blocks nothing.
_HANDOVER = dt.timedelta(minutes=10)


def _chain_in_flight(instance: dg.DagsterInstance) -> str | None:
    """A run of a chain that has not published yet: one queued or going, or a lines run
    whose petition run is still to be launched."""
    for job in (verify_lines.name, verify_petitions.name):
        going = instance.get_runs(
            filters=dg.RunsFilter(job_name=job, statuses=_UNFINISHED), limit=1
        )
        if going:
            return going[0].run_id
    recent = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=verify_lines.name,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            updated_after=dt.datetime.now(dt.UTC) - _HANDOVER,
        ),
        limit=5,
    )
    for run in recent:
        followed = instance.get_runs(
            filters=dg.RunsFilter(
                job_name=verify_petitions.name, tags={PUBLICATION_TAG: run_publication(run)}
            ),
            limit=1,
        )
        if not followed:
            return run.run_id
    return None


def _loaded(instance: dg.DagsterInstance) -> bool:
    """Whether the roll has been published: batch runs match against it."""
    return instance.get_latest_materialization_event(dg.AssetKey("voter_roll")) is not None


@dg.schedule(
    cron_schedule="30 2 * * *",
    execution_timezone="America/Los_Angeles",
    job=verify_lines,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly: match every line against the latest voter-roll extract; "
    "`petition_runs` then decides each petition again.",
)
def nightly_roll_refresh(context: dg.ScheduleEvaluationContext):
    batches = context.instance.get_dynamic_partitions(SCAN_BATCHES.name)
    if not batches:
        return dg.SkipReason("no scan batches registered yet")
    return dg.RunRequest(
        run_key=None,
        asset_selection=list(ROLL_RUN.resolve(context.repository_def.asset_graph)),
        tags={
            REASON_TAG: "nightly refresh against the latest voter-roll extract",
            RANGE_START_TAG: batches[0],
            RANGE_END_TAG: batches[-1],
        },
    )
