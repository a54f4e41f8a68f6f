"""Verdicts: one per line, the per-reason tables and the registrar's summary."""

import dagster as dg

from recall_pipeline.audit.manifest import VERDICT_FINGERPRINTS
from recall_pipeline.defs.common import (
    CHANGED_LINES_TAG,
    PETITION_BACKFILL,
    PETITIONS,
    column_lineage,
    petition_scope,
    same_columns,
    table_metadata,
    table_spec,
)
from recall_pipeline.defs.execution import HEAVY
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.services.verdicts import VERDICTS_CODE_VERSION, decide_verdicts
from recall_pipeline.verify import incremental
from recall_pipeline.verify.schemas import (
    CHALLENGES_SET_ASIDE,
    INVALID_TABLES,
    LINE_VERDICTS,
    REASON_SUMMARY,
    REGISTRAR_SUMMARY,
    VERDICT_MATCH_COLUMNS,
)

_KEY = ["petition_id", "section_id", "page", "line"]
_RULE_INPUTS = [
    ("petition_sections", "filed_with_petition"),
    ("petition_sections", "declaration_signed"),
    ("petition_sections", "declaration_date"),
    ("petition_sections", "circulator_name"),
    ("petition_lines", "signature_present"),
    ("petition_lines", "date_signed"),
    ("withdrawal_requests", "voter_id"),
    ("withdrawal_requests", "received_date"),
    ("line_matches", "has_address"),
    ("line_matches", "zip5"),
    ("jurisdiction_zips", "zip5"),
    ("line_matches", "voter_id"),
    ("line_matches", "match_method"),
    ("line_matches", "match_status"),
    ("voter_roll", "status"),
    ("voter_roll", "status_date"),
    ("voter_roll", "registration_date"),
    ("signature_reviews", "finding"),
    ("match_reviews", "voter_id"),
    ("challenges", "ground"),
    ("challenges", "claimed_voter_id"),
    ("challenge_rulings", "ruling"),
    ("petitions", "duplicates_keep"),
    ("petitions", "registration_cutoff"),
]
LINE_VERDICT_LINEAGE = {
    **same_columns("petition_lines", [*_KEY, "source_file", "source_row", "source_sha256"]),
    "status": _RULE_INPUTS,
    "reason_code": _RULE_INPUTS,
    "pending_reason": [*_RULE_INPUTS, ("petitions", "unreviewed_signatures")],
    "secondary_reasons": _RULE_INPUTS,
    "registrar_category": _RULE_INPUTS,
    **same_columns("line_matches", ["voter_id", *VERDICT_MATCH_COLUMNS]),
    "match_review_source_file": [("match_reviews", "source_file")],
    "match_review_source_row": [("match_reviews", "source_row")],
    "review_finding": [("signature_reviews", "finding")],
    "review_source_file": [("signature_reviews", "source_file")],
    "review_source_row": [("signature_reviews", "source_row")],
    "challenge_id": [("challenge_rulings", "challenge_id")],
    "ruling_source_file": [("challenge_rulings", "source_file")],
    "ruling_source_row": [("challenge_rulings", "source_row")],
    "finding_reason_code": _RULE_INPUTS,
    # The row set aside at ingestion a line waits on: of the line itself or of a side file.
    "input_problem": [
        ("petition_lines", "source_row"),
        ("petition_sections", "section_id"),
        ("signature_reviews", "finding"),
        ("match_reviews", "voter_id"),
        ("withdrawal_requests", "voter_id"),
        ("voter_roll", "voter_id"),
        ("voter_address_history", "voter_id"),
        ("jurisdiction_zips", "zip5"),
    ],
}
INPUTS = [
    "line_matches",
    "petition_lines",
    "petition_sections",
    "signature_reviews",
    "match_reviews",
    "withdrawal_requests",
    "voter_roll",
    "jurisdiction_zips",
    "challenges",
    "challenge_rulings",
    "petitions",
]


@dg.multi_asset(
    op_tags=HEAVY,
    partitions_def=PETITIONS,
    backfill_policy=PETITION_BACKFILL,
    specs=[
        table_spec(LINE_VERDICTS, INPUTS, "verdicts", VERDICTS_CODE_VERSION),
        *[
            table_spec(schema, ["line_verdicts"], "verdicts", VERDICTS_CODE_VERSION)
            for schema in (
                *INVALID_TABLES.values(),
                CHALLENGES_SET_ASIDE,
                REASON_SUMMARY,
                REGISTRAR_SUMMARY,
                VERDICT_FINGERPRINTS,
                incremental.VERDICT_INPUTS,
            )
        ],
    ],
    check_specs=[
        dg.AssetCheckSpec(name, asset="line_verdicts", blocking=True, description=description)
        for name, description in (
            ("one_verdict_per_line", "Every ingested line has exactly one verdict."),
            (
                "reasons_partition_invalid",
                "The per-reason tables and the registrar categories sum to the invalid lines.",
            ),
            (
                "one_valid_line_per_voter",
                "No voter has two valid lines; every duplicate's voter has one valid line.",
            ),
            (
                "rulings_accounted",
                "Every admitted ACCEPTED ruling decided its line again, and every line decided "
                "again names an admitted accepted challenge.",
            ),
        )
    ],
)
def line_verdicts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    scope, every = petition_scope(context)
    store = warehouse.open()
    try:
        outcome = decide_verdicts(
            store,
            scope,
            every,
            context.run.run_id,
            changed_lines_only=bool(context.run.tags.get(CHANGED_LINES_TAG)),
            log=context.log,
        )
    finally:
        store.dispose()
    yield dg.MaterializeResult(
        asset_key="line_verdicts",
        data_version=dg.DataVersion(outcome.data_version),
        metadata={
            **table_metadata(LINE_VERDICTS, outcome.verdict_rows),
            **column_lineage(LINE_VERDICT_LINEAGE),
            "by_status": outcome.by_status,
            "pending_input_needs_correction": outcome.pending_input_needs_correction,
            "lines_decided_by_rulings": outcome.lines_decided_by_rulings,
        },
    )
    for code, rows in outcome.invalid_rows.items():
        yield dg.MaterializeResult(
            asset_key=INVALID_TABLES[code].name,
            metadata={
                **table_metadata(INVALID_TABLES[code], rows),
                **column_lineage(same_columns("line_verdicts", LINE_VERDICTS.column_names)),
            },
        )
    yield dg.MaterializeResult(
        asset_key=CHALLENGES_SET_ASIDE.name,
        metadata=table_metadata(CHALLENGES_SET_ASIDE, outcome.set_aside_rows),
    )
    yield dg.MaterializeResult(
        asset_key="reason_summary",
        metadata={
            **table_metadata(REASON_SUMMARY, outcome.reason_rows),
            "lines_by_reason": outcome.lines_by_reason,
        },
    )
    yield dg.MaterializeResult(
        asset_key="registrar_summary",
        metadata={
            **table_metadata(REGISTRAR_SUMMARY, outcome.category_rows),
            "lines_by_category": outcome.lines_by_category,
        },
    )
    yield dg.MaterializeResult(
        asset_key=VERDICT_FINGERPRINTS.name,
        data_version=dg.DataVersion(outcome.data_version),
        metadata={
            **table_metadata(VERDICT_FINGERPRINTS, outcome.fingerprint_rows),
            "fingerprints": outcome.fingerprints,
        },
    )
    yield dg.MaterializeResult(
        asset_key=incremental.VERDICT_INPUTS.name,
        metadata=table_metadata(incremental.VERDICT_INPUTS, outcome.snapshot_rows),
    )
    for name, check in outcome.checks.items():
        yield dg.AssetCheckResult(
            asset_key="line_verdicts",
            check_name=name,
            passed=check.passed,
            metadata=check.metadata,
        )
