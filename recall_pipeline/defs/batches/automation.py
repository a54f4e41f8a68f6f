"""Runs that start themselves: a sensor for scan batches and review files as they arrive, and
the nightly refresh against the latest voter-roll extract."""

import hashlib
from pathlib import Path

import dagster as dg

from recall_pipeline.defs.common import RANGE_END_TAG, RANGE_START_TAG, SCAN_BATCHES
from recall_pipeline.defs.resources import InputDataResource
from recall_pipeline.ingest.arrivals import arrivals, departed_batches

# A batch's own lines and matches, then everything computed from all batches.
BATCH_RUN = dg.AssetSelection.assets("petition_lines").downstream()
# New examiner findings change verdicts, not matches.
REVIEW_RUN = dg.AssetSelection.assets("signature_reviews").downstream()
# A new roll extract: every match and verdict is recomputed against it.
ROLL_RUN = dg.AssetSelection.assets(
    "voter_roll", "voter_address_history"
).downstream() | dg.AssetSelection.assets("jurisdiction_zips")
REASON_TAG = "recall/reason"


def batch_run_assets(asset_graph) -> list[str]:
    """The asset names a run for a new scan batch materializes."""
    return sorted(key.to_user_string() for key in BATCH_RUN.resolve(asset_graph))


BATCH_TAG = "recall/batch"
# deploy/dagster.yaml lets one run per petition verify at a time.
PETITION_TAG = "recall/petition"


@dg.sensor(
    target=BATCH_RUN | REVIEW_RUN,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches one run per new or changed scan batch or review file, and one to drop the "
        "lines of scan batches no longer delivered."
    ),
)
def data_arrivals(context: dg.SensorEvaluationContext, input_data: InputDataResource):
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
    if found and not _loaded(context.instance):
        # Nothing verified yet: one run loads every input and verifies every batch (a batch
        # alone has no roll to be matched against).
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"initial:{cursor}",
                    asset_selection=list(
                        dg.AssetSelection.all().resolve(context.repository_def.asset_graph)
                    ),
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
    requests = _departure_runs(context, gone, remaining, found)
    for arrival in found:
        tags = {REASON_TAG: arrival.reason, PETITION_TAG: arrival.file.petition_id}
        if arrival.kind == "scan_batch":
            requests.append(
                dg.RunRequest(
                    run_key=arrival.run_key,
                    partition_key=arrival.file.key,
                    asset_selection=list(BATCH_RUN.resolve(context.repository_def.asset_graph)),
                    tags={**tags, BATCH_TAG: arrival.file.key},
                )
            )
        else:
            requests.append(
                dg.RunRequest(
                    run_key=arrival.run_key,
                    asset_selection=list(REVIEW_RUN.resolve(context.repository_def.asset_graph)),
                    tags=tags,
                )
            )
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=add, cursor=cursor)


def _departure_runs(
    context: dg.SensorEvaluationContext, gone: list[str], remaining: list[str], found: list
) -> list[dg.RunRequest]:
    """One run that drops the rows of the batches in `gone`.

    A batch run drops the rows of every scan file no longer delivered along with its own, so a
    batch arriving in the same look does it; otherwise one remaining batch (of the same
    petition where there is one) is verified again to carry the removal — its own rows come
    out as they were, and the voters of the gone lines have their other lines decided again.
    """
    if not gone or any(a.kind == "scan_batch" for a in found):
        return []
    if not remaining:
        context.log.warning(
            f"scan batches {', '.join(gone)} are gone and no batch remains; their rows stay "
            "until a batch is delivered"
        )
        return []
    petition = gone[0].split("/")[0]
    carrier = next((k for k in remaining if k.split("/")[0] == petition), remaining[0])
    state = hashlib.sha256(f"{gone}{remaining}".encode()).hexdigest()[:16]
    return [
        dg.RunRequest(
            run_key=f"departed:{','.join(gone)}@{state}",
            partition_key=carrier,
            asset_selection=list(BATCH_RUN.resolve(context.repository_def.asset_graph)),
            tags={
                REASON_TAG: f"scan batch(es) no longer delivered: {', '.join(gone)}",
                PETITION_TAG: carrier.split("/")[0],
                BATCH_TAG: carrier,
            },
        )
    ]


def _loaded(instance: dg.DagsterInstance) -> bool:
    """Whether the roll has been published: batch runs match against it."""
    return instance.get_latest_materialization_event(dg.AssetKey("voter_roll")) is not None


@dg.schedule(
    cron_schedule="30 2 * * *",
    execution_timezone="America/Los_Angeles",
    target=ROLL_RUN,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly: re-verify every line against the latest voter-roll extract.",
)
def nightly_roll_refresh(context: dg.ScheduleEvaluationContext):
    batches = context.instance.get_dynamic_partitions(SCAN_BATCHES.name)
    if not batches:
        return dg.SkipReason("no scan batches registered yet")
    return dg.RunRequest(
        run_key=None,
        tags={
            REASON_TAG: "nightly refresh against the latest voter-roll extract",
            RANGE_START_TAG: batches[0],
            RANGE_END_TAG: batches[-1],
        },
    )
