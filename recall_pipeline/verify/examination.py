"""The examination's standing: how far the result is from changing, what the challenges ruled so
far say about each reason, and whether the examination keeps pace with its deadline.

Everything here is arithmetic on published figures (the determination, the verdicts, the
challenges and rulings); nothing decides a line. Reinstating a line means an examiner's ruling
made an INVALID line VALID (the only direction an examination moves a line: the proponents
challenge rejections, not acceptances).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import pandas as pd

from recall_pipeline.tables import (
    LINE_KEY,
    LINE_KEY_COLUMNS,
    MATCHED_VOTER_ID,
    PETITION_ID,
    SOURCE_FILE,
    SOURCE_ROW,
    Column,
    TableSchema,
)
from recall_pipeline.verify.determination import (
    full_count_result,
    lines_to_flip,
)
from recall_pipeline.verify.reasons import reason_codes

# The law's days for the examination once it starts (EC §11301 as amended in 2024).
EXAMINATION_DAYS = 60
# Two-sided 95 %: the normal quantile the Wilson interval is built on.
_Z95 = 1.959963984540054
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials). Chosen over the normal
    approximation because acceptance rates start from a handful of rulings, often 0 or all of
    them, where the normal interval collapses to a point or leaves [0, 1]."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ReasonStanding:
    """One reason's invalid lines, their challenges and rulings, and what it would take."""

    petition_id: str
    reason_code: str
    registrar_category: str
    invalid_lines: int
    # Of this reason's lines, the share that would have to be reinstated to change the result
    # on its own (above 1: this reason alone cannot); empty when the result is not a full
    # count's or reinstating cannot change it.
    share_needed_to_flip: float | None
    challenged_lines: int
    ruled: int
    accepted: int
    rejected: int
    open_challenges: int
    acceptance_rate: float | None
    acceptance_low: float | None
    acceptance_high: float | None
    # Reinstatements expected if the acceptance rate (and its bounds) held for the open
    # challenges, and for every line of the reason not challenged yet.
    projected_from_open: float | None
    projected_from_unchallenged: float | None


@dataclass(frozen=True)
class ExaminationStanding:
    """A petition's examination at `as_of`."""

    petition_id: str
    as_of: dt.date
    method: str
    result: str
    valid: int
    required: int
    # The count as found, before any ruling: the lines rulings reinstated taken back out.
    valid_at_finding: int
    result_at_finding: str | None
    invalid_lines: int
    # Lines to change and which way ("reinstate" / "invalidate"); empty when the result was
    # not decided by counting every line (a sample's projection decided it).
    lines_to_flip: int | None
    flip_direction: str | None
    challenged_lines: int
    ruled: int
    accepted: int
    rejected: int
    open_challenges: int
    acceptance_rate: float | None
    acceptance_low: float | None
    acceptance_high: float | None
    # The valid count if every reason's rate held for its open challenges (low / central /
    # high), and also for its lines not challenged yet; with the result each would give.
    projected_valid_open: float | None
    projected_valid_open_low: float | None
    projected_valid_open_high: float | None
    projected_result_open: str | None
    projected_valid_all: float | None
    projected_valid_all_low: float | None
    projected_valid_all_high: float | None
    projected_result_all: str | None
    # The clock: the examination's start, its last day, and the pace.
    examination_started: dt.date | None
    examination_ends: dt.date | None
    days_elapsed: int | None
    days_left: int | None
    lines_examined_per_day: float | None
    lines_per_day_needed: float | None


def standing(
    determination: dict,
    verdicts: pd.DataFrame,
    challenges: pd.DataFrame,
    rulings: pd.DataFrame,
    *,
    examination_started: dt.date | None,
    as_of: dt.date,
) -> tuple[ExaminationStanding, list[ReasonStanding]]:
    """The standing of one petition.

    `determination`: its sufficiency_determination row. `verdicts`: its lines' status and
    reason_code as published (rulings applied), with challenge_id and finding_reason_code
    for the lines a ruling decided again. `challenges`:
    challenge_id and reason_code — the reason of the line at the finding, which the challenge
    contests — of each accepted challenge row. `rulings`: challenge_id and ruling of each
    accepted ruling row. A challenge with no ruling is open."""
    petition = determination["petition_id"]
    ruled = challenges.merge(rulings, on="challenge_id", how="left", validate="one_to_one")
    by_reason = _reason_counts(verdicts, ruled)
    full_count = determination["method"] in ("full_count", "random_sample_then_full_count")
    reinstated = 0
    if "challenge_id" in verdicts:
        reinstated = int((verdicts["challenge_id"].notna() & (verdicts["status"] == "VALID")).sum())
    valid_at_finding = int(determination["valid"]) - reinstated
    result_at_finding = (
        full_count_result(
            valid_at_finding, int(determination["required"]), determination["sufficient_when"]
        )
        if full_count
        else None
    )
    flip, direction = (None, None)
    if full_count:
        flip, direction = lines_to_flip(
            int(determination["valid"]),
            int(determination["required"]),
            determination["sufficient_when"],
        )
    reasons = []
    for code, row in by_reason.iterrows():
        share = None
        if flip is not None and direction == "reinstate" and row["at_finding"]:
            share = flip / row["at_finding"]
        tally = _tally(row)
        rate = tally["acceptance_rate"]
        unchallenged = max(row["at_finding"] - row["challenged"], 0)
        reasons.append(
            ReasonStanding(
                petition_id=petition,
                reason_code=code,
                registrar_category=row["registrar_category"],
                invalid_lines=int(row["at_finding"]),
                share_needed_to_flip=share,
                **tally,
                projected_from_open=None if rate is None else rate * row["open"],
                projected_from_unchallenged=None if rate is None else rate * unchallenged,
            )
        )
    totals = by_reason[["challenged", "ruled", "accepted", "rejected", "open"]].sum()
    projected = _projections(determination, by_reason, full_count)
    clock = _clock(examination_started, as_of, int(by_reason["at_finding"].sum()), totals)
    return (
        ExaminationStanding(
            petition_id=petition,
            as_of=as_of,
            method=determination["method"],
            result=determination["result"],
            valid=int(determination["valid"]),
            required=int(determination["required"]),
            valid_at_finding=valid_at_finding,
            result_at_finding=result_at_finding,
            invalid_lines=int(by_reason["at_finding"].sum()),
            lines_to_flip=flip,
            flip_direction=direction,
            **_tally(totals),
            **projected,
            **clock,
        ),
        reasons,
    )


def _reason_counts(verdicts: pd.DataFrame, ruled: pd.DataFrame) -> pd.DataFrame:
    """Per reason as found: its lines at the finding (INVALID before any ruling: a line a
    ruling decided again keeps its reason at the finding), challenges and their rulings."""
    redecided = (
        verdicts["challenge_id"].notna()
        if "challenge_id" in verdicts
        else pd.Series(False, index=verdicts.index)
    )
    found_as = verdicts["reason_code"].where(~redecided, verdicts.get("finding_reason_code"))
    at_finding = found_as[(verdicts["status"] == "INVALID") | redecided]
    categories = {code.code: code.registrar_category for code in reason_codes()}
    lines = at_finding.value_counts().rename("at_finding").to_frame()
    outcome = ruled["ruling"].fillna("")
    counts = pd.DataFrame(
        {
            "reason_code": ruled["reason_code"],
            "challenged": 1,
            "ruled": outcome.isin([ACCEPTED, REJECTED]).astype(int),
            "accepted": (outcome == ACCEPTED).astype(int),
            "rejected": (outcome == REJECTED).astype(int),
            "open": (outcome == "").astype(int),
        }
    )
    table = lines.join(counts.groupby("reason_code").sum(), how="outer")
    for column in ("at_finding", "challenged", "ruled", "accepted", "rejected", "open"):
        table[column] = table[column].fillna(0).astype(int)
    table["registrar_category"] = [categories.get(code, "") for code in table.index]
    return table.sort_index()


def _tally(counts: pd.Series) -> dict:
    """The challenge counts and the acceptance rate of a reason's (or a petition's) `counts`."""
    rate = _rate(int(counts["accepted"]), int(counts["ruled"]))
    return {
        "challenged_lines": int(counts["challenged"]),
        "ruled": int(counts["ruled"]),
        "accepted": int(counts["accepted"]),
        "rejected": int(counts["rejected"]),
        "open_challenges": int(counts["open"]),
        "acceptance_rate": rate[0],
        "acceptance_low": rate[1],
        "acceptance_high": rate[2],
    }


def _rate(accepted: int, ruled: int) -> tuple[float | None, float | None, float | None]:
    interval = wilson_interval(int(accepted), int(ruled))
    if interval is None:
        return None, None, None
    return accepted / ruled, interval[0], interval[1]


def _projections(determination: dict, by_reason: pd.DataFrame, full_count: bool) -> dict:
    empty = {
        f"projected_{what}": None
        for what in (
            "valid_open",
            "valid_open_low",
            "valid_open_high",
            "result_open",
            "valid_all",
            "valid_all_low",
            "valid_all_high",
            "result_all",
        )
    }
    if not full_count or not by_reason["ruled"].any():
        return empty
    valid = int(determination["valid"])
    required = int(determination["required"])
    rule = determination["sufficient_when"]
    out = {}
    for scope, extra in (
        ("open", by_reason["open"]),
        ("all", by_reason["open"] + (by_reason["at_finding"] - by_reason["challenged"]).clip(0)),
    ):
        # A reason without rulings yet has no rate: its lines are projected to stay invalid.
        for suffix, bound in (("", 0), ("_low", 1), ("_high", 2)):
            rates = [
                _rate(row["accepted"], row["ruled"])[bound] or 0.0
                for _, row in by_reason.iterrows()
            ]
            out[f"projected_valid_{scope}{suffix}"] = valid + float(
                sum(r * n for r, n in zip(rates, extra, strict=True))
            )
        central = math.floor(out[f"projected_valid_{scope}"])
        out[f"projected_result_{scope}"] = full_count_result(central, required, rule)
    return out


def _clock(started: dt.date | None, as_of: dt.date, invalid: int, totals: pd.Series) -> dict:
    if started is None:
        return {
            "examination_started": None,
            "examination_ends": None,
            "days_elapsed": None,
            "days_left": None,
            "lines_examined_per_day": None,
            "lines_per_day_needed": None,
        }
    ends = started + dt.timedelta(days=EXAMINATION_DAYS - 1)
    # Days counted inclusively: the start day is day 1 of the 60, and a day is left until it
    # is over (on the start day all 60 are).
    elapsed = min(max((as_of - started).days + 1, 0), EXAMINATION_DAYS)
    left = min(max((ends - as_of).days + 1, 0), EXAMINATION_DAYS)
    examined = int(totals["challenged"])
    remaining = max(invalid - examined, 0)
    return {
        "examination_started": started,
        "examination_ends": ends,
        "days_elapsed": elapsed,
        "days_left": left,
        "lines_examined_per_day": examined / elapsed if elapsed else None,
        "lines_per_day_needed": remaining / left if left else None,
    }


def as_rows(found: ExaminationStanding | list[ReasonStanding]) -> list[dict]:
    """The standing as table rows."""
    items = found if isinstance(found, list) else [found]
    return [asdict(item) for item in items]


_RATE = (
    Column("acceptance_rate", "float", True, "accepted / ruled (empty before the first ruling)"),
    Column("acceptance_low", "float", True, "95 % Wilson interval of the rate: lower bound"),
    Column("acceptance_high", "float", True, "95 % Wilson interval of the rate: upper bound"),
)
_CHALLENGES = (
    Column(
        "challenged_lines",
        "integer",
        False,
        "challenges admitted (a line challenged twice counts twice)",
    ),
    Column("ruled", "integer", False, "challenges ruled on"),
    Column("accepted", "integer", False, "challenges ruled ACCEPTED (line reinstated)"),
    Column("rejected", "integer", False, "challenges ruled REJECTED"),
    Column("open_challenges", "integer", False, "challenges not ruled on yet"),
)
_PROJECTED = tuple(
    Column(
        f"projected_valid_{scope}{suffix}",
        "float",
        True,
        f"valid lines if each reason's acceptance rate{bound} held for {what}",
    )
    for scope, what in (
        ("open", "its open challenges"),
        ("all", "its open challenges and its lines not challenged yet"),
    )
    for suffix, bound in (
        ("", ""),
        ("_low", " (its interval's lower bound)"),
        ("_high", " (its interval's upper bound)"),
    )
)

EXAMINATION_STATUS = TableSchema(
    name="examination_status",
    description=(
        "Where each petition's examination stands: the lines whose verdict must change to "
        "change the result, the challenges and rulings so far with the acceptance rate, the "
        "result projected from that rate, and the 60-day clock. One row per petition, as of "
        "the run that published it."
    ),
    columns=(
        PETITION_ID,
        Column("as_of", "date", False, "the day the standing was computed"),
        Column("method", "string", False, "how the determination was made"),
        Column("result", "string", False, "the determination's result"),
        Column("valid", "integer", False, "VALID lines (rulings applied)"),
        Column("required", "integer", False, "valid signatures required"),
        Column(
            "valid_at_finding",
            "integer",
            False,
            "VALID lines before any ruling: valid less the lines rulings reinstated",
        ),
        Column(
            "result_at_finding",
            "string",
            True,
            "the full count's result on valid_at_finding (empty when a sample decided it)",
        ),
        Column("invalid_lines", "integer", False, "INVALID lines at the finding"),
        Column(
            "lines_to_flip",
            "integer",
            True,
            "lines whose verdict must change to change the result (empty when a sample's "
            "projection decided it)",
        ),
        Column(
            "flip_direction",
            "string",
            True,
            "reinstate (INVALID lines found valid) or invalidate (VALID lines found invalid)",
        ),
        *_CHALLENGES,
        *_RATE,
        *_PROJECTED[:3],
        Column("projected_result_open", "string", True, "the result at the central projection"),
        *_PROJECTED[3:],
        Column("projected_result_all", "string", True, "the result at the central projection"),
        Column("examination_started", "date", True, "first day of the examination"),
        Column("examination_ends", "date", True, "its 60th day"),
        Column("days_elapsed", "integer", True, "days of the 60 begun, the start day included"),
        Column("days_left", "integer", True, "days of the 60 not over, today included"),
        Column(
            "lines_examined_per_day",
            "float",
            True,
            "admitted challenges per day elapsed (the pace so far)",
        ),
        Column(
            "lines_per_day_needed",
            "float",
            True,
            "invalid lines less admitted challenges, per day left (the pace that finishes)",
        ),
    ),
    primary_key=("petition_id",),
)

EXAMINATION_REASONS = TableSchema(
    name="examination_reasons",
    description=(
        "Each reason's part in a petition's examination: its invalid lines at the finding, "
        "the share of them that would have to be reinstated to change the result, and its "
        "challenges, rulings and acceptance rate. One row per petition and reason."
    ),
    columns=(
        PETITION_ID,
        Column("reason_code", "string", False, "the reason the lines were found invalid for"),
        Column("registrar_category", "string", False, "the registrar's category of the reason"),
        Column("invalid_lines", "integer", False, "lines of the reason at the finding"),
        Column(
            "share_needed_to_flip",
            "float",
            True,
            "lines to reinstate / lines of the reason: above 1, the reason alone cannot change "
            "the result (empty when reinstating cannot change it)",
        ),
        *_CHALLENGES,
        *_RATE,
        Column(
            "projected_from_open",
            "float",
            True,
            "reinstatements expected if the rate held for the open challenges",
        ),
        Column(
            "projected_from_unchallenged",
            "float",
            True,
            "reinstatements expected if the rate held for the lines not challenged yet",
        ),
    ),
    primary_key=("petition_id", "reason_code"),
)


def render(petition: ExaminationStanding, reasons: list[ReasonStanding]) -> str:
    """The standing as `recall-audit examination status` prints it."""
    p = petition
    out = [
        f"Petition {p.petition_id}, as of {p.as_of}: {p.result} ({p.method}), "
        f"valid {p.valid:,}, required {p.required:,}"
    ]
    if p.result_at_finding is not None and p.valid_at_finding != p.valid:
        out.append(
            f"At the finding: valid {p.valid_at_finding:,}, margin "
            f"{p.valid_at_finding - p.required:+,}, {p.result_at_finding}; after the rulings: "
            f"valid {p.valid:,}, margin {p.valid - p.required:+,}, {p.result}"
        )
    if p.lines_to_flip is None:
        out.append("To change the result: decided by its sample, not by counting every line")
    elif p.flip_direction == "reinstate":
        share = f" ({p.lines_to_flip / p.invalid_lines:.1%})" if p.invalid_lines else ""
        out.append(
            f"To change the result: reinstate {p.lines_to_flip:,} of the "
            f"{p.invalid_lines:,} invalid lines{share}"
        )
    else:
        out.append(f"To change the result: {p.lines_to_flip:,} valid lines found invalid")
    out.append(
        f"Challenges: {p.challenged_lines:,} filed, {p.ruled:,} ruled "
        f"({p.accepted:,} accepted, {p.rejected:,} rejected), {p.open_challenges:,} open"
        + (f"; acceptance {_rate_text(p)}" if p.acceptance_rate is not None else "")
    )
    if p.projected_valid_open is not None:
        out.append(
            f"Projected if each reason's rate held: {p.projected_valid_open:,.0f} valid with the "
            f"open challenges ({p.projected_result_open}), {p.projected_valid_all:,.0f} with "
            f"every line not yet challenged too ({p.projected_result_all})"
        )
    if p.examination_started is None:
        out.append("Clock: no examination start in petition.yaml")
    else:
        pace = (
            f"{p.lines_examined_per_day:,.0f}/day so far"
            if p.lines_examined_per_day is not None
            else "not begun"
        )
        needed = (
            f"{p.lines_per_day_needed:,.0f}/day needed"
            if p.lines_per_day_needed is not None
            else "no day left"
        )
        out.append(
            f"Clock: started {p.examination_started}, ends {p.examination_ends}; "
            f"{p.days_elapsed} of {EXAMINATION_DAYS} days begun, {p.days_left} left; "
            f"{pace}, {needed}"
        )
    out.append("")
    out.append(
        f"{'reason':<30} {'lines':>9} {'share to flip':>13} {'challenged':>10} "
        f"{'accepted/ruled':>14}  rate (95 % interval)"
    )
    for r in reasons:
        share = share_to_flip_text(r.share_needed_to_flip)
        rate = _rate_text(r) if r.acceptance_rate is not None else ""
        out.append(
            f"{r.reason_code:<30} {r.invalid_lines:>9,} {share:>13} {r.challenged_lines:>10,} "
            f"{f'{r.accepted:,}/{r.ruled:,}':>14}  {rate}"
        )
    return "\n".join(out)


def share_to_flip_text(share: float | None) -> str:
    """A reason's share of lines that would have to be wrong to change the result, as shown:
    above 100 % its lines alone cannot change it, and "2,283.3 %" says so less plainly."""
    if share is None or pd.isna(share):
        return ""
    return "cannot alone" if share > 1 else f"{share:.1%}"


def _rate_text(item: ExaminationStanding | ReasonStanding) -> str:
    return f"{item.acceptance_rate:.1%} ({item.acceptance_low:.1%}-{item.acceptance_high:.1%})"


# What the examination set shows of the line as written, and of its own matched registration
# (the only registration the proponents may see: EC §11301 opens the petition, not the roll).
# The birth date stays out: no rule the proponents contest reads it.
LINE_AS_WRITTEN = (
    "printed_name",
    "residence_address",
    "city",
    "zip",
    "date_signed",
    "signature_present",
    "page_image",
)
REGISTRATION_SHOWN = (
    "last_name",
    "first_name",
    "middle_name",
    "name_suffix",
    "house_number",
    "street_predir",
    "street_name",
    "street_type",
    "street_postdir",
    "unit_type",
    "unit_number",
    "city",
    "zip",
    "registration_date",
    "status",
    "status_reason",
    "status_date",
)
# The verdict's evidence the set carries, as published in line_verdicts.
EVIDENCE = (
    "secondary_reasons",
    "match_method",
    "match_status",
    "match_score",
    "first_name_agreement",
    "last_name_agreement",
    "address_agreement",
    "candidates_at_address",
    "match_review_source_file",
    "match_review_source_row",
    "review_finding",
    "review_source_file",
    "review_source_row",
    "history_source_file",
    "history_source_row",
)

EXAMINATION_SET = TableSchema(
    name="examination_set",
    description=(
        "What the proponents may examine (EC §11301): every INVALID line with its reason, the "
        "registrar's category, the evidence behind the reason, the line as written and its own "
        "matched registration, nothing else of the voter file. One row per invalid line. "
        "Personal data: shown only in the examination room."
    ),
    columns=(
        *LINE_KEY,
        SOURCE_FILE,
        SOURCE_ROW,
        Column("reason_code", "string", False, "the primary reason the line is invalid"),
        Column("registrar_category", "string", False, "the registrar's category of the reason"),
        Column("reason_description", "string", False, "what the reason's rule says"),
        Column(
            "review_priority",
            "float",
            False,
            "0-1, higher first: how strongly the line's own evidence says it may be wrongly "
            "invalid (the order to examine the set in)",
        ),
        Column("priority_evidence", "string", False, "the evidence the priority rests on"),
        Column("secondary_reasons", "string", True, "other rules the line broke"),
        *(
            Column(f"written_{name}", kind, True, f"the line's {name.replace('_', ' ')} as keyed")
            for name, kind in (
                ("printed_name", "string"),
                ("residence_address", "string"),
                ("city", "string"),
                ("zip", "string"),
                ("date_signed", "date"),
                ("signature_present", "boolean"),
                ("page_image", "string"),
            )
        ),
        MATCHED_VOTER_ID,
        Column("match_method", "string", True, "how the registration was found (or not)"),
        Column("match_status", "string", True, "the matcher's finding"),
        Column("match_score", "float", True, "the match probability"),
        Column("first_name_agreement", "string", True, "first-name comparison level"),
        Column("last_name_agreement", "string", True, "last-name comparison level"),
        Column("address_agreement", "string", True, "address comparison level"),
        Column("candidates_at_address", "integer", True, "registrations at the written address"),
        *(
            Column(
                f"registered_{name}",
                "date" if name.endswith("_date") else "string",
                True,
                f"the matched registration's {name.replace('_', ' ')}",
            )
            for name in REGISTRATION_SHOWN
        ),
        Column("match_review_source_file", "string", True, "examiner's match review file"),
        Column("match_review_source_row", "integer", True, "its physical line"),
        Column("review_finding", "string", True, "signature review finding"),
        Column("review_source_file", "string", True, "signature review file"),
        Column("review_source_row", "integer", True, "its physical line"),
        Column("history_source_file", "string", True, "address-history file of a past address"),
        Column("history_source_row", "integer", True, "its physical line"),
    ),
    primary_key=tuple(LINE_KEY_COLUMNS),
)


def examination_set(
    verdicts: pd.DataFrame,
    lines: pd.DataFrame,
    registrations: pd.DataFrame,
    priority: pd.DataFrame,
) -> pd.DataFrame:
    """The examination set: the INVALID `verdicts` (line_verdicts rows) with the `lines` as
    written (petition_lines rows), each line's own matched registration (`registrations`:
    voter_roll rows, at least those the invalid lines matched) and its `review_priority`."""
    invalid = verdicts[verdicts["status"] == "INVALID"].merge(
        priority, on=LINE_KEY_COLUMNS, how="left", validate="one_to_one"
    )
    invalid["review_priority"] = invalid["review_priority"].fillna(0.0)
    invalid["priority_evidence"] = invalid["priority_evidence"].fillna("")
    described = {code.code: code.description for code in reason_codes()}
    written = lines[[*LINE_KEY_COLUMNS, *LINE_AS_WRITTEN]].rename(
        columns={c: f"written_{c}" for c in LINE_AS_WRITTEN}
    )
    registered = (
        registrations[["voter_id", *REGISTRATION_SHOWN]]
        .drop_duplicates("voter_id")
        .rename(columns={c: f"registered_{c}" for c in REGISTRATION_SHOWN})
    )
    out = invalid.merge(written, on=LINE_KEY_COLUMNS, how="left", validate="one_to_one")
    out = out.merge(registered, on="voter_id", how="left", validate="many_to_one")
    out["reason_description"] = out["reason_code"].map(described)
    return out[EXAMINATION_SET.column_names].sort_values(LINE_KEY_COLUMNS, ignore_index=True)


# How strongly each kind of evidence says an invalid line may be wrongly invalid: the order of
# the examination set. A candidate registration's probability speaks for itself; the others are
# placed below a near-certain candidate and above a weak one.
MOVED_IN_PERIOD = 0.85
EVERY_LINE_REJECTED = 0.6
# How often a finding against one signature is wrong is measured nowhere (the scenario draws the
# count apart from the truth): it orders such lines above those with no evidence and weak
# candidates, and below every signal whose worth was measured.
ONE_SIGNATURE_COMPARED = 0.1
# The reason a registration found for the signer overturns. (An ADDRESS_MISMATCH line's voter
# was found: the strength of that candidate says nothing about the address.)
_FOUND_VOTER_WOULD_CHANGE = ("NOT_REGISTERED",)


def review_priority(
    invalid: pd.DataFrame,
    best_candidate: pd.DataFrame,
    moves: pd.DataFrame,
    valid_voters: set[str],
    circulation: tuple[dt.date, dt.date],
    signatures_compared: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each invalid line's review priority (0-1, higher first) and the evidence behind it.

    `invalid`: the lines (key, reason_code, voter_id). `best_candidate`: per line key, the
    highest `match_probability` among the registrations the matcher weighed for it.
    `moves`: voter_id, valid_from, valid_to of the matched voters' past addresses.
    `valid_voters`: voters with a VALID line. `circulation`: the first and last day lines
    could be signed (approval for circulation, filing). `signatures_compared`: per line key,
    how many signatures on file the examiner's latest finding compared the line's with, where
    the review file says.

    - a candidate registration close to being accepted (its probability), for a line found
      NOT_REGISTERED;
    - the matched voter moved during circulation (a past address ends or starts inside it):
      the line may give the address the voter lived at when signing;
    - a SIGNATURE_MISMATCH whose finding compared the line with one signature on file alone:
      any signature on file suffices (2 CCR 20960), so the voter's other signatures — a ballot
      envelope, a later registration card — have not been weighed (a count not given, or 0,
      says nothing);
    - the matched voter signed two lines or more and none of them is VALID: every line the
      matcher gave the voter was rejected, which a wrong link explains as well as the voter
      does. (A voter with one line has no other line to compare: that line's own reason is
      all the evidence, so the signal would say nothing of most invalid lines.)
    """
    key = LINE_KEY_COLUMNS
    out = invalid[[*key, "reason_code", "voter_id"]].merge(
        best_candidate[[*key, "best_probability"]], on=key, how="left", validate="one_to_one"
    )
    start, end = (pd.Timestamp(d) for d in circulation)
    moved = moves[
        pd.to_datetime(moves["valid_to"]).between(start, end)
        | pd.to_datetime(moves["valid_from"]).between(start, end)
    ]
    near = (
        out["best_probability"]
        .fillna(0.0)
        .where(out["reason_code"].isin(_FOUND_VOTER_WOULD_CHANGE), 0.0)
    )
    moved_now = out["voter_id"].isin(set(moved["voter_id"])).to_numpy()
    compared = (
        signatures_compared
        if signatures_compared is not None
        else pd.DataFrame(columns=[*key, "signatures_compared"])
    )
    counted = out[key].merge(
        compared[[*key, "signatures_compared"]], on=key, how="left", validate="one_to_one"
    )
    one_signature = (
        pd.to_numeric(counted["signatures_compared"], errors="coerce").eq(1).to_numpy()
        & (out["reason_code"] == "SIGNATURE_MISMATCH").to_numpy()
    )
    lines_of_voter = out.groupby("voter_id")["voter_id"].transform("size")
    alone = (
        out["voter_id"].notna() & ~out["voter_id"].isin(valid_voters) & (lines_of_voter > 1)
    ).to_numpy()
    scores = pd.DataFrame(
        {
            "candidate close to accepted": near.to_numpy(),
            "voter moved during circulation": moved_now * MOVED_IN_PERIOD,
            "signature compared with one on file only": one_signature * ONE_SIGNATURE_COMPARED,
            "every line of the voter rejected": alone * EVERY_LINE_REJECTED,
        }
    )
    out["review_priority"] = scores.max(axis=1).round(6)
    # The evidence named where it weighs anything (vectorized: a county has 200,000 lines).
    evidence = pd.Series("", index=out.index)
    for name in scores.columns:
        weighs = scores[name].to_numpy() > 0
        evidence = evidence.where(~weighs, evidence.str.cat([name] * len(evidence), sep="; "))
    out["priority_evidence"] = evidence.str.lstrip("; ")
    return out[[*key, "review_priority", "priority_evidence"]]
