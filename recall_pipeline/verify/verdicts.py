"""One verdict per petition line: VALID, INVALID with one primary reason, or PENDING.

Every rule of domain.md §3 is evaluated for every line as a boolean column; the primary reason
is the first rule that applies in the precedence of the reason-code table, and the others are
kept as secondary flags. The duplicate rule runs last, over the lines every other rule left
valid: of each voter's valid lines exactly one stays VALID (the earliest or latest by date
signed, then section, page and line — the petition's `duplicates_keep`), the rest are DUPLICATE.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.verify.corrections import (
    INPUT_NEEDS_CORRECTION,
    SetAside,
    could_be_set_aside,
)
from recall_pipeline.verify.frames import codes, isin, labels, strings
from recall_pipeline.verify.jurisdiction import written_outside
from recall_pipeline.verify.match import METHOD_ELSEWHERE, METHOD_HISTORY, METHOD_NAME, REVIEW
from recall_pipeline.verify.reasons import INVALID, PENDING, VALID, reason_codes

LINE_KEY = ["section_id", "page", "line"]
# Why a line is PENDING: the matcher could not tell who signed it, or its signature awaits an
# examiner (when the petition says unreviewed signatures are not presumed valid).
MATCH_REVIEW = "MATCH_REVIEW"
SIGNATURE_REVIEW = "SIGNATURE_REVIEW"
# (A line awaiting a corrected input file: corrections.INPUT_NEEDS_CORRECTION.)


def _dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values), errors="coerce").dt.normalize()


def decide(
    config: PetitionConfig,
    lines: pd.DataFrame,
    matches: pd.DataFrame,
    roll: pd.DataFrame,
    sections: pd.DataFrame,
    reviews: pd.DataFrame,
    withdrawals: pd.DataFrame,
    jurisdiction_zips: Collection[str],
    doubts: SetAside | None = None,
) -> pd.DataFrame:
    """Evaluate every rule for every line of one petition and pick each line's verdict.

    `lines` and `matches` (the line's normalized forms and match, as in `line_matches`) are
    aligned row by row (same length, same order). `doubts`: the petition's side-file rows set
    aside at ingestion; the rules they would have decided are unknown for the lines they
    concern (see `corrections`).
    """
    approved = pd.Timestamp(config.approved_for_circulation)
    filed = pd.Timestamp(config.filed_date)
    signed = _dates(lines["date_signed"].to_numpy())
    # A line without a date is judged as of the filing date (the latest it can have been signed).
    as_of = signed.fillna(filed)

    # Each line's section row, found once for every section column the rules read.
    section = sections.set_index("section_id")
    at_section = section.index.get_indexer(lines["section_id"].astype("str"))
    known_section = at_section >= 0
    rows = np.where(known_section, at_section, 0)

    def section_holds(values: pd.Series) -> np.ndarray:
        if section.empty:
            return np.zeros(len(rows), dtype=bool)
        return known_section & values.to_numpy(dtype=bool)[rows]

    filed_with = section_holds(section["filed_with_petition"].fillna(False))
    declared = (
        section_holds(section["declaration_signed"].fillna(False))
        & section_holds(section["declaration_date"].notna())
        & section_holds(section["circulator_name"].notna())
    )

    registered = matches["voter_id"].notna().to_numpy()
    # A line the matcher routed to an examiner has no voter yet: the rules that depend on who
    # signed wait for the examiner; the others (its section, its signature box, its address,
    # its date) can still make it invalid.
    awaiting_match = (matches["match_status"] == REVIEW).to_numpy()
    # Each line's registration, looked up once for all three columns with Arrow's hash table
    # (pandas would turn millions of ids into Python objects first).
    at = pc.index_in(strings(matches["voter_id"]), value_set=strings(roll["voter_id"]))
    status = _take(roll["status"], at)
    status_date = _dates(_take(roll["status_date"], at).to_numpy())
    registration_date = _dates(_take(roll["registration_date"], at).to_numpy())

    withdrawn_voters = withdrawals.loc[
        _dates(withdrawals["received_date"].to_numpy()).le(filed).to_numpy(), "voter_id"
    ]
    review = _latest_findings(lines, reviews)
    finding = review["finding"]

    cutoff = filed if config.registration_cutoff == "filed_date" else as_of
    method = matches["match_method"].to_numpy()
    history_from = _dates(matches["history_valid_from"].to_numpy())
    history_to = _dates(matches["history_valid_to"].to_numpy())
    lived_there_when_signing = (
        signed.notna() & history_from.le(signed).fillna(True) & history_to.ge(signed).fillna(True)
    ).to_numpy()

    conditions = {
        "SECTION_NOT_FILED": ~known_section | ~filed_with,
        "CIRCULATOR_DECLARATION_DEFECT": ~declared,
        "NO_SIGNATURE": ~lines["signature_present"].astype(bool).to_numpy(),
        "WITHDRAWN": registered & isin(matches["voter_id"], withdrawn_voters.dropna()),
        "NO_RESIDENCE_ADDRESS": ~matches["has_address"].to_numpy(bool),
        "SIGNED_OUTSIDE_PERIOD": (signed.lt(approved) | signed.gt(filed)).fillna(False).to_numpy(),
        "OUT_OF_JURISDICTION": written_outside(
            matches["has_address"].to_numpy(bool), matches["zip5"], jurisdiction_zips
        ),
        "NOT_REGISTERED": ~registered & ~awaiting_match,
        "CANCELLED": registered
        & (status == "CANCELLED").to_numpy()
        & status_date.lt(as_of).fillna(True).to_numpy(),
        "REGISTERED_LATE": registered & registration_date.gt(cutoff).fillna(False).to_numpy(),
        "ADDRESS_MISMATCH": registered
        & (
            (method == METHOD_NAME)
            | (method == METHOD_ELSEWHERE)
            | ((method == METHOD_HISTORY) & ~lived_there_when_signing)
        ),
        "SIGNATURE_MISMATCH": (finding == "NO_MATCH").to_numpy(),
    }
    unknown, problem = _unknown(lines, matches, registered, known_section, conditions, doubts)
    for code, rows in unknown.items():
        conditions[code] = np.asarray(conditions[code], dtype=bool) & ~rows
    order = [c.code for c in reason_codes() if c.code in conditions]
    broken = [np.asarray(conditions[c], dtype=bool) for c in order]
    stacked = np.column_stack(broken)
    any_reason = stacked.any(axis=1)
    first = np.argmax(stacked, axis=1)
    reason = labels([*order, None], np.where(any_reason, first, len(order)), lines.index)

    unreviewed = (config.unreviewed_signatures == "pending") & finding.isna().to_numpy()
    to_correct = ~any_reason & pd.notna(problem)
    pending = ~any_reason & (awaiting_match | unreviewed | to_correct)
    statuses = [INVALID, PENDING, VALID]
    verdict = labels(statuses, np.where(any_reason, 0, np.where(pending, 1, 2)), lines.index)
    pending_reason = np.select(
        [pending & to_correct, pending & awaiting_match, pending],
        [INPUT_NEEDS_CORRECTION, MATCH_REVIEW, SIGNATURE_REVIEW],
        default=None,
    )
    verdicts = pd.DataFrame(
        {
            "petition_id": config.petition_id,
            # Columns go in as their arrays: a numpy copy of text is a Python object per cell.
            "section_id": lines["section_id"].array,
            "page": lines["page"].array,
            "line": lines["line"].array,
            "status": verdict.array,
            "reason_code": reason.array,
            "pending_reason": pending_reason,
            "voter_id": matches["voter_id"].array,
            "date_signed": signed.to_numpy(),
            "review_finding": finding.array,
            "review_source_file": review["source_file"].array,
            "review_source_row": review["source_row"].to_numpy(),
            "input_problem": problem,
        }
    )
    verdicts = _apply_duplicates(verdicts, config.duplicates_keep)
    verdicts["secondary_reasons"] = _secondary(broken, order)
    return verdicts.drop(columns=["date_signed"])


def _unknown(
    lines: pd.DataFrame,
    matches: pd.DataFrame,
    registered: np.ndarray,
    known_section: np.ndarray,
    conditions: dict[str, np.ndarray],
    doubts: SetAside | None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The rules a set-aside side-file row leaves unknown, as line masks per reason code, and
    each line's problem (the first set-aside row it depends on; None for most lines).

    A finding or a withdrawal set aside could only have added a reason, so its line is in
    doubt whatever the rest says; an examiner's decision on who signed leaves every rule that
    reads the signer's registration unknown; a past address, the address rule for its voter's
    lines written elsewhere; a ZIP, only where the line's ZIP is not listed."""
    n = len(lines)
    problem = np.full(n, None, dtype=object)
    if not doubts:
        return {}, problem
    sections = lines["section_id"].astype("str").map(doubts.sections).to_numpy()
    reviews = _by_line_key(lines, doubts.reviews)
    decisions = _by_line_key(lines, doubts.match_reviews)
    withdrawals = matches["voter_id"].map(doubts.withdrawals).to_numpy()
    past = matches["voter_id"].map(doubts.history).to_numpy()
    # A section set aside is unknown only where no accepted row of it exists.
    section_doubt = pd.notna(sections) & ~known_section
    review_doubt = pd.notna(reviews)
    withdrawal_doubt = pd.notna(withdrawals) & registered
    awaiting = (matches["match_status"] == REVIEW).to_numpy()
    registrations = could_be_set_aside(matches, doubts)
    registration_doubt = pd.notna(registrations) & ~registered & ~awaiting
    zip_doubt = (doubts.zips is not None) & np.asarray(conditions["OUT_OF_JURISDICTION"], bool)
    zips = np.full(n, doubts.zips, dtype=object)
    # Who signed is in doubt: every rule that reads the signer's registration.
    decision_doubt = pd.notna(decisions)
    past_doubt = pd.notna(past) & np.asarray(conditions["ADDRESS_MISMATCH"], bool)
    for doubt, text in ((zip_doubt, zips), (registration_doubt, registrations),
                        (past_doubt, past), (withdrawal_doubt, withdrawals),
                        (review_doubt, reviews), (decision_doubt, decisions),
                        (section_doubt, sections)):  # fmt: skip
        problem = np.where(doubt, text, problem)
    unknown = {
        "OUT_OF_JURISDICTION": zip_doubt,
        "NOT_REGISTERED": registration_doubt | decision_doubt,
        "CANCELLED": decision_doubt,
        "REGISTERED_LATE": decision_doubt,
        "ADDRESS_MISMATCH": decision_doubt | past_doubt,
        "WITHDRAWN": decision_doubt,
        "SECTION_NOT_FILED": section_doubt,
        "CIRCULATOR_DECLARATION_DEFECT": section_doubt,
        "SIGNATURE_MISMATCH": review_doubt,
    }
    unknown["WITHDRAWN"] = unknown["WITHDRAWN"] | withdrawal_doubt
    return unknown, problem


def _by_line_key(lines: pd.DataFrame, problems: dict[tuple[str, int, int], str]) -> np.ndarray:
    """Each line's entry in `problems` (keyed by section, page, line), None where it has
    none: a join, not a lookup per line."""
    if not problems:
        return np.full(len(lines), None, dtype=object)
    keys = pd.DataFrame(list(problems), columns=LINE_KEY).astype(_LINE_KEY_TYPES)
    keys["_problem"] = list(problems.values())
    joined = lines[LINE_KEY].astype(_LINE_KEY_TYPES).merge(keys, on=LINE_KEY, how="left")
    return joined["_problem"].astype(object).where(joined["_problem"].notna(), None).to_numpy()


def _take(values: pd.Series, at: pa.Array | pa.ChunkedArray) -> pd.Series:
    """values[at], missing where `at` is missing (not found)."""
    return pa.array(values, from_pandas=True).take(at).to_pandas()


# One dtype per line-key column on both sides of a join, whatever each frame was read as.
_LINE_KEY_TYPES = {"section_id": "str", "page": "int64", "line": "int64"}


def _latest_findings(lines: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Each line's most recent examiner finding and the review row it came from (None when
    the line was never reviewed)."""
    columns = ["finding", "source_file", "source_row"]
    if reviews.empty:
        return pd.DataFrame(index=lines.index, columns=columns, dtype=object)
    # Two findings with one timestamp: the later row of the later file wins, whatever the
    # order the rows were read in.
    latest = reviews.sort_values(["reviewed_at", "source_file", "source_row"]).drop_duplicates(
        LINE_KEY, keep="last"
    )
    keys = lines[LINE_KEY].astype(_LINE_KEY_TYPES)
    latest = latest[LINE_KEY + columns].astype(_LINE_KEY_TYPES)
    # A left merge keeps the lines' order; each line meets at most one latest finding.
    joined = keys.merge(latest, on=LINE_KEY, how="left", validate="many_to_one")
    # The text columns stay in pandas' own layout (a frame built from Python objects turns
    # them back into it one by one); a row number missing is None.
    rows = joined["source_row"]
    return pd.DataFrame(
        {
            "finding": joined["finding"].array,
            "source_file": joined["source_file"].array,
            "source_row": np.where(rows.notna(), rows.astype(object), None),
        },
        index=lines.index,
    )


def _apply_duplicates(verdicts: pd.DataFrame, keep: str) -> pd.DataFrame:
    valid = verdicts[verdicts["status"] == VALID]
    # Voters as positions among the distinct ids: the text is hashed once, and only a voter
    # with several valid lines has lines to order (which voter comes first does not matter).
    voter, voters = codes(valid["voter_id"])
    several = np.bincount(voter, minlength=voters)[voter] > 1
    valid = valid[several].assign(_voter=voter[several])
    order = valid.assign(_signed=pd.to_datetime(valid["date_signed"])).sort_values(
        ["_voter", "_signed", "section_id", "page", "line"],
        ascending=[True, keep == "earliest", True, True, True],
        na_position="last",
    )
    extra = order["_voter"].duplicated(keep="first") & order["voter_id"].notna()
    extra_index = order.index[extra.to_numpy()]
    verdicts.loc[extra_index, "status"] = INVALID
    verdicts.loc[extra_index, "reason_code"] = "DUPLICATE"
    return verdicts


def _secondary(broken: list[np.ndarray], order: list[str]) -> np.ndarray:
    """The rules a line broke after its primary reason (the first it broke, in `order`),
    ';'-joined (None when there are none).

    Each line's broken rules are one bit each: the lines share a few dozen distinct sets, so
    the text is built once per set instead of once per line.
    """
    sets = np.zeros(len(broken[0]), dtype=np.int32)
    for bit, rows in enumerate(broken):
        sets |= rows.astype(np.int32) << bit
    text = np.full(1 << len(order), None, dtype=object)
    for found in np.flatnonzero(np.bincount(sets, minlength=len(text))):
        text[found] = ";".join([c for b, c in enumerate(order) if found >> b & 1][1:]) or None
    return text[sets]
