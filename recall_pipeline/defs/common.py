"""Pieces every stage's assets share: how a published table is described to Dagster."""

import dagster as dg

from recall_pipeline.tables import TableSchema

# One partition per scan batch file, keyed "<petition_id>/<file stem>" (see ingest.batches).
# Petitions are the first part of every key, so a statewide backfill fans out per petition and
# batch over Dagster's run launcher and executor.
SCAN_BATCHES = dg.DynamicPartitionsDefinition(name="scan_batches")
# A backfill of many batches runs as few runs of many batches: matching prepares the roll once
# per run, which costs far more than matching one batch.
BATCH_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=1000)
# Dagster's run tags for one run covering a range of partitions.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def batch_scope(context: dg.AssetExecutionContext) -> tuple[list[str], bool]:
    """The scan batches a partitioned step covers, and whether they are all of them (then the
    step republishes whole tables, which also drops batches whose file is gone)."""
    keys = list(context.partition_keys)
    every = SCAN_BATCHES.get_partition_keys(dynamic_partitions_store=context.instance)
    return keys, set(keys) >= set(every)


def run_batch_scope(context: dg.AssetExecutionContext) -> tuple[list[str], bool]:
    """For a step not partitioned by batch: the scan batches its run covers (from the run's
    partition or range tags, as `batch_scope` reads them for partitioned steps), and whether
    they are all of them. A run without those tags covers every batch."""
    every = SCAN_BATCHES.get_partition_keys(dynamic_partitions_store=context.instance)
    tags = context.run.tags
    if PARTITION_TAG in tags:
        keys = [tags[PARTITION_TAG]]
    elif tags.get(RANGE_START_TAG) in every and tags.get(RANGE_END_TAG) in every:
        first, last = every.index(tags[RANGE_START_TAG]), every.index(tags[RANGE_END_TAG])
        keys = every[first : last + 1]
    else:
        return every, True
    return keys, set(keys) >= set(every)


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
