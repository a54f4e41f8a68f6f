"""The determination: raw count, statutory random sample, full count, result."""

import hashlib

import dagster as dg
import pandas as pd

from recall_pipeline.defs.common import (
    PETITION_BACKFILL,
    PETITIONS,
    petition_scope,
    table_metadata,
    table_spec,
)
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.defs.warehouse_io import (
    concat_rows,
    petition_configs,
    publish_petitions,
    read_frame,
)
from recall_pipeline.verify.reconcile import determination_adds_up
from recall_pipeline.verify.schemas import SAMPLE_LINES, SUFFICIENCY_DETERMINATION
from recall_pipeline.verify.sufficiency import determine
from recall_pipeline.versions import stage_version

# A hash of the code that counts, samples and decides (`versions`).
DETERMINATION_CODE_VERSION = stage_version("determination")
_DEPS = ["line_verdicts", "petitions"]


@dg.multi_asset(
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    specs=[
        table_spec(SUFFICIENCY_DETERMINATION, _DEPS, "determination", DETERMINATION_CODE_VERSION),
        table_spec(SAMPLE_LINES, _DEPS, "determination", DETERMINATION_CODE_VERSION),
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
        configs = petition_configs(store, scope)
        verdicts = read_frame(
            store,
            "line_verdicts",
            ["petition_id", "section_id", "page", "line", "status", "reason_code", "voter_id"],
            where={"petition_id": [config.petition_id for config in configs]},
        )
        rows, samples = [], []
        for config in configs:
            outcome = determine(config, verdicts[verdicts["petition_id"] == config.petition_id])
            rows.append(outcome.determination)
            samples.append(outcome.sample_lines)
            d = outcome.determination
            context.log.info(
                f"{config.petition_id}: {d['method']} → {d['result']} "
                f"(valid {d['valid']}, required {d['required']}, margin {d['margin']})"
            )
        table = concat_rows([pd.DataFrame(rows)] if rows else [], SUFFICIENCY_DETERMINATION)
        sample = concat_rows(samples, SAMPLE_LINES)
        publish_petitions(store, SUFFICIENCY_DETERMINATION, table, scope, every)
        publish_petitions(store, SAMPLE_LINES, sample, scope, every)
        adds_up = determination_adds_up(store, scope)
    finally:
        store.dispose()
    yield dg.MaterializeResult(
        asset_key="sufficiency_determination",
        data_version=dg.DataVersion(
            hashlib.sha256(table.to_json(orient="records").encode()).hexdigest()
        ),
        metadata={
            **table_metadata(SUFFICIENCY_DETERMINATION, len(table)),
            "results": dict(zip(table["petition_id"], table["result"], strict=True)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="sample_lines", metadata=table_metadata(SAMPLE_LINES, len(sample))
    )
    yield dg.AssetCheckResult(
        asset_key="sufficiency_determination",
        check_name="counts_add_up",
        passed=adds_up.passed,
        metadata=adds_up.metadata,
    )
