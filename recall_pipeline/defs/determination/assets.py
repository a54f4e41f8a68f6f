"""The determination: raw count, statutory random sample, full count, result."""

import hashlib

import dagster as dg
import pandas as pd

from recall_pipeline.defs.common import table_metadata, table_spec
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.defs.warehouse_io import petition_configs, read_frame
from recall_pipeline.verify.reconcile import determination_adds_up
from recall_pipeline.verify.schemas import SAMPLE_LINES, SUFFICIENCY_DETERMINATION
from recall_pipeline.verify.sufficiency import determine

DETERMINATION_CODE_VERSION = "determination-1"
_DEPS = ["line_verdicts", "petitions"]


@dg.multi_asset(
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
    store = warehouse.open()
    try:
        verdicts = read_frame(
            store,
            "line_verdicts",
            ["petition_id", "section_id", "page", "line", "status", "reason_code", "voter_id"],
        )
        rows, samples = [], []
        for config in petition_configs(store):
            outcome = determine(config, verdicts[verdicts["petition_id"] == config.petition_id])
            rows.append(outcome.determination)
            samples.append(outcome.sample_lines)
            d = outcome.determination
            context.log.info(
                f"{config.petition_id}: {d['method']} → {d['result']} "
                f"(valid {d['valid']}, required {d['required']}, margin {d['margin']})"
            )
        table = pd.DataFrame(rows)
        sample = pd.concat(samples, ignore_index=True)
        store.publish(SUFFICIENCY_DETERMINATION, table)
        store.publish(SAMPLE_LINES, sample)
        adds_up = determination_adds_up(store)
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
