"""Audit: the run manifest that makes every determination reproducible and checkable."""

import dagster as dg

from recall_pipeline.audit.certificate import (
    CERTIFICATES,
    link_certificates,
    prune_certificates,
)
from recall_pipeline.audit.manifest import RUN_MANIFEST
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
from recall_pipeline.publication import check_keys, collect_garbage, gone_publications
from recall_pipeline.schema import published_tables
from recall_pipeline.services.audit import (
    AUDIT_CODE_VERSION,
    record_run_manifest,
    write_certificates,
)


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
    reason = context.run.tags.get("recall/reason", "run started by hand")
    with warehouse.open() as store:
        outcome = record_run_manifest(store, context.run.run_id, code_versions, reason)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(RUN_MANIFEST, outcome.manifest_rows),
            "run_id": context.run.run_id,
            "determination_fingerprint": outcome.determination_fingerprint,
            "input_files": outcome.input_files,
            "code": outcome.code,
        }
    )


@dg.asset(
    group_name="audit",
    code_version=AUDIT_CODE_VERSION,
    deps=[
        "run_manifest",
        "sufficiency_determination",
        "reason_summary",
        "registrar_summary",
        "requirement_bases",
        "examination_status",
        "examination_reasons",
    ],
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
    with warehouse.open() as store:
        outcome = write_certificates(
            store, scope, every, input_data.reports(), warehouse.publication, log=context.log
        )
    return dg.MaterializeResult(
        metadata={
            **table_metadata(CERTIFICATES, outcome.certificate_rows),
            "certificates": outcome.certificates,
            "pdf": outcome.pdf,
        }
    )


KEYS_CHECK = "written_tables_hold_their_keys"
# Every published table as declared: the keys the publication checks (loaded with this module, so
# that the audit stage's version covers the declarations).
DECLARED = {table.name: table for table in published_tables()}


@dg.asset(
    group_name="audit",
    code_version=AUDIT_CODE_VERSION,
    deps=[
        *line_verdicts.keys,
        "sample_lines",
        "sufficiency_determination",
        "requirement_bases",
        "examination_status",
        "examination_reasons",
        "examination_set",
        "run_manifest",
        "determination_certificate",
    ],
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    check_specs=[
        dg.AssetCheckSpec(
            KEYS_CHECK,
            asset="publication",
            blocking=True,
            description="Every table this run wrote, as declared in recall_pipeline/schema.py, "
            "holds each value of its primary key once and no empty value in a required column "
            "(checked before the commit: a table that breaks it publishes nothing).",
        )
    ],
    description="Makes everything this run (and the scan-batch run before it) decided visible "
    "at once: every table it wrote, the manifest and the certificates, or — when a step failed "
    "— none of it (see recall_pipeline/publication.py and docs/publication.md).",
)
def publication(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, input_data: InputDataResource
):
    # The checks' many small queries on one attachment of the file; the commit after on its own.
    with warehouse.open() as held:
        keys = check_keys(held, DECLARED)
    with warehouse.open(hold=False) as store:
        failing = [check.table for check in keys if not check.passed]
        yield dg.AssetCheckResult(
            check_name=KEYS_CHECK,
            passed=not failing,
            metadata={
                "tables_checked": len(keys),
                "failing_tables": failing or "none",
                **{check.table: check.metadata for check in keys if not check.passed},
            },
        )
        if failing:
            # Before the commit: the previous publication stays the current one, whole.
            raise dg.Failure(
                description=f"tables written by this run break their declared keys or leave "
                f"required columns empty: {', '.join(failing)}; nothing was published",
            )
        committed = warehouse.commit()
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
    yield dg.MaterializeResult(
        metadata={
            "publication_id": committed.publication_id,
            "started_from": committed.base_id or "an empty warehouse",
            "tables_written": len(committed.written),
            "tables_carried_over": len(committed.carried),
            "publications_dropped": len(dropped),
        }
    )
