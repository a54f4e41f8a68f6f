"""Verdicts: one per line, the per-reason tables and the registrar's summary, decided and
published for a run's petitions, then reconciled."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from recall_pipeline.audit.manifest import (
    VERDICT_FINGERPRINTS,
    content_version,
    fingerprint_verdicts,
)
from recall_pipeline.checks import CheckOutcome
from recall_pipeline.services.io import (
    Log,
    concat_rows,
    petition_configs,
    petition_slice,
    publish_petitions,
    read_frame,
)
from recall_pipeline.verify import incremental, reconcile
from recall_pipeline.verify.challenges import CHALLENGES_INPUT, RULINGS_INPUT
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
    decide_petition,
    reason_summary,
    registrar_summary,
)
from recall_pipeline.verify.reasons import reason_codes
from recall_pipeline.verify.schemas import (
    CHALLENGES_SET_ASIDE,
    INVALID_TABLES,
    LINE_VERDICTS,
    NORMALIZED_ADDRESS_COLUMNS,
    NORMALIZED_NAME_COLUMNS,
    REASON_SUMMARY,
    REGISTRAR_SUMMARY,
    VERDICT_MATCH_COLUMNS,
)
from recall_pipeline.versions import stage_version
from recall_pipeline.warehouse import Warehouse, Within

# A hash of the code and reference tables that decide the verdicts (`versions`): written into
# every verdict row and the snapshot a batch run compares, so a change to either decides every
# line again.
VERDICTS_CODE_VERSION = stage_version("verdicts")

_KEY = ["petition_id", "section_id", "page", "line"]
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
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerdictsOutcome:
    """What a verdicts run published for its petitions, and its reconciliation checks."""

    # The run's petitions' rows of line_verdicts (all of them, in a run for changed lines).
    verdict_rows: int
    by_status: dict[str, int]
    pending_input_needs_correction: int
    # Lines an accepted ruling decided again, and the challenge and ruling rows set aside.
    lines_decided_by_rulings: int
    set_aside_rows: int
    # Each reason code's table (in reason-code order) and its rows after the run.
    invalid_rows: dict[str, int]
    reason_rows: int
    lines_by_reason: dict[str, int]
    category_rows: int
    lines_by_category: dict[str, int]
    # Per petition, the SHA-256 of its sorted verdicts; `data_version` hashes them all.
    fingerprint_rows: int
    fingerprints: dict[str, str]
    data_version: str
    snapshot_rows: int
    checks: dict[str, CheckOutcome]


def decide_verdicts(
    store: Warehouse,
    scope: list[str],
    every: bool,
    run_id: str,
    *,
    changed_lines_only: bool = False,
    log: Log = _LOG,
) -> VerdictsOutcome:
    """Decide the lines of the petitions in `scope` (every registered one when `every`) and
    publish line_verdicts, the per-reason tables, the summaries, the fingerprints and the
    inputs' snapshot. With `changed_lines_only`, after a run for some scan batches, only the
    lines those batches can change are decided again (see `verify.incremental`)."""
    configs = petition_configs(store, scope)
    petitions = [config.petition_id for config in configs]
    mine = {"petition_id": petitions}
    inputs_now = incremental.snapshot(store, VERDICTS_CODE_VERSION, petitions)
    challenges_all = _optional_frame(store, CHALLENGES_INPUT, mine)
    rulings_all = _optional_frame(store, RULINGS_INPUT, mine)
    # A run following some scan batches decides again only what their lines can change; a
    # petition under examination is decided in full, its challenges judged against every line.
    files = None
    if changed_lines_only and challenges_all.empty:
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
    roll = store.read_frame("voter_roll", columns=_ROLL_COLUMNS, where=voters, date_as_object=False)
    sections_all = read_frame(store, "petition_sections", where=mine)
    reviews_all = read_frame(store, "signature_reviews", where=mine)
    # Examiners' decisions on who signed, with the addresses of the voters they name.
    match_reviews_all = read_frame(store, "match_reviews", where=mine)
    # The voters challenges claim as signers too: a ruling may act as such a decision.
    claimed = challenges_all["claimed_voter_id"].dropna() if len(challenges_all) else []
    named = sorted((set(match_reviews_all["voter_id"].dropna()) | set(claimed)) - {""})
    reviewed_roll = store.read_frame(
        "voter_roll",
        columns=list(dict.fromkeys([*_ROLL_COLUMNS, *REVIEW_ADDRESS_COLUMNS])),
        where={"voter_id": named},
        date_as_object=False,
    )
    reviewed_history = store.read_frame("voter_address_history", where={"voter_id": named})
    if named:
        # The named voters' rows first: those carry the addresses a decision is weighed against
        # (a voter the matcher linked elsewhere is in both).
        roll = pd.concat([reviewed_roll, roll], ignore_index=True).drop_duplicates("voter_id")
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
    side = read_frame(store, "quarantined_rows", where={"input_name": list(SIDE_INPUTS), **mine})
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
    decided, set_aside_rows = [], []
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
            log.warning(
                f"{pid}: jurisdiction {config.jurisdiction_code} has no ZIPs in "
                "jurisdiction_zips, so every line with a ZIP is OUT_OF_JURISDICTION"
            )
        of_petition = decide_petition(
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
            _of(challenges_all, pid),
            _of(rulings_all, pid),
        )
        decided.append(of_petition.verdicts)
        set_aside_rows.append(of_petition.set_aside)
    redone = concat_rows(decided, LINE_VERDICTS).assign(
        run_id=run_id, code_version=VERDICTS_CODE_VERSION
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
            log.info(
                f"{len(files)} changed scan file(s): {len(redone)} of "
                f"{len(scope_verdicts)} lines decided again"
            )
        reasons, categories = [], []
        for config in configs:
            verdict = scope_verdicts[scope_verdicts["petition_id"] == config.petition_id]
            reasons.append(reason_summary(config.petition_id, verdict))
            categories.append(registrar_summary(config.petition_id, verdict))
            counts = verdict["status"].value_counts().to_dict()
            log.info(f"{config.petition_id}: {counts}")
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
    examination = concat_rows(set_aside_rows, CHALLENGES_SET_ASIDE)
    publish_petitions(store, CHALLENGES_SET_ASIDE, examination, scope, every)
    # Last: verdicts published without their snapshot are decided again in full next time.
    incremental.publish_snapshot(store, inputs_now, petition_slice(scope, every))
    checks = {
        "one_verdict_per_line": reconcile.one_verdict_per_line(store, scope),
        "reasons_partition_invalid": reconcile.reasons_partition_invalid(store, scope),
        "one_valid_line_per_voter": reconcile.one_valid_line_per_voter(store, scope),
        "rulings_accounted": reconcile.rulings_accounted(store, scope),
    }
    return VerdictsOutcome(
        verdict_rows=len(scope_verdicts),
        by_status={k: int(v) for k, v in scope_verdicts["status"].value_counts().items()},
        pending_input_needs_correction=int(
            (scope_verdicts["pending_reason"] == INPUT_NEEDS_CORRECTION).sum()
        ),
        lines_decided_by_rulings=int(scope_verdicts["challenge_id"].notna().sum()),
        set_aside_rows=len(examination),
        invalid_rows=published,
        reason_rows=len(reason_table),
        lines_by_reason=dict(
            zip(reason_table["reason_code"], reason_table["lines"].astype(int), strict=True)
        ),
        category_rows=len(category_table),
        lines_by_category=dict(
            zip(category_table["category"], category_table["lines"].astype(int), strict=True)
        ),
        fingerprint_rows=len(fingerprints),
        fingerprints=dict(
            zip(fingerprints["petition_id"], fingerprints["fingerprint"], strict=True)
        ),
        data_version=content_version(fingerprints),
        snapshot_rows=len(inputs_now),
        checks=checks,
    )


def _optional_frame(store: Warehouse, table: str, where: dict) -> pd.DataFrame:
    """An optional input's rows (none from a warehouse that predates the input)."""
    return read_frame(store, table, where=where) if store.table_exists(table) else pd.DataFrame()


def _of(frame: pd.DataFrame, petition_id: str) -> pd.DataFrame | None:
    return frame[frame["petition_id"] == petition_id] if len(frame) else None
