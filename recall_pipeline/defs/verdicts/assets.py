"""Verdicts: one per line, the per-reason tables and the registrar's summary."""

from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pandas as pd

from recall_pipeline.audit.manifest import (
    VERDICT_FINGERPRINTS,
    content_version,
    fingerprint_verdicts,
)
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
from recall_pipeline.defs.warehouse_io import (
    concat_rows,
    petition_configs,
    petition_slice,
    publish_petitions,
    read_frame,
)
from recall_pipeline.verify import incremental, reconcile
from recall_pipeline.verify.corrections import (
    HISTORY_INPUT,
    INPUT_NEEDS_CORRECTION,
    ROLL_INPUT,
    SIDE_INPUTS,
    ZIPS_INPUT,
    set_aside,
    verdicts_needing_correction,
)
from recall_pipeline.verify.jurisdiction import zips_by_code
from recall_pipeline.verify.match_reviews import ADDRESS_COLUMNS as REVIEW_ADDRESS_COLUMNS
from recall_pipeline.verify.pipeline import (
    reason_summary,
    registrar_summary,
    verdicts_for_petition,
)
from recall_pipeline.verify.reasons import reason_codes
from recall_pipeline.verify.schemas import (
    INVALID_TABLES,
    LINE_VERDICTS,
    NORMALIZED_ADDRESS_COLUMNS,
    NORMALIZED_NAME_COLUMNS,
    REASON_SUMMARY,
    REGISTRAR_SUMMARY,
    VERDICT_MATCH_COLUMNS,
)
from recall_pipeline.versions import stage_version
from recall_pipeline.warehouse import Within

# A hash of the code and reference tables that decide the verdicts (`versions`): written into
# every verdict row and the snapshot a batch run compares, so a change to either decides every
# line again.
VERDICTS_CODE_VERSION = stage_version("verdicts")

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
_ROLL_COLUMNS = ["voter_id", "status", "status_date", "registration_date"]
# What deciding a line reads of the line and of its match (verify.verdicts.decide): not the
# names and addresses, which cost seconds to read and reorder at a county's scale.
_LINE_COLUMNS = [
    *_KEY,
    "date_signed",
    "signature_present",
    "source_file",
    "source_row",
    "source_sha256",
]
_MATCH_COLUMNS = list(
    dict.fromkeys(
        [
            *_KEY,
            "source_file",
            "voter_id",
            # The written address too: an examiner's link is weighed against it; and the
            # names, which a registration set aside at ingestion is recognised by.
            *NORMALIZED_ADDRESS_COLUMNS,
            *NORMALIZED_NAME_COLUMNS,
            "history_valid_from",
            "history_valid_to",
            *VERDICT_MATCH_COLUMNS,
        ]
    )
)
INPUTS = [
    "line_matches",
    "petition_lines",
    "petition_sections",
    "signature_reviews",
    "match_reviews",
    "withdrawal_requests",
    "voter_roll",
    "jurisdiction_zips",
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
        )
    ],
)
def line_verdicts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    scope, every = petition_scope(context)
    store = warehouse.open()
    try:
        configs = petition_configs(store, scope)
        petitions = [config.petition_id for config in configs]
        mine = {"petition_id": petitions}
        inputs_now = incremental.snapshot(store, VERDICTS_CODE_VERSION, petitions)
        # A run following some scan batches decides again only what their lines can change.
        files = None
        if context.run.tags.get(CHANGED_LINES_TAG):
            files = incremental.changed_scan_files(store, inputs_now, petitions)
        affected = None if files is None else incremental.affected_matches(store, files, petitions)
        if affected is None:
            lines_all = read_frame(store, "petition_lines", _LINE_COLUMNS, where=mine)
            matches_all = read_frame(store, "line_matches", _MATCH_COLUMNS, where=mine)
            # The registrations of matched voters only, picked out by the warehouse.
            voters = {"voter_id": Within("line_matches", "voter_id", where=mine)}
        else:
            lines_all = incremental.rows_of(store, "petition_lines", affected)
            matches_all = affected
            voters = {"voter_id": sorted(set(matches_all["voter_id"].dropna()))}
        # Dates as datetime64, not a Python object per cell: the rules compare them as such.
        roll = store.read_frame(
            "voter_roll", columns=_ROLL_COLUMNS, where=voters, date_as_object=False
        )
        sections_all = read_frame(store, "petition_sections", where=mine)
        reviews_all = read_frame(store, "signature_reviews", where=mine)
        # Examiners' decisions on who signed, with the addresses of the voters they name.
        match_reviews_all = read_frame(store, "match_reviews", where=mine)
        named = sorted(set(match_reviews_all["voter_id"].dropna()) - {""})
        reviewed_roll = store.read_frame(
            "voter_roll",
            columns=list(dict.fromkeys([*_ROLL_COLUMNS, *REVIEW_ADDRESS_COLUMNS])),
            where={"voter_id": named},
            date_as_object=False,
        )
        reviewed_history = store.read_frame("voter_address_history", where={"voter_id": named})
        if named:
            roll = pd.concat([roll, reviewed_roll], ignore_index=True).drop_duplicates("voter_id")
        withdrawals_all = read_frame(store, "withdrawal_requests", where=mine)
        zips = zips_by_code(read_frame(store, "jurisdiction_zips"))
        # Lines filed but quarantined at ingestion: of the changed files only, in a batch run.
        quarantined = read_frame(
            store,
            "quarantined_rows",
            where={"input_name": "petition_lines", **mine}
            | ({} if files is None or affected is None else {"source_file": files}),
        )
        # Side-file rows set aside: the rules they would have decided stay unknown.
        side = read_frame(
            store, "quarantined_rows", where={"input_name": list(SIDE_INPUTS), **mine}
        )
        shared_set_aside = read_frame(
            store,
            "quarantined_rows",
            where={"input_name": [ROLL_INPUT, HISTORY_INPUT, ZIPS_INPUT]},
        )
        taken = (
            read_frame(store, "petition_lines", incremental.KEY, where=mine)
            if len(quarantined)
            else quarantined
        )
        decided = []
        for config in configs:
            pid = config.petition_id
            lines = lines_all[lines_all["petition_id"] == pid]
            to_correct = quarantined[quarantined["petition_id"] == pid]
            if len(to_correct):
                decided.append(
                    verdicts_needing_correction(to_correct, taken[taken["petition_id"] == pid])
                )
            if affected is not None and lines.empty:
                continue
            inside = zips.get(config.jurisdiction_code, frozenset())
            if not inside:
                context.log.warning(
                    f"{pid}: jurisdiction {config.jurisdiction_code} has no ZIPs in "
                    "jurisdiction_zips, so every line with a ZIP is OUT_OF_JURISDICTION"
                )
            decided.append(
                verdicts_for_petition(
                    config,
                    lines,
                    matches_all[matches_all["petition_id"] == pid],
                    roll,
                    sections_all[sections_all["petition_id"] == pid],
                    reviews_all[reviews_all["petition_id"] == pid],
                    withdrawals_all[withdrawals_all["petition_id"] == pid],
                    inside,
                    match_reviews_all[match_reviews_all["petition_id"] == pid],
                    reviewed_history,
                    set_aside(
                        pd.concat([side[side["petition_id"] == pid], shared_set_aside]),
                        config.jurisdiction_code,
                    ),
                )
            )
        redone = concat_rows(decided, LINE_VERDICTS).assign(
            run_id=context.run.run_id, code_version=VERDICTS_CODE_VERSION
        )
        # The fingerprint (Arrow's CSV writer and SHA-256, which release the GIL) is computed
        # while the warehouse writes the tables.
        with ThreadPoolExecutor(max_workers=1) as pool:
            if affected is None:
                fingerprinting = pool.submit(fingerprint_verdicts, redone)
                # A registered petition without settings any more keeps no verdicts.
                publish_petitions(store, LINE_VERDICTS, redone, scope, every)
                scope_verdicts = redone
            else:
                # The changed files' rows and the redone lines replaced; every other row kept.
                store.publish(
                    LINE_VERDICTS,
                    redone,
                    replace_where={"source_file": files},
                    replace_keys=incremental.KEY,
                )
                scope_verdicts = read_frame(store, LINE_VERDICTS.name, where=mine)
                fingerprinting = pool.submit(fingerprint_verdicts, scope_verdicts)
                context.log.info(
                    f"{len(files)} changed scan file(s): {len(redone)} of "
                    f"{len(scope_verdicts)} lines decided again"
                )
            reasons, categories = [], []
            for config in configs:
                verdict = scope_verdicts[scope_verdicts["petition_id"] == config.petition_id]
                reasons.append(reason_summary(config.petition_id, verdict))
                categories.append(registrar_summary(config.petition_id, verdict))
                counts = verdict["status"].value_counts().to_dict()
                context.log.info(f"{config.petition_id}: {counts}")
            # Each reason's invalid lines, copied inside the warehouse from those just published.
            published = {
                code.code: store.publish_selection(
                    INVALID_TABLES[code.code],
                    LINE_VERDICTS.name,
                    {"reason_code": code.code},
                    replace_where=petition_slice(scope, every),
                )
                for code in reason_codes()
            }
            reason_table = concat_rows(reasons, REASON_SUMMARY)
            category_table = concat_rows(categories, REGISTRAR_SUMMARY)
            publish_petitions(store, REASON_SUMMARY, reason_table, scope, every)
            publish_petitions(store, REGISTRAR_SUMMARY, category_table, scope, every)
            fingerprints = fingerprinting.result()
        publish_petitions(store, VERDICT_FINGERPRINTS, fingerprints, scope, every)
        # Last: verdicts published without their snapshot are decided again in full next time.
        incremental.publish_snapshot(store, inputs_now, petition_slice(scope, every))
        checks = {
            "one_verdict_per_line": reconcile.one_verdict_per_line(store, scope),
            "reasons_partition_invalid": reconcile.reasons_partition_invalid(store, scope),
            "one_valid_line_per_voter": reconcile.one_valid_line_per_voter(store, scope),
        }
    finally:
        store.dispose()
    yield dg.MaterializeResult(
        asset_key="line_verdicts",
        data_version=dg.DataVersion(content_version(fingerprints)),
        metadata={
            **table_metadata(LINE_VERDICTS, len(scope_verdicts)),
            **column_lineage(LINE_VERDICT_LINEAGE),
            "by_status": {k: int(v) for k, v in scope_verdicts["status"].value_counts().items()},
            "pending_input_needs_correction": int(
                (scope_verdicts["pending_reason"] == INPUT_NEEDS_CORRECTION).sum()
            ),
        },
    )
    for code in reason_codes():
        yield dg.MaterializeResult(
            asset_key=INVALID_TABLES[code.code].name,
            metadata={
                **table_metadata(INVALID_TABLES[code.code], published[code.code]),
                **column_lineage(same_columns("line_verdicts", LINE_VERDICTS.column_names)),
            },
        )
    yield dg.MaterializeResult(
        asset_key="reason_summary",
        metadata={
            **table_metadata(REASON_SUMMARY, len(reason_table)),
            "lines_by_reason": dict(
                zip(reason_table["reason_code"], reason_table["lines"].astype(int), strict=True)
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="registrar_summary",
        metadata={
            **table_metadata(REGISTRAR_SUMMARY, len(category_table)),
            "lines_by_category": dict(
                zip(category_table["category"], category_table["lines"].astype(int), strict=True)
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=VERDICT_FINGERPRINTS.name,
        data_version=dg.DataVersion(content_version(fingerprints)),
        metadata={
            **table_metadata(VERDICT_FINGERPRINTS, len(fingerprints)),
            "fingerprints": dict(
                zip(fingerprints["petition_id"], fingerprints["fingerprint"], strict=True)
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=incremental.VERDICT_INPUTS.name,
        metadata=table_metadata(incremental.VERDICT_INPUTS, len(inputs_now)),
    )
    for name, outcome in checks.items():
        yield dg.AssetCheckResult(
            asset_key="line_verdicts",
            check_name=name,
            passed=outcome.passed,
            metadata=outcome.metadata,
        )
