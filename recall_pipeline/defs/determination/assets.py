"""The determination: raw count, statutory random sample, full count, result; and the
requirement under each basis beside it."""

import dagster as dg

from recall_pipeline.defs.common import (
    PETITION_BACKFILL,
    PETITIONS,
    petition_scope,
    table_metadata,
    table_spec,
)
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.services.determination import (
    DETERMINATION_CODE_VERSION,
    determine_sufficiency,
)
from recall_pipeline.verify.schemas import (
    REQUIREMENT_BASES,
    SAMPLE_LINES,
    SUFFICIENCY_DETERMINATION,
)

_DEPS = ["line_verdicts", "petitions"]
# The roll's own counts in the jurisdiction are one of the bases.
_BASES_DEPS = [*_DEPS, "voter_roll", "jurisdiction_zips"]


@dg.multi_asset(
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    specs=[
        table_spec(SUFFICIENCY_DETERMINATION, _DEPS, "determination", DETERMINATION_CODE_VERSION),
        table_spec(SAMPLE_LINES, _DEPS, "determination", DETERMINATION_CODE_VERSION),
        table_spec(REQUIREMENT_BASES, _BASES_DEPS, "determination", DETERMINATION_CODE_VERSION),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "counts_add_up",
            asset="sufficiency_determination",
            blocking=True,
            description="valid + invalid + pending = raw count (or sample size); samples agree.",
        )
    ],
)
def sufficiency_determination(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    scope, every = petition_scope(context)
    store = warehouse.open()
    try:
        outcome = determine_sufficiency(store, scope, every, log=context.log)
    finally:
        store.dispose()
    yield dg.MaterializeResult(
        asset_key="sufficiency_determination",
        data_version=dg.DataVersion(outcome.data_version),
        metadata={
            **table_metadata(SUFFICIENCY_DETERMINATION, outcome.determination_rows),
            "results": outcome.results,
        },
    )
    yield dg.MaterializeResult(
        asset_key="sample_lines", metadata=table_metadata(SAMPLE_LINES, outcome.sample_rows)
    )
    yield dg.MaterializeResult(
        asset_key="requirement_bases",
        metadata=table_metadata(REQUIREMENT_BASES, outcome.bases_rows),
    )
    yield dg.AssetCheckResult(
        asset_key="sufficiency_determination",
        check_name="counts_add_up",
        passed=outcome.counts_add_up.passed,
        metadata=outcome.counts_add_up.metadata,
    )
