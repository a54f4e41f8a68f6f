"""Pieces every stage's assets share: how a published table is described to Dagster."""

import dagster as dg

from recall_pipeline.tables import TableSchema

# One partition per scan batch file, keyed "<petition_id>/<file stem>" (see ingest.batches):
# ingestion and matching of a batch's lines.
SCAN_BATCHES = dg.DynamicPartitionsDefinition(name="scan_batches")
# A backfill of many batches runs as few runs of many batches: matching prepares the roll once
# per run, which costs far more than matching one batch.
BATCH_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=1000)
# One partition per petition: its verdicts, summaries and determination. A statewide or
# multi-county workload fans out as one run per petition over the run launcher (a pod each on
# Kubernetes) once the lines are matched.
PETITIONS = dg.DynamicPartitionsDefinition(name="petitions")
PETITION_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
# Dagster's run tags for one run covering a range of partitions.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
PARTITION_TAGS = (PARTITION_TAG, RANGE_START_TAG, RANGE_END_TAG)
# On a petition run that follows a run for some scan batches: decide again only the lines
# those batches can change (see verify.incremental). Without it a petition's lines are all
# decided again.
CHANGED_LINES_TAG = "recall/changed_lines_only"
# A run's petition, when it has one: deploy/dagster.yaml lets one run per petition go at a time.
PETITION_TAG = "recall/petition"
# Why a run was started, as the history and the manifest show it.
REASON_TAG = "recall/reason"
# The publication a run writes into (see recall_pipeline.publication): `recall-audit run`
# names one for both its runs, and the `petition_runs` sensor gives a lines run's to the
# petition run after it. A run without it writes into a publication of its own.
PUBLICATION_TAG = "recall/publication"


def petition_of(batch_key: str) -> str:
    return batch_key.split("/", 1)[0]


def partition_scope(
    context: dg.AssetExecutionContext, partitions: dg.DynamicPartitionsDefinition
) -> tuple[list[str], bool]:
    """The partitions (scan batches or petitions) a partitioned step covers, and whether they
    are all of them: then the step republishes whole tables, which also drops the rows of
    partitions no longer registered."""
    keys = list(context.partition_keys)
    every = partitions.get_partition_keys(dynamic_partitions_store=context.instance)
    return keys, set(keys) >= set(every)


def batch_scope(context: dg.AssetExecutionContext) -> tuple[list[str], bool]:
    return partition_scope(context, SCAN_BATCHES)


def petition_scope(context: dg.AssetExecutionContext) -> tuple[list[str], bool]:
    return partition_scope(context, PETITIONS)


def range_tags(registered: list[str], wanted: list[str]) -> dict[str, str]:
    """The run tags that make one run cover `wanted`, a contiguous run of the `registered`
    partition keys (in the instance's order)."""
    if len(wanted) == 1:
        return {PARTITION_TAG: wanted[0]}
    positions = sorted(registered.index(k) for k in wanted)
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise ValueError("partitions must be a contiguous run of the registered ones")
    return {RANGE_START_TAG: registered[positions[0]], RANGE_END_TAG: registered[positions[-1]]}


def tagged_partitions(tags: dict[str, str], registered: list[str]) -> list[str]:
    """The partition keys a run's tags name (one, or a range of `registered`); all of
    `registered` when they name none."""
    if PARTITION_TAG in tags:
        return [tags[PARTITION_TAG]]
    if tags.get(RANGE_START_TAG) in registered and tags.get(RANGE_END_TAG) in registered:
        first, last = registered.index(tags[RANGE_START_TAG]), registered.index(tags[RANGE_END_TAG])
        return registered[first : last + 1]
    return list(registered)


def table_metadata(schema: TableSchema, rows: int) -> dict:
    """What the UI shows of a published table: its name, row count and column schema."""
    return {
        "dagster/table_name": schema.name,
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(c.name, c.type, description=c.description or None)
                for c in schema.columns
            ]
        ),
    }


def table_spec(schema: TableSchema, deps: list[str], group: str, code_version: str) -> dg.AssetSpec:
    """The asset spec of a table published by a multi-asset step."""
    return dg.AssetSpec(
        schema.name,
        description=schema.description,
        deps=deps,
        code_version=code_version,
        group_name=group,
        kinds={"pandas"},
    )


def column_lineage(deps: dict[str, list[tuple[str, str]]]) -> dict:
    """`dagster/column_lineage` metadata: each published column and the (asset, column) pairs
    it is computed from."""
    return {
        "dagster/column_lineage": dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=dg.AssetKey(a), column_name=c) for a, c in sources
                ]
                for column, sources in deps.items()
            }
        )
    }


def same_columns(asset: str, columns: list[str]) -> dict[str, list[tuple[str, str]]]:
    return {c: [(asset, c)] for c in columns}
