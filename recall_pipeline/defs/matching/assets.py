"""Matching: each petition line linked to the registration behind it, with evidence."""

from concurrent.futures import ThreadPoolExecutor
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
from recall_pipeline.defs.warehouse_io import concat_rows, petition_configs
from recall_pipeline.ingest.batches import batch_files, departed_files
from recall_pipeline.verify import roll_cache
from recall_pipeline.verify.matching_run import (
    match_some_batches,
    match_whole_petition,
    petition_of,
)
from recall_pipeline.verify.model import default_model
from recall_pipeline.verify.pipeline import match_petition, prepare_petition_lines
from recall_pipeline.verify.schemas import (
    LINE_MATCHES,
    MATCH_CANDIDATES,
    MATCH_EVIDENCE_COLUMNS,
    MATCH_MODELS,
    NORMALIZED_ADDRESS_COLUMNS,
    NORMALIZED_NAME_COLUMNS,
)
from recall_pipeline.versions import stage_version

# The code and settings that decide the matches, hashed: a change to either is a new version.
MATCHING_CODE_VERSION = stage_version("matching")


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
# What matching reads of a line: its key, what the signer wrote, and its file.
_LINE_COLUMNS = [
    "petition_id",
    "section_id",
    "page",
    "line",
    "printed_name",
    "residence_address",
    "city",
    "zip",
    "source_file",
]


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
    data_dir = Path(input_data.data_dir)
    files = None if every else batch_files(data_dir, keys)
    # Not held: DuckDB then hands back the memory of reading the whole roll as soon as the
    # read is done, instead of at the end of the step (0.6-1.1 GB more at the peak at LA scale).
    store = warehouse.open(hold=False)
    try:
        # Some batches only: their lines are matched and their rows replaced (with those of
        # scan files no longer delivered), the others' kept.
        where = None
        departed = departed_files(store, data_dir, LINE_MATCHES.name) if files else []
        if files:
            where = {"source_file": files + departed}
        configs = petition_configs(store)
        version = roll_cache.roll_version(store)
        current = roll_cache.current_jurisdictions(store, version)
        with ThreadPoolExecutor(max_workers=2) as pool:
            # Reading and preparing the roll and the lines are mostly DuckDB and Arrow work,
            # which release the GIL: on two cores they overlap. A run over every batch reaches
            # most of the roll: it prepares the whole roll (and keeps its keys unless they are
            # current), starting before the lines are read; a run for a few batches reads only
            # the registrations their lines can reach. The raw roll lives only inside that
            # call: gigabytes at a county's scale.
            if every:
                rolls = pool.submit(
                    roll_cache.prepare_all, store, {c.jurisdiction_code for c in configs}
                )
            lines_all = store.read_frame(
                "petition_lines",
                columns=_LINE_COLUMNS,
                where={"source_file": files} if files else None,
            )
            if not every:
                present = set(lines_all["petition_id"])
                # A petition that lost a scan file is weighed again without its lines.
                shrunk = {petition_of(file) for file in departed} - present
                configs = [c for c in configs if c.petition_id in present | shrunk]
                codes = {config.jurisdiction_code for config in configs}
                rolls = pool.submit(roll_cache.prepare_all, store, codes - current)
            prepared_lines = {
                c.petition_id: prepare_petition_lines(
                    lines_all[lines_all["petition_id"] == c.petition_id]
                )
                for c in configs
            }
            built = rolls.result()
            stale = {code: built[code] for code in built if code not in current}
            # The warehouse writes the keys on its own threads while the lines are matched;
            # the step ends only once they are kept.
            keeping = pool.submit(roll_cache.publish, store, stale, version) if stale else None
            matched, candidates, models = [], [], []
            for config in configs:
                code = config.jurisdiction_code
                lines, prepared = prepared_lines.pop(config.petition_id)
                if not every and config.petition_id not in present:
                    run = match_whole_petition(
                        store, config.petition_id, code, _LINE_COLUMNS, built.get(code)
                    )
                    found, weighed, model, read = (
                        run.matches, run.candidates, run.models, run.registrations_read
                    )  # fmt: skip
                    where["source_file"] = sorted({*where["source_file"], *run.rematched_files})
                elif every:
                    roll, history, stats = built[code]
                    found, weighed, model = match_petition(
                        config.petition_id, lines, roll, history, stats, (lines, prepared),
                        model=default_model(),
                    )  # fmt: skip
                    read = len(roll)
                else:
                    run = match_some_batches(
                        store, config.petition_id, code, lines, prepared, _LINE_COLUMNS,
                        whole=built.get(code), gone=departed,
                    )  # fmt: skip
                    found, weighed, model, read = (
                        run.matches, run.candidates, run.models, run.registrations_read
                    )  # fmt: skip
                    if run.rematched_files:
                        where["source_file"] = sorted({*where["source_file"], *run.rematched_files})
                        context.log.info(
                            f"{config.petition_id}: the model fitted with the new lines moved; "
                            f"the lines of {len(run.rematched_files)} earlier files matched again"
                        )
                matched.append(found)
                candidates.append(weighed)
                models.append(model)
                context.log.info(
                    f"{config.petition_id}: {len(found)} lines, "
                    f"{int((found['match_status'] == 'MATCHED').sum())} matched, "
                    f"{int((found['match_status'] == 'REVIEW').sum())} for review, "
                    f"{len(weighed)} candidates weighed, {read} registrations read"
                )
            # A batch whose every line was quarantined leaves nothing to match.
            matches = concat_rows(matched, LINE_MATCHES)
            weighed_all = concat_rows(candidates, MATCH_CANDIDATES)
            store.publish(LINE_MATCHES, matches, replace_where=where)
            store.publish(MATCH_CANDIDATES, weighed_all, replace_where=where)
            fitted = concat_rows(models, MATCH_MODELS)
            petitions = {"petition_id": [c.petition_id for c in configs]}
            store.publish(MATCH_MODELS, fitted, replace_where=None if every else petitions)
            if keeping is not None:
                keeping.result()
    finally:
        store.dispose()
    by_method = matches["match_method"].value_counts().to_dict()
    yield dg.MaterializeResult(
        asset_key="line_matches",
        metadata={
            **table_metadata(LINE_MATCHES, len(matches)),
            **column_lineage(LINE_MATCH_LINEAGE),
            "lines_by_method": {k: int(v) for k, v in by_method.items()},
            "lines_by_status": {
                k: int(v) for k, v in matches["match_status"].value_counts().to_dict().items()
            },
            "lines_parsed_by": {
                k or "no address": int(v)
                for k, v in matches["parsed_by"].value_counts().to_dict().items()
            },
        },
    )
    yield dg.MaterializeResult(
        asset_key="match_candidates",
        metadata={
            **table_metadata(MATCH_CANDIDATES, len(weighed_all)),
            "lines_for_review": int((matches["match_status"] == "REVIEW").sum()),
        },
    )
    yield dg.MaterializeResult(
        asset_key="match_models",
        metadata={"petitions_fitted": len(models)},
    )
