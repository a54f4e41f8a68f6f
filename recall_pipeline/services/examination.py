"""The examination's standing per petition, computed from what the run published and
published beside it (`verify.examination`)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd

from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.services.io import Log, concat_rows, petition_configs, publish_petitions
from recall_pipeline.tables import LINE_KEY_COLUMNS
from recall_pipeline.verify.examination import (
    EXAMINATION_REASONS,
    EXAMINATION_SET,
    EXAMINATION_STATUS,
    LINE_AS_WRITTEN,
    REGISTRATION_SHOWN,
    ExaminationStanding,
    ReasonStanding,
    as_rows,
    examination_set,
    review_priority,
    standing,
)
from recall_pipeline.verify.reconcile import admitted_challenges_and_rulings
from recall_pipeline.warehouse import Warehouse, Within

_LOG = logging.getLogger(__name__)
_VERDICT_COLUMNS = [
    *LINE_KEY_COLUMNS,
    "status",
    "reason_code",
    "challenge_id",
    "finding_reason_code",
]


@dataclass(frozen=True)
class ExaminationOutcome:
    status_rows: int
    reason_rows: int
    set_rows: int
    # Per petition: lines to change to change the result ("12 reinstate"), or why none.
    to_flip: dict[str, str]


def examination_standing(
    store: Warehouse,
    scope: list[str],
    every: bool,
    *,
    as_of: dt.date | None = None,
    log: Log = _LOG,
) -> ExaminationOutcome:
    """Publish examination_status, examination_reasons and examination_set for the
    petitions of `scope`."""
    status_rows, reason_rows, to_flip = [], [], {}
    configs = petition_configs(store, scope)
    for config in configs:
        pid = config.petition_id
        found = current_standing(store, config, as_of)
        if found is None:
            continue
        petition, reasons = found
        status_rows += as_rows(petition)
        reason_rows += as_rows(reasons)
        to_flip[pid] = (
            f"{petition.lines_to_flip} to {petition.flip_direction}"
            if petition.lines_to_flip is not None
            else "decided by its sample"
        )
        log.info(f"{pid}: lines to change the result: {to_flip[pid]}")
    status = concat_rows([pd.DataFrame(status_rows)] if status_rows else [], EXAMINATION_STATUS)
    by_reason = concat_rows([pd.DataFrame(reason_rows)] if reason_rows else [], EXAMINATION_REASONS)
    publish_petitions(store, EXAMINATION_STATUS, status, scope, every)
    publish_petitions(store, EXAMINATION_REASONS, by_reason, scope, every)
    examined = concat_rows(
        [examination_set_of(store, config) for config in configs], EXAMINATION_SET
    )
    publish_petitions(store, EXAMINATION_SET, examined, scope, every)
    return ExaminationOutcome(len(status), len(by_reason), len(examined), to_flip)


def current_standing(
    store: Warehouse, config: PetitionConfig, as_of: dt.date | None = None
) -> tuple[ExaminationStanding, list[ReasonStanding]] | None:
    """One petition's standing from its published determination, verdicts, challenges and
    rulings, on day `as_of` (today, in UTC, by default); None before its determination."""
    where = {"petition_id": config.petition_id}
    determination = store.read_frame("sufficiency_determination", where=where)
    if determination.empty:
        return None
    verdicts = store.read_frame("line_verdicts", columns=_VERDICT_COLUMNS, where=where)
    challenges, rulings = challenges_and_rulings(store, config.petition_id, verdicts)
    return standing(
        determination.iloc[0].to_dict(),
        verdicts,
        challenges,
        rulings,
        examination_started=getattr(config, "examination_started", None),
        as_of=as_of or dt.datetime.now(dt.UTC).date(),
    )


def challenges_and_rulings(
    store: Warehouse, petition_id: str, verdicts: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The petition's admitted challenges (challenge_id, and reason_code: the reason of the
    line they contest, at the finding) and the rulings on them (challenge_id, ruling); the rows
    the verdict step set aside (challenges_set_aside) count for nothing."""
    challenges, rulings = admitted_challenges_and_rulings(store, {"petition_id": petition_id})
    redecided = verdicts["challenge_id"].notna()
    found_as = verdicts[LINE_KEY_COLUMNS].assign(
        reason_code=verdicts["reason_code"].where(~redecided, verdicts["finding_reason_code"])
    )
    challenges = challenges.merge(found_as, on=LINE_KEY_COLUMNS, how="left", validate="many_to_one")
    return challenges[["challenge_id", "reason_code"]], rulings[["challenge_id", "ruling"]]


def examination_set_of(store: Warehouse, config: PetitionConfig) -> pd.DataFrame:
    """One petition's examination set, with each line's review priority."""
    petition = {"petition_id": config.petition_id}
    invalid = {**petition, "status": "INVALID"}
    verdicts = store.read_frame("line_verdicts", where=invalid)
    valid_voters = store.read_frame(
        "line_verdicts", columns=["voter_id"], where={**petition, "status": "VALID"}
    )
    best = best_candidates(store, config.petition_id)
    matched = {"voter_id": Within("line_verdicts", "voter_id", where=invalid)}
    priority = review_priority(
        verdicts,
        best,
        store.read_frame(
            "voter_address_history", columns=["voter_id", "valid_from", "valid_to"], where=matched
        )
        if store.table_exists("voter_address_history")
        else pd.DataFrame(columns=["voter_id", "valid_from", "valid_to"]),
        set(valid_voters["voter_id"].dropna()),
        (config.approved_for_circulation, config.filed_date),
        signatures_compared(store, config.petition_id, verdicts),
    )
    return examination_set(
        verdicts,
        store.read_frame(
            "petition_lines", columns=[*LINE_KEY_COLUMNS, *LINE_AS_WRITTEN], where=petition
        ),
        # The invalid lines' own registrations, picked out by the warehouse.
        store.read_frame("voter_roll", columns=["voter_id", *REGISTRATION_SHOWN], where=matched),
        priority,
    )


def signatures_compared(store: Warehouse, petition_id: str, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per SIGNATURE_MISMATCH line of `verdicts`, how many signatures on file the finding its
    verdict cites (`review_source_file`/`_row`) compared the line's with, as the review file
    gave it (missing where it did not)."""
    cited = verdicts.loc[
        verdicts["reason_code"] == "SIGNATURE_MISMATCH",
        [*LINE_KEY_COLUMNS, "review_source_file", "review_source_row"],
    ]
    if cited.empty or not store.table_exists("signature_reviews"):
        return pd.DataFrame(columns=[*LINE_KEY_COLUMNS, "signatures_compared"])
    reviews = store.read_frame(
        "signature_reviews",
        columns=["source_file", "source_row", "signatures_compared"],
        # Only a NO_MATCH finding makes a SIGNATURE_MISMATCH: the MATCH rows are most of them.
        where={"petition_id": petition_id, "finding": "NO_MATCH"},
    ).rename(columns={"source_file": "review_source_file", "source_row": "review_source_row"})
    found = cited.merge(reviews, on=["review_source_file", "review_source_row"], how="left")
    return found[[*LINE_KEY_COLUMNS, "signatures_compared"]]


def best_candidates(store: Warehouse, petition_id: str) -> pd.DataFrame:
    """Per line of the petition, the probability of the strongest registration the matcher
    weighed for it (`best_probability`), found by the warehouse."""
    key = ", ".join(store.quote(c) for c in LINE_KEY_COLUMNS)
    return store.query(
        f"SELECT {key}, max(match_probability) AS best_probability FROM match_candidates "
        f"WHERE petition_id = :pid GROUP BY {key}",
        {"pid": petition_id},
    )
