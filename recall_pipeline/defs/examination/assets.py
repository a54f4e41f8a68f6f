"""The examination's standing: margin to flip, challenges and rulings, the clock."""

import dagster as dg

from recall_pipeline.defs.common import (
    PETITION_BACKFILL,
    PETITIONS,
    petition_scope,
    table_metadata,
    table_spec,
)
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.services.determination import DETERMINATION_CODE_VERSION
from recall_pipeline.services.examination import examination_standing
from recall_pipeline.verify.examination import (
    EXAMINATION_REASONS,
    EXAMINATION_SET,
    EXAMINATION_STATUS,
)

_DEPS = ["sufficiency_determination", "line_verdicts", "petitions"]


@dg.multi_asset(
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    specs=[
        table_spec(EXAMINATION_STATUS, _DEPS, "determination", DETERMINATION_CODE_VERSION),
        table_spec(EXAMINATION_REASONS, _DEPS, "determination", DETERMINATION_CODE_VERSION),
        table_spec(
            EXAMINATION_SET,
            ["line_verdicts", "petition_lines", "voter_roll"],
            "determination",
            DETERMINATION_CODE_VERSION,
        ),
    ],
)
def examination_status(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    scope, every = petition_scope(context)
    with warehouse.open() as store:
        outcome = examination_standing(store, scope, every, log=context.log)
    yield dg.MaterializeResult(
        asset_key=EXAMINATION_STATUS.name,
        metadata={
            **table_metadata(EXAMINATION_STATUS, outcome.status_rows),
            "lines_to_flip": outcome.to_flip,
        },
    )
    yield dg.MaterializeResult(
        asset_key=EXAMINATION_REASONS.name,
        metadata=table_metadata(EXAMINATION_REASONS, outcome.reason_rows),
    )
    yield dg.MaterializeResult(
        asset_key=EXAMINATION_SET.name,
        metadata=table_metadata(EXAMINATION_SET, outcome.set_rows),
    )
