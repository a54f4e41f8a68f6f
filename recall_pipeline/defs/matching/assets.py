"""Matching: each petition line linked to the registration behind it, with evidence."""

from pathlib import Path

import dagster as dg

from recall_pipeline.defs.common import (
    BATCH_BACKFILL,
    SCAN_BATCHES,
    batch_scope,
    column_lineage,
    same_columns,
    table_metadata,
    table_spec,
)
from recall_pipeline.defs.execution import HEAVY
from recall_pipeline.defs.resources import InputDataResource, WarehouseResource
from recall_pipeline.services.matching import MATCHING_CODE_VERSION, match_lines
from recall_pipeline.verify.schemas import (
    LINE_MATCHES,
    MATCH_CANDIDATES,
    MATCH_EVIDENCE_COLUMNS,
    MATCH_MODELS,
    NORMALIZED_ADDRESS_COLUMNS,
    NORMALIZED_NAME_COLUMNS,
)

_ADDRESS_SOURCES = [
    ("petition_lines", "residence_address"),
    ("petition_lines", "city"),
    ("petition_lines", "zip"),
]
_NAME_SOURCES = [("petition_lines", "printed_name")]
_ROLL_SOURCES = [
    (table, column)
    for table in ("voter_roll", "voter_address_history")
    for column in ("voter_id", "house_number", "street_predir", "street_name", "street_type",
                   "street_postdir", "zip")
] + [("voter_roll", c) for c in ("first_name", "last_name", "middle_name")]  # fmt: skip
_HISTORY_COLUMNS = {
    "history_valid_from": "valid_from",
    "history_valid_to": "valid_to",
    "history_source_file": "source_file",
    "history_source_row": "source_row",
}
LINE_MATCH_LINEAGE = {
    **same_columns("petition_lines", ["petition_id", "section_id", "page", "line", "source_file"]),
    **{c: _ADDRESS_SOURCES for c in NORMALIZED_ADDRESS_COLUMNS},
    **{c: _NAME_SOURCES for c in NORMALIZED_NAME_COLUMNS},
    "parsed_by": _ADDRESS_SOURCES,
    **{
        c: _ADDRESS_SOURCES + _NAME_SOURCES + _ROLL_SOURCES
        for c in MATCH_EVIDENCE_COLUMNS
        if c not in _HISTORY_COLUMNS
    },
    **{c: [("voter_address_history", source)] for c, source in _HISTORY_COLUMNS.items()},
}
_DEPS = ["petition_lines", "voter_roll", "voter_address_history", "jurisdiction_zips", "petitions"]


@dg.multi_asset(
    specs=[
        table_spec(LINE_MATCHES, _DEPS, "matching", MATCHING_CODE_VERSION),
        table_spec(MATCH_CANDIDATES, _DEPS, "matching", MATCHING_CODE_VERSION),
        table_spec(MATCH_MODELS, _DEPS, "matching", MATCHING_CODE_VERSION),
    ],
    partitions_def=SCAN_BATCHES,
    backfill_policy=BATCH_BACKFILL,
    op_tags=HEAVY,
)
def line_matches(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    input_data: InputDataResource,
):
    keys, every = batch_scope(context)
    # Not held: DuckDB then hands back the memory of reading the whole roll as soon as the
    # read is done, instead of at the end of the step (0.6-1.1 GB more at the peak at LA scale).
    store = warehouse.open(hold=False)
    try:
        outcome = match_lines(store, Path(input_data.data_dir), keys, every, log=context.log)
    finally:
        store.dispose()
    yield dg.MaterializeResult(
        asset_key="line_matches",
        metadata={
            **table_metadata(LINE_MATCHES, outcome.match_rows),
            **column_lineage(LINE_MATCH_LINEAGE),
            "lines_by_method": outcome.lines_by_method,
            "lines_by_status": outcome.lines_by_status,
            "lines_parsed_by": outcome.lines_parsed_by,
        },
    )
    yield dg.MaterializeResult(
        asset_key="match_candidates",
        metadata={
            **table_metadata(MATCH_CANDIDATES, outcome.candidate_rows),
            "lines_for_review": outcome.lines_for_review,
        },
    )
    yield dg.MaterializeResult(
        asset_key="match_models",
        metadata={"petitions_fitted": outcome.petitions_fitted},
    )
