"""Audit: the run manifest that makes every determination reproducible and checkable."""

import datetime as dt
import hashlib

import dagster as dg
import pandas as pd

from recall_pipeline.audit.certificate import (
    CERTIFICATES,
    certificate_html,
    chromium_binary,
    link_certificates,
    print_pdf,
    prune_certificates,
)
from recall_pipeline.audit.manifest import RUN_MANIFEST, build_manifest
from recall_pipeline.contract import INPUTS
from recall_pipeline.defs.common import (
    PETITION_BACKFILL,
    PETITIONS,
    petition_scope,
    table_metadata,
)
from recall_pipeline.defs.determination.assets import DETERMINATION_CODE_VERSION
from recall_pipeline.defs.ingest.assets import INGEST_CODE_VERSION
from recall_pipeline.defs.matching.assets import MATCHING_CODE_VERSION
from recall_pipeline.defs.resources import InputDataResource, WarehouseResource
from recall_pipeline.defs.verdicts.assets import VERDICTS_CODE_VERSION, line_verdicts
from recall_pipeline.defs.warehouse_io import publish_petitions
from recall_pipeline.publication import collect_garbage, gone_publications
from recall_pipeline.verify.report import petition_ids
from recall_pipeline.versions import stage_version

# A hash of the code that writes the manifest and the certificates (`versions`).
AUDIT_CODE_VERSION = stage_version("audit")


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
        manifest = build_manifest(
            store,
            context.run.run_id,
            code_versions,
            recorded_at,
            reason=context.run.tags.get("recall/reason", "run started by hand"),
        )
        store.publish(RUN_MANIFEST, manifest, replace_where={"run_id": context.run.run_id})
    determinations = manifest[manifest["kind"] == "determination"]
    code = manifest[manifest["kind"] == "code"].set_index("item")["detail"]
    return dg.MaterializeResult(
        metadata={
            **table_metadata(RUN_MANIFEST, len(manifest)),
            "run_id": context.run.run_id,
            "determination_fingerprint": dict(
                zip(determinations["item"], determinations["sha256"], strict=True)
            ),
            "input_files": int((manifest["kind"] == "input_file").sum()),
            "code": {item: detail for item, detail in code.items()},
        }
    )


@dg.asset(
    group_name="audit",
    code_version=AUDIT_CODE_VERSION,
    deps=["run_manifest", "sufficiency_determination", "reason_summary", "registrar_summary"],
    kinds={"html"},
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    description="A certificate per petition: the determination, its legal basis, the sample "
    "arithmetic, the per-reason table and chart, and the run's hashes (HTML, and PDF when "
    "Chromium is installed). No voter names or addresses.",
)
def determination_certificate(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, input_data: InputDataResource
):
    scope, every = petition_scope(context)
    out_dir = input_data.reports()
    chromium = chromium_binary()
    rows = []
    with warehouse.open() as store:
        for petition_id in [p for p in petition_ids(store) if p in scope]:
            page = certificate_html(store, petition_id)
            # Under the publication: the petition's certificate.html links to it once the
            # publication commits (see `publication`).
            folder = out_dir / petition_id / warehouse.publication
            folder.mkdir(parents=True, exist_ok=True)
            html_path = folder / "certificate.html"
            html_path.write_text(page, encoding="utf-8")
            pdf_path = None
            if chromium:
                pdf_path = folder / "certificate.pdf"
                print_pdf(html_path, pdf_path, chromium)
            else:
                context.log.info("no Chromium found: the certificate is HTML only")
            rows.append(
                {
                    "petition_id": petition_id,
                    "html_path": str(html_path),
                    "html_sha256": hashlib.sha256(page.encode()).hexdigest(),
                    "pdf_path": str(pdf_path) if pdf_path else None,
                    "html": page,
                }
            )
        table = pd.DataFrame(rows, columns=CERTIFICATES.column_names)
        publish_petitions(store, CERTIFICATES, table, scope, every)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(CERTIFICATES, len(table)),
            "certificates": {r["petition_id"]: r["html_path"] for r in rows},
            "pdf": bool(chromium),
        }
    )


@dg.asset(
    group_name="audit",
    code_version=AUDIT_CODE_VERSION,
    deps=[
        *line_verdicts.keys,
        "sample_lines",
        "sufficiency_determination",
        "run_manifest",
        "determination_certificate",
    ],
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    description="Makes everything this run (and the scan-batch run before it) decided visible "
    "at once: every table it wrote, the manifest and the certificates, or — when a step failed "
    "— none of it (see recall_pipeline/publication.py and docs/publication.md).",
)
def publication(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, input_data: InputDataResource
) -> dg.MaterializeResult:
    committed = warehouse.commit()
    with warehouse.open(hold=False) as store:
        # A run of some assets only (a hand selection) may publish no certificate.
        if store.table_exists(CERTIFICATES.name):
            certificates = store.read_frame(CERTIFICATES.name, columns=["html_path", "pdf_path"])
            link_certificates(certificates.to_dict("records"))
    # The publication is committed whatever follows: tidying is retried by the next one.
    try:
        dropped = collect_garbage(warehouse.url)
        prune_certificates(input_data.reports(), gone_publications(warehouse.url))
    except Exception as exc:  # noqa: BLE001
        context.log.warning(f"could not drop earlier publications yet: {exc}")
        dropped = []
    return dg.MaterializeResult(
        metadata={
            "publication_id": committed.publication_id,
            "started_from": committed.base_id or "an empty warehouse",
            "tables_written": len(committed.written),
            "tables_carried_over": len(committed.carried),
            "publications_dropped": len(dropped),
        }
    )
