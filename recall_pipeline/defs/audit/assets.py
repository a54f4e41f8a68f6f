"""Audit: the run manifest that makes every determination reproducible and checkable."""

import datetime as dt

import dagster as dg

from recall_pipeline.audit.manifest import RUN_MANIFEST, build_manifest
from recall_pipeline.contract import INPUTS
from recall_pipeline.defs.common import table_metadata
from recall_pipeline.defs.determination.assets import DETERMINATION_CODE_VERSION
from recall_pipeline.defs.ingest.assets import INGEST_CODE_VERSION
from recall_pipeline.defs.matching.assets import MATCHING_CODE_VERSION
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.defs.verdicts.assets import VERDICTS_CODE_VERSION

AUDIT_CODE_VERSION = "audit-1"


@dg.asset(
    group_name="audit",
    code_version=AUDIT_CODE_VERSION,
    deps=[spec.name for spec in INPUTS]
    + ["petitions", "line_verdicts", "sufficiency_determination"],
    kinds={"pandas"},
    description=RUN_MANIFEST.description
    + " Each run adds its own rows; determination_fingerprint rows hash the sorted verdicts.",
)
def run_manifest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    code_versions = {
        "ingest": INGEST_CODE_VERSION,
        "matching": MATCHING_CODE_VERSION,
        "verdicts": VERDICTS_CODE_VERSION,
        "determination": DETERMINATION_CODE_VERSION,
        "audit": AUDIT_CODE_VERSION,
    }
    recorded_at = dt.datetime.now(dt.UTC)
    with warehouse.open() as store:
        manifest = build_manifest(store, context.run_id, code_versions, recorded_at)
        store.publish(RUN_MANIFEST, manifest, replace_where={"run_id": context.run_id})
    determinations = manifest[manifest["kind"] == "determination"]
    code = manifest[manifest["kind"] == "code"].set_index("item")["detail"]
    return dg.MaterializeResult(
        metadata={
            **table_metadata(RUN_MANIFEST, len(manifest)),
            "run_id": context.run_id,
            "determination_fingerprint": dict(
                zip(determinations["item"], determinations["sha256"], strict=True)
            ),
            "input_files": int((manifest["kind"] == "input_file").sum()),
            "code": {item: detail for item, detail in code.items()},
        }
    )
