"""Ingestion assets: one per input of the contract, each guarded by its expectation suite.

Each asset reads its files, runs the contract's rules, publishes the accepted rows to its table
and the rejected ones to its slice of `quarantined_rows`, records its files in `ingested_files`,
and reports two checks: the expectation results (warning: bad rows were quarantined, not lost)
and row conservation against what the warehouse now holds (blocking).
"""

from pathlib import Path

import dagster as dg

from recall_pipeline.contract import INPUTS, PETITION_LINES, VOTER_ROLL, InputSpec
from recall_pipeline.defs.common import BATCH_BACKFILL, SCAN_BATCHES, batch_scope, table_metadata
from recall_pipeline.defs.execution import HEAVY
from recall_pipeline.defs.resources import InputDataResource, WarehouseResource
from recall_pipeline.ingest.batches import batch_files, departed_files
from recall_pipeline.ingest.ledger import (
    check_line_keys_unique,
    conservation_report,
    expectation_report,
)
from recall_pipeline.ingest.pipeline import (
    EXPECTATION_RESULTS,
    INGESTED_FILES,
    NULLED_VALUES,
    PETITIONS,
    QUARANTINED_ROWS,
    IngestResult,
    ingest_input,
    load_petitions,
    petitions_table,
    published_lookup,
)
from recall_pipeline.versions import stage_version

# A hash of the code that reads, checks and publishes the files (`versions`), never bumped.
INGEST_CODE_VERSION = stage_version("ingest")
GROUP = "ingest"
EXPECTATIONS_CHECK = "expectations"
CONSERVATION_CHECK = "rows_conserved"
_HEAVY_INPUTS = {"voter_roll", "voter_address_history"}
# Steps ready together run in priority order. The roll goes first: the process's first ingest
# loads Great Expectations beside its file reads, and the roll's reads are the longest.
_FIRST = {"dagster/priority": "1"}


def _input_asset(spec: InputSpec) -> dg.AssetsDefinition:
    deps = (["petitions"] if spec.per_petition else []) + spec.referenced_inputs
    batched = spec is PETITION_LINES

    @dg.asset(
        name=spec.name,
        group_name=GROUP,
        description=spec.description,
        code_version=INGEST_CODE_VERSION,
        deps=deps,
        kinds={"pandas", "great_expectations"},
        partitions_def=SCAN_BATCHES if batched else None,
        backfill_policy=BATCH_BACKFILL if batched else None,
        op_tags={
            **(HEAVY if spec.name in _HEAVY_INPUTS else {}),
            **(_FIRST if spec is VOTER_ROLL else {}),
        }
        or None,
        check_specs=[
            dg.AssetCheckSpec(
                EXPECTATIONS_CHECK,
                asset=spec.name,
                description="The contract's expectation suite; failing rows are quarantined.",
            ),
            dg.AssetCheckSpec(
                CONSERVATION_CHECK,
                asset=spec.name,
                blocking=True,
                description="Per file: rows read = rows accepted + rows quarantined, each once.",
            ),
        ],
    )
    def ingest(
        context: dg.AssetExecutionContext,
        input_data: InputDataResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        data_dir = Path(input_data.data_dir)
        only, table_slice, input_slice = None, None, {"input_name": spec.name}
        if batched:
            keys, every = batch_scope(context)
            if not every:
                only = batch_files(data_dir, keys)
        result: IngestResult = ingest_input(
            spec, data_dir, set(only) if only else None, published_lookup(warehouse.open)
        )
        store = warehouse.open()
        try:
            if only:
                # Some batches only: their files' rows are replaced, the others' kept -- but
                # the rows of scan files no longer delivered go with them.
                replaced = only + departed_files(store, data_dir, INGESTED_FILES.name, input_slice)
                table_slice = {"source_file": replaced}
                input_slice = {**input_slice, "source_file": replaced}
                check_line_keys_unique(store, result.accepted, replaced)
            store.publish(spec.table_schema(), result.accepted, replace_where=table_slice)
            store.publish(QUARANTINED_ROWS, result.quarantined, replace_where=input_slice)
            store.publish(NULLED_VALUES, result.nulled, replace_where=input_slice)
            store.publish(INGESTED_FILES, result.files, replace_where=input_slice)
            store.publish(
                EXPECTATION_RESULTS, result.expectation_results(), replace_where=input_slice
            )
            conservation = conservation_report(store, spec)
        finally:
            store.dispose()
        expectations = expectation_report(result)
        context.log.info(
            f"{spec.name}: {result.rows_read} rows read from {result.files.num_rows} file(s), "
            f"{result.accepted.num_rows} accepted, {result.quarantined.num_rows} quarantined"
        )
        return dg.MaterializeResult(
            data_version=dg.DataVersion(result.content_version()),
            metadata={
                **table_metadata(spec.table_schema(), result.accepted.num_rows),
                "rows_read": result.rows_read,
                "rows_quarantined": result.quarantined.num_rows,
                "files": result.files.num_rows,
                "file_sha256": dg.MetadataValue.json(
                    dict(
                        zip(
                            result.files.column("source_file").to_pylist(),
                            result.files.column("source_sha256").to_pylist(),
                            strict=True,
                        )
                    )
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=EXPECTATIONS_CHECK,
                    passed=expectations.passed,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata=expectations.metadata,
                ),
                dg.AssetCheckResult(
                    check_name=CONSERVATION_CHECK,
                    passed=conservation.passed,
                    metadata=conservation.metadata,
                ),
            ],
        )

    return ingest


@dg.asset(
    group_name=GROUP,
    code_version=INGEST_CODE_VERSION,
    kinds={"yaml"},
    description="Each petition's settings (petition.yaml), read by its declared schema.",
)
def petitions(input_data: InputDataResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    table = petitions_table(load_petitions(Path(input_data.data_dir)))
    store = warehouse.open()
    try:
        store.publish(PETITIONS, table)
    finally:
        store.dispose()
    return dg.MaterializeResult(
        metadata={
            **table_metadata(PETITIONS, table.num_rows),
            "petition_ids": table.column("petition_id").to_pylist(),
            "settings_sha256": dg.MetadataValue.json(
                dict(
                    zip(
                        table.column("petition_id").to_pylist(),
                        table.column("settings_sha256").to_pylist(),
                        strict=True,
                    )
                )
            ),
        }
    )


input_assets = [_input_asset(spec) for spec in INPUTS]
