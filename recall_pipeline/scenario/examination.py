"""The proponents' examination of a generated scenario, played after its published finding.

The examination follows a finding of insufficiency, so it is generated from a warehouse that
holds the finding (a run without rulings) and from the scenario's truth, which the pipeline never
reads. It writes, per petition, what the contract takes (`challenges/*.csv`, `rulings/*.csv`)
and, into the truth folder, the recount the rulings must lead to.

**Which challenges are sound.** A challenge is sound when its claim is true of the line:

- a ground naming a registration (`SIGNER_REGISTERED`, `ANOTHER_REGISTRATION`,
  `REGISTERED_AT_WRITTEN_ADDRESS`) names the voter who really signed; the last also claims the
  written address is the signer's (or one left during circulation), so it is filed exactly when
  the truth finds no address fault, and the first two when it does;
- an address ground (`MOVED_DURING_CIRCULATION`, `ADDRESS_ON_FILE_MATCHES`) speaks of the
  registration the finding linked, which is the signer's, and the truth finds no address fault
  (a voter who moved during circulation files the first, any other the second);
- `SIGNATURE_COMPARES`: the linked registration is the signer's and the truth finds the line
  valid but for, at most, a second line of the voter;
- `NO_LINE_OF_VOTER_COUNTED`: the linked registration is the signer's and no line the finding
  counted was really theirs.

The truth knows who signed and the pipeline does not, so sound challenges are the finding's
errors: lines the matcher could not link (the registration the keyed text hides), linked to
another voter, or judged at an address they did not leave. Every one the truth offers is filed;
unsound ones make up the rest, across the reasons that have grounds: the strongest other
registration the matcher weighed for the line (a namesake, a housemate) as the claimed signer,
a move that predates circulation, a signature an examiner found unlike, a voter whose other line
was counted. A line whose truth has a reason of its own that the finding missed (a line- or
section-level rule, which no ruling revisits) gets no sound challenge: accepting one could not
bring the line to its truth, so the recount could not be read from the truth.

**The rulings** are a careful examiner's who knows the truth: ACCEPTED for a sound challenge,
REJECTED otherwise; a share of the challenges is left open. Filing and ruling times fall inside
the 60 days that start on `examination.started` (written into petition.yaml when absent).

**The recount** (`expected_recount`) is computed from the truth and the rules as domain.md
states them, not by the pipeline's code: an accepted line takes its true verdict (its signer is
now known, and every rule that reads the registration applies); lines the finding counted keep
counting, so an accepted line whose signer already has a counted line at the finding is a
DUPLICATE, and among accepted lines of one signer the earliest signed counts; a rejected or open
challenge changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recall_pipeline.contract import CHALLENGE_RULINGS, CHALLENGES
from recall_pipeline.reference import read_reference

LINE_KEY = ["section_id", "page", "line"]
KEY = ["petition_id", *LINE_KEY]
VALID, INVALID, PENDING = "VALID", "INVALID", "PENDING"
ACCEPTED, REJECTED = "ACCEPTED", "REJECTED"
DUPLICATE = "DUPLICATE"

# The grounds, as reference/challenge_grounds.csv names them.
SIGNER_REGISTERED = "SIGNER_REGISTERED"
ANOTHER_REGISTRATION = "ANOTHER_REGISTRATION"
AT_WRITTEN_ADDRESS = "REGISTERED_AT_WRITTEN_ADDRESS"
MOVED = "MOVED_DURING_CIRCULATION"
ADDRESS_ON_FILE = "ADDRESS_ON_FILE_MATCHES"
SIGNATURE_COMPARES = "SIGNATURE_COMPARES"
NO_LINE_COUNTED = "NO_LINE_OF_VOTER_COUNTED"
# Grounds whose claim is a registration: the ruling makes it the line's signer.
NAMES_A_VOTER = (SIGNER_REGISTERED, ANOTHER_REGISTRATION, AT_WRITTEN_ADDRESS)

# The reasons the truth may give a line that a ruling can bring it to: those decided by who
# signed and by the examiners' findings. A line- or section-level reason the finding missed is
# not revisited by any ruling.
DECIDED_BY_SIGNER = (
    "WITHDRAWN",
    "NOT_REGISTERED",
    "CANCELLED",
    "REGISTERED_LATE",
    "ADDRESS_MISMATCH",
    "SIGNATURE_MISMATCH",
    DUPLICATE,
)

# In 2022 the proponents contested about 20,587 of LA's 195,783 invalid lines.
LA_CONTESTED_SHARE = 20_587 / 195_783
OPEN_SHARE = 0.1
# The examination starts after the finding; LA filed on 2022-07-06 and the data contract's
# example starts the examination on 2022-09-06, 62 days later.
START_AFTER_FILING = dt.timedelta(days=62)
EXAMINATION_DAYS = 60
# Challenges are filed over the first weeks; each is ruled within a week, inside the 60 days.
FILING_DAYS = 52
RULING_WITHIN = dt.timedelta(days=6)

# Files this module writes (and alone removes): the data folder's, and the truth folder's.
FILE_PREFIX = "examination_"
RECOUNT_FILE = "examination_recount.json"
CHALLENGES_TRUTH_FILE = "examination_challenges.csv"

# The files' columns, as the data contract declares them.
CHALLENGE_COLUMNS = CHALLENGES.field_names
RULING_COLUMNS = CHALLENGE_RULINGS.field_names

_EVIDENCE = {
    SIGNER_REGISTERED: "a registration under the printed name",
    ANOTHER_REGISTRATION: "another registration fits the line",
    AT_WRITTEN_ADDRESS: "a registration under the printed name at the written address",
    MOVED: "address change during circulation",
    ADDRESS_ON_FILE: "the written address is the registered one, written another way",
    SIGNATURE_COMPARES: "the signature resembles one on file",
    NO_LINE_COUNTED: "no other line of the voter was counted",
}
_NOTE_ACCEPTED = "claim confirmed against the registration file"
_NOTE_REJECTED = {
    SIGNER_REGISTERED: "the claimed registration is not the signer's",
    ANOTHER_REGISTRATION: "the claimed registration is not the signer's",
    AT_WRITTEN_ADDRESS: "the claimed registration is not the signer's",
    MOVED: "no move during circulation at this address",
    ADDRESS_ON_FILE: "the written address is not the signer's registered address",
    SIGNATURE_COMPARES: "the signature does not compare with those on file",
    NO_LINE_COUNTED: "a line of this voter is counted",
}


class ExaminationInputError(ValueError):
    """The warehouse, data folder or truth cannot carry a generated examination."""


@dataclass(frozen=True)
class Finding:
    """A petition as its finding published it: every line's verdict, the registrations the
    matcher weighed for its invalid lines, and the determination."""

    petition_id: str
    # Every line: line key, status, reason_code, voter_id (the finding's link), date_signed.
    lines: pd.DataFrame
    # Line key, voter_id, match_probability: candidates the matcher weighed (strongest first).
    candidates: pd.DataFrame
    required: int
    sufficient_when: str
    method: str
    duplicates_keep: str
    filed_date: dt.date
    examination_started: dt.date | None


def read_finding(store, petition_id: str) -> Finding:
    """A petition's finding from a warehouse (`recall_pipeline.warehouse.Warehouse`)."""
    where = {"petition_id": petition_id}
    determination = store.read_frame("sufficiency_determination", where=where)
    if determination.empty:
        raise ExaminationInputError(f"{petition_id}: no published determination")
    lines = store.read_frame(
        "line_verdicts",
        columns=[*LINE_KEY, "status", "reason_code", "voter_id", "challenge_id"],
        where=where,
    )
    if lines["challenge_id"].notna().any():
        raise ExaminationInputError(
            f"{petition_id}: the published run already applied rulings; generate the "
            "examination from a run at the finding (without challenge and ruling files)"
        )
    dates = store.read_frame("petition_lines", columns=[*LINE_KEY, "date_signed"], where=where)
    lines = _typed(lines.drop(columns="challenge_id")).merge(
        _typed(dates), on=LINE_KEY, how="left", validate="one_to_one"
    )
    # The three strongest registrations weighed per line are enough to name a plausible one.
    candidates = store.read_frame(
        "match_candidates",
        columns=[*LINE_KEY, "voter_id", "match_probability"],
        where={**where, "rank": [1, 2, 3]},
    )
    petition = store.read_frame(
        "petitions",
        columns=["filed_date", "examination_started", "duplicates_keep"],
        where=where,
    ).iloc[0]
    row = determination.iloc[0]
    started = petition["examination_started"]
    return Finding(
        petition_id=petition_id,
        lines=lines,
        candidates=_typed(candidates).sort_values(
            [*LINE_KEY, "match_probability"], ascending=[True, True, True, False]
        ),
        required=int(row["required"]),
        sufficient_when=str(row["sufficient_when"]),
        method=str(row["method"]),
        duplicates_keep=str(petition["duplicates_keep"]),
        filed_date=pd.Timestamp(petition["filed_date"]).date(),
        examination_started=None if pd.isna(started) else pd.Timestamp(started).date(),
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"section_id": "str", "page": "int64", "line": "int64"})


def read_truth(truth_dir: Path, petition_id: str) -> pd.DataFrame:
    """The petition's rows of `line_truth.csv` (empty cells as empty strings)."""
    path = Path(truth_dir) / "line_truth.csv"
    if not path.is_file():
        raise ExaminationInputError(f"{path}: no such file (the scenario's truth)")
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    truth = _typed(truth[truth["petition_id"] == petition_id])
    if truth.empty:
        raise ExaminationInputError(f"{path}: no line of {petition_id}")
    return truth.drop(columns="petition_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Which challenge each invalid line could carry


def grounds_by_reason() -> dict[str, set[str]]:
    """The grounds that answer each reason (reference/challenge_grounds.csv)."""
    table = read_reference("challenge_grounds.csv")
    out: dict[str, set[str]] = {}
    for reason, ground in zip(table["reason_code"], table["ground"], strict=True):
        out.setdefault(reason, set()).add(ground)
    return out


def candidate_challenges(finding: Finding, truth: pd.DataFrame) -> pd.DataFrame:
    """Per invalid line of the finding whose reason has grounds, the sound challenge it can
    carry and, where none, an unsound one, with why each is what it is.

    Columns: line key, reason_code (at the finding), voter_id (the finding's link),
    true_voter_id, true_status, true_reason_code, true_case, date_signed, ground,
    claimed_voter_id (empty for grounds naming none), sound (bool), why."""
    lines = finding.lines.merge(truth, on=LINE_KEY, how="inner", validate="one_to_one")
    if len(lines) != len(finding.lines) or len(lines) != len(truth):
        raise ExaminationInputError(
            f"{finding.petition_id}: the truth and the finding do not hold the same lines"
        )
    lines["voter_id"] = lines["voter_id"].astype(object).where(lines["voter_id"].notna(), "")
    # Voters a line the finding counted really belongs to.
    counted = lines[(lines["status"] == VALID) & (lines["voter_id"] == lines["true_voter_id"])]
    truly_counted = set(counted["voter_id"])
    grounds = grounds_by_reason()
    invalid = lines[(lines["status"] == INVALID) & lines["reason_code"].isin(list(grounds))]
    best = _strongest_other(finding.candidates, invalid)
    rows = []
    for line in invalid.itertuples(index=False):
        challenge = _sound(line, truly_counted) or _unsound(line, best.get(_key(line)))
        if challenge is None:
            continue
        ground, claimed, sound, why = challenge
        if ground not in grounds[line.reason_code]:
            raise AssertionError(f"{ground} does not answer {line.reason_code}")
        rows.append({**line._asdict(), "ground": ground, "claimed_voter_id": claimed,
                     "sound": sound, "why": why})  # fmt: skip
    columns = [*invalid.columns, "ground", "claimed_voter_id", "sound", "why"]
    return pd.DataFrame(rows, columns=columns)


def _key(line) -> tuple[str, int, int]:
    return (line.section_id, int(line.page), int(line.line))


def _strongest_other(candidates: pd.DataFrame, invalid: pd.DataFrame) -> dict:
    """Per invalid line, its weighed registrations other than its signer and its link,
    strongest first: the plausible wrong voters a volunteer would point to."""
    joined = candidates.merge(
        invalid[[*LINE_KEY, "voter_id", "true_voter_id"]].rename(
            columns={"voter_id": "_linked", "true_voter_id": "_signer"}
        ),
        on=LINE_KEY,
    )
    other = joined[
        (joined["voter_id"] != joined["_linked"]) & (joined["voter_id"] != joined["_signer"])
    ]
    first = other.drop_duplicates(LINE_KEY, keep="first")
    return {
        (s, int(p), int(n)): v
        for s, p, n, v in zip(
            first["section_id"], first["page"], first["line"], first["voter_id"], strict=True
        )
    }


def _sound(line, truly_counted: set[str]) -> tuple[str, str, bool, str] | None:
    signer, linked = line.true_voter_id, line.voter_id
    true_reason = line.true_reason_code
    if line.true_status == INVALID and true_reason not in DECIDED_BY_SIGNER:
        return None
    valid_but_for_duplicate = true_reason in ("", DUPLICATE)
    # The written address is the signer's (or one left during circulation) unless the truth
    # finds an address fault: only then may a claim of the signer say so.
    at_address = true_reason != "ADDRESS_MISMATCH"
    reason = line.reason_code
    if reason == "NOT_REGISTERED" and signer:
        if at_address:
            return AT_WRITTEN_ADDRESS, signer, True, "the signer's registration, at that address"
        return SIGNER_REGISTERED, signer, True, "the signer's registration, at another address"
    if (
        reason in ("CANCELLED", "REGISTERED_LATE", "ADDRESS_MISMATCH")
        and signer
        and signer != linked
    ):
        if at_address:
            return AT_WRITTEN_ADDRESS, signer, True, "the signer's registration, at that address"
        return ANOTHER_REGISTRATION, signer, True, "the signer's registration, not the linked one"
    if not signer or signer != linked:
        return None
    if reason == "ADDRESS_MISMATCH" and true_reason != "ADDRESS_MISMATCH":
        if line.true_case == "moved_during_circulation":
            return MOVED, "", True, "the signer moved during circulation"
        return ADDRESS_ON_FILE, "", True, "the signer wrote the registered address"
    if reason == "SIGNATURE_MISMATCH" and valid_but_for_duplicate:
        return SIGNATURE_COMPARES, "", True, "the signer's line, valid in truth"
    if reason == DUPLICATE and valid_but_for_duplicate and signer not in truly_counted:
        return NO_LINE_COUNTED, "", True, "no line the finding counted is the signer's"
    return None


def _unsound(line, other: str | None) -> tuple[str, str, bool, str] | None:
    reason = line.reason_code
    wrong = "a namesake or housemate the matcher weighed"
    if reason in ("NOT_REGISTERED", "CANCELLED", "REGISTERED_LATE"):
        if other is None:
            return None
        if _coin(line, 2):
            return AT_WRITTEN_ADDRESS, other, False, wrong
        plain = SIGNER_REGISTERED if reason == "NOT_REGISTERED" else ANOTHER_REGISTRATION
        return plain, other, False, wrong
    if reason == "ADDRESS_MISMATCH":
        if other is not None and _coin(line, 4):
            return ANOTHER_REGISTRATION, other, False, wrong
        if line.true_case == "old_address":
            return MOVED, "", False, "the signer moved before circulation"
        return ADDRESS_ON_FILE, "", False, "not the linked voter's address"
    if reason == "SIGNATURE_MISMATCH":
        return SIGNATURE_COMPARES, "", False, "the examiner's finding stands"
    if reason == DUPLICATE:
        return NO_LINE_COUNTED, "", False, "a line of the signer is counted"
    return None


def _coin(line, one_in: int) -> bool:
    """A choice fixed by the line's key alone, the same in every run (`hash` is salted)."""
    return zlib.crc32(f"{line.section_id}/{line.page}/{line.line}".encode()) % one_in == 0


# --------------------------------------------------------------------------------------------
# The examination: which challenges are filed, when, and how they are ruled


def challenge_count(spec: str | float | int | None, invalid_lines: int) -> int:
    """How many challenges to file: a whole number as is, a number with a decimal point as a
    share of the invalid lines (default: the share LA's proponents contested in 2022)."""
    if spec is None:
        return round(LA_CONTESTED_SHARE * invalid_lines)
    text = str(spec).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d*\.\d+|\d+\.\d*", text) and 0 <= float(text) <= 1:
        return round(float(text) * invalid_lines)
    raise ValueError(
        f"{spec!r}: a count (a whole number) or a share of the invalid lines (0.0 to 1.0)"
    )


def plan_examination(
    candidates: pd.DataFrame,
    count: int,
    started: dt.date,
    rng: np.random.Generator,
    open_share: float = OPEN_SHARE,
) -> pd.DataFrame:
    """The challenges filed (every sound one first, then unsound ones drawn at random across
    the reasons, up to `count`), each with its filing time, its ruling (empty: open) and its
    ruling time. Ordered by filing time; challenge ids follow that order."""
    sound = candidates[candidates["sound"]]
    unsound = candidates[~candidates["sound"]]
    if len(sound) > count:
        sound = sound.iloc[np.sort(rng.choice(len(sound), size=count, replace=False))]
    rest = min(count - len(sound), len(unsound))
    unsound = unsound.iloc[np.sort(rng.choice(len(unsound), size=rest, replace=False))]
    filed = pd.concat([sound, unsound], ignore_index=True)
    n = len(filed)
    start = pd.Timestamp(started)
    # Office hours, 09:00 to 17:00, on the first FILING_DAYS days of the 60.
    filed_at = (
        start
        + pd.to_timedelta(rng.integers(0, FILING_DAYS, n), unit="D")
        + pd.to_timedelta(9 * 3600 + rng.integers(0, 8 * 3600, n), unit="s")
    )
    ruled_at = filed_at + pd.to_timedelta(
        rng.integers(3600, int(RULING_WITHIN.total_seconds()), n), unit="s"
    )
    open_ = np.zeros(n, dtype=bool)
    open_[rng.choice(n, size=round(open_share * n), replace=False)] = True
    filed = filed.assign(
        filed_at=filed_at,
        ruled_at=ruled_at.where(~open_),
        ruling=np.where(open_, "", np.where(filed["sound"], ACCEPTED, REJECTED)),
        filed_by=[f"VOL{v:03d}" for v in rng.integers(1, 141, n)],
        ruled_by=[f"REG{v:02d}" for v in rng.integers(1, 15, n)],
    )
    filed = filed.sort_values(["filed_at", *LINE_KEY], kind="stable").reset_index(drop=True)
    filed.insert(0, "challenge_id", [f"C{i:07d}" for i in range(1, n + 1)])
    return filed


# --------------------------------------------------------------------------------------------
# The recount the rulings must lead to


def expected_recount(finding: Finding, planned: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """The determination after the rulings, and each challenged line's verdict after them.

    Computed from the truth and the rules of domain.md ("How a ruling decides a line again"):
    an accepted challenge is sound, so its line is decided with its true signer and takes its
    true verdict; a line valid in truth but for a second line of its signer counts unless the
    finding counted a line of that voter, and among such accepted lines of one voter the
    earliest signed (the latest, under `duplicates_keep: latest`; then section, page, line)
    counts. Rejected and open challenges leave their line as found."""
    lines = finding.lines
    after = planned.assign(expected_status=planned["status"], expected_reason_code="")
    after["expected_reason_code"] = planned["reason_code"].fillna("")
    accepted = (planned["ruling"] == ACCEPTED).to_numpy()
    if not planned.loc[accepted, "sound"].all():
        raise AssertionError("an accepted challenge must be sound")
    signer = planned["true_voter_id"]
    true_reason = planned["true_reason_code"]
    otherwise_valid = accepted & true_reason.isin(["", DUPLICATE]).to_numpy()
    counted = set(lines.loc[lines["status"] == VALID, "voter_id"].dropna())
    already = otherwise_valid & signer.isin(counted).to_numpy()
    # Among one signer's accepted lines valid but for the duplicate rule: the earliest counts.
    contest = planned[otherwise_valid & ~already].assign(
        _signed=lambda f: pd.to_datetime(f["date_signed"], errors="coerce")
    )
    contest = contest.sort_values(
        ["_signed", *LINE_KEY],
        ascending=[finding.duplicates_keep != "latest", True, True, True],
        na_position="last",
        kind="stable",
    ).drop_duplicates("true_voter_id", keep="first")
    counts = np.zeros(len(planned), dtype=bool)
    counts[contest.index.to_numpy()] = True
    status = np.where(counts, VALID, INVALID)
    reason = np.where(counts, "", np.where(otherwise_valid, DUPLICATE, true_reason))
    after.loc[accepted, "expected_status"] = status[accepted]
    after.loc[accepted, "expected_reason_code"] = reason[accepted]
    changed = (after["expected_status"] != after["status"]) | (
        after["expected_reason_code"] != after["reason_code"].fillna("")
    )
    after["changes"] = changed

    at_finding = _counts(lines["status"], lines["reason_code"])
    moved_out = after.loc[changed, "reason_code"].value_counts()
    moved_in = after.loc[changed & (after["expected_status"] == INVALID), "expected_reason_code"]
    by_reason = dict(at_finding["by_reason"])
    for code, n in moved_out.items():
        by_reason[code] -= int(n)
    for code, n in moved_in.value_counts().items():
        by_reason[code] = by_reason.get(code, 0) + int(n)
    reinstated = int((changed & (after["expected_status"] == VALID)).sum())
    valid = at_finding["valid"] + reinstated
    summary = {
        "petition_id": finding.petition_id,
        "required": finding.required,
        "sufficient_when": finding.sufficient_when,
        "method_at_finding": finding.method,
        "at_finding": {
            **{k: at_finding[k] for k in ("valid", "invalid", "pending")},
            "result": _result(at_finding["valid"], finding),
        },
        "after_rulings": {
            "valid": valid,
            "invalid": at_finding["invalid"] - reinstated,
            "pending": at_finding["pending"],
            "result": _result(valid, finding),
            "margin": valid - finding.required,
            "by_reason": {k: v for k, v in sorted(by_reason.items()) if v},
        },
        "reinstated": reinstated,
        "changed_lines": int(changed.sum()),
        "challenges": _tally(after),
    }
    return summary, after


def _counts(status: pd.Series, reason: pd.Series) -> dict:
    invalid = reason[status == INVALID].value_counts()
    return {
        "valid": int((status == VALID).sum()),
        "invalid": int((status == INVALID).sum()),
        "pending": int((status == PENDING).sum()),
        "by_reason": {str(k): int(v) for k, v in invalid.items()},
    }


def _result(valid: int, finding: Finding) -> str:
    # EC §11224 with the petition's reading of a tie (verification.sufficient_when).
    if finding.sufficient_when == "at_least":
        enough = valid >= finding.required
    else:
        enough = valid > finding.required
    return "SUFFICIENT" if enough else "INSUFFICIENT"


def _tally(after: pd.DataFrame) -> dict:
    def counts(part: pd.DataFrame) -> dict:
        return {
            "filed": len(part),
            "sound": int(part["sound"].sum()),
            "accepted": int((part["ruling"] == ACCEPTED).sum()),
            "rejected": int((part["ruling"] == REJECTED).sum()),
            "open": int((part["ruling"] == "").sum()),
            "reinstated": int((part["changes"] & (part["expected_status"] == VALID)).sum()),
            "changed": int(part["changes"].sum()),
        }

    return {
        **counts(after),
        "by_reason": {reason: counts(part) for reason, part in after.groupby("reason_code")},
        "by_ground": {ground: counts(part) for ground, part in after.groupby("ground")},
    }


# --------------------------------------------------------------------------------------------
# Files


def petition_folder(data_dir: Path, petition_id: str) -> Path:
    return Path(data_dir) / "petitions" / petition_id


def remove_examination(data_dir: Path, petition_id: str) -> int:
    """Remove the challenge and ruling files this module wrote for a petition (no other file);
    returns how many."""
    folder = petition_folder(data_dir, petition_id)
    removed = 0
    for sub in ("challenges", "rulings"):
        for path in sorted((folder / sub).glob(f"{FILE_PREFIX}*")):
            path.unlink()
            removed += 1
    return removed


def ensure_examination_start(data_dir: Path, petition_id: str, started: dt.date) -> None:
    """Record the examination's start in petition.yaml unless it holds one.

    The file is replaced, never written in place: a data folder made of hard links to another
    (as `make run EXAMINATION=1` makes it) must not change the other's petition.yaml."""
    path = petition_folder(data_dir, petition_id) / "petition.yaml"
    text = path.read_text(encoding="utf-8")
    if re.search(r"(?m)^examination:", text):
        return
    block = (
        "examination:\n"
        f"  started: {started.isoformat()}              # the proponents' examination; "
        "the law allows 60 days\n"
    )
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")
    os.replace(partial, path)


def write_examination(
    data_dir: Path, petition_id: str, planned: pd.DataFrame, started: dt.date
) -> tuple[pd.DataFrame, list[Path]]:
    """Write the challenges and rulings by week of the examination (one file per week of
    filing, one per week of ruling); returns `planned` with each ruling's file (relative to
    the data folder, as the pipeline records it) and physical row, and the files written."""
    folder = petition_folder(data_dir, petition_id)
    others = [
        p
        for sub in ("challenges", "rulings")
        for p in sorted((folder / sub).glob("*"))
        if not p.name.startswith(FILE_PREFIX)
    ]
    if others:
        # The recount would not know what they decide.
        raise ExaminationInputError(
            f"{folder}: holds challenge or ruling files this generator did not write "
            f"({', '.join(p.name for p in others[:3])}); remove them first"
        )
    remove_examination(data_dir, petition_id)
    from recall_pipeline.scenario.output import write_csv

    start = pd.Timestamp(started)
    written: list[Path] = []
    challenges = planned.assign(
        evidence=planned["ground"].map(_EVIDENCE),
        filed_at=planned["filed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
        _week=(planned["filed_at"] - start).dt.days // 7 + 1,
    )
    for week, part in challenges.groupby("_week"):
        path = folder / "challenges" / f"{FILE_PREFIX}week_{int(week):02d}.csv"
        write_csv(part[CHALLENGE_COLUMNS].reset_index(drop=True), path)
        written.append(path)
    ruled = planned[planned["ruling"] != ""].sort_values(["ruled_at", "challenge_id"])
    rulings = ruled.assign(
        note=np.where(
            ruled["ruling"] == ACCEPTED, _NOTE_ACCEPTED, ruled["ground"].map(_NOTE_REJECTED)
        ),
        ruled_at=ruled["ruled_at"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
        _week=(ruled["ruled_at"] - start).dt.days // 7 + 1,
    )
    planned = planned.assign(ruling_source_file="", ruling_source_row=pd.NA)
    for week, part in rulings.groupby("_week"):
        path = folder / "rulings" / f"{FILE_PREFIX}week_{int(week):02d}.csv"
        write_csv(part[RULING_COLUMNS].reset_index(drop=True), path)
        written.append(path)
        relative = path.relative_to(Path(data_dir)).as_posix()
        # The header is physical line 1.
        at = planned["challenge_id"].isin(part["challenge_id"]).to_numpy()
        order = pd.Series(np.arange(2, len(part) + 2), index=part["challenge_id"].to_numpy())
        planned.loc[at, "ruling_source_file"] = relative
        planned.loc[at, "ruling_source_row"] = planned.loc[at, "challenge_id"].map(order)
    return planned, written


TRUTH_COLUMNS = [
    "petition_id", "challenge_id", *LINE_KEY, "status", "reason_code", "ground",
    "claimed_voter_id", "sound", "why", "ruling", "ruling_source_file", "ruling_source_row",
    "expected_status", "expected_reason_code", "changes",
]  # fmt: skip


def write_truth(truth_dir: Path, recounts: list[tuple[dict, pd.DataFrame]]) -> None:
    """The expected recount of each petition (`examination_recount.json`) and every challenge
    with its soundness, ruling and expected verdict (`examination_challenges.csv`)."""
    from recall_pipeline.scenario.output import write_csv, write_json

    truth_dir = Path(truth_dir)
    write_json({"petitions": [summary for summary, _ in recounts]}, truth_dir / RECOUNT_FILE)
    frames = [
        lines.assign(
            petition_id=summary["petition_id"],
            sound=np.where(lines["sound"], "Y", "N"),
            changes=np.where(lines["changes"], "Y", "N"),
        )[TRUTH_COLUMNS]
        for summary, lines in recounts
    ]
    write_csv(pd.concat(frames, ignore_index=True), truth_dir / CHALLENGES_TRUTH_FILE)


def read_expected(truth_dir: Path) -> tuple[list[dict], pd.DataFrame]:
    """What `write_truth` wrote: the recounts, and the challenges (empty cells as "")."""
    truth_dir = Path(truth_dir)
    path = truth_dir / RECOUNT_FILE
    if not path.is_file():
        raise ExaminationInputError(f"{path}: no such file (recall-audit generate-examination)")
    summaries = json.loads(path.read_text(encoding="utf-8"))["petitions"]
    lines = pd.read_csv(truth_dir / CHALLENGES_TRUTH_FILE, dtype=str, keep_default_na=False)
    return summaries, _typed(lines)


# --------------------------------------------------------------------------------------------
# All of it, for one warehouse


def generate_examination(
    store,
    data_dir: Path,
    truth_dir: Path,
    *,
    seed: int = 1,
    challenges: str | float | int | None = None,
    open_share: float = OPEN_SHARE,
    started: dt.date | None = None,
    petitions: list[str] | None = None,
) -> list[dict]:
    """Generate the examination of each petition found INSUFFICIENT (or of `petitions`) from
    the finding `store` published and the truth in `truth_dir`; returns each recount."""
    determinations = store.read_frame("sufficiency_determination")
    if petitions is None:
        petitions = sorted(
            determinations.loc[determinations["result"] == "INSUFFICIENT", "petition_id"]
        )
    recounts = []
    for k, petition_id in enumerate(petitions):
        finding = read_finding(store, petition_id)
        truth = read_truth(truth_dir, petition_id)
        configured = finding.examination_started
        if configured is not None and started is not None and configured != started:
            raise ExaminationInputError(
                f"{petition_id}: petition.yaml starts the examination on {configured}, "
                f"not {started}"
            )
        begins = configured or started or finding.filed_date + START_AFTER_FILING
        if begins < finding.filed_date:
            raise ExaminationInputError(f"{petition_id}: the examination starts after filing")
        rng = np.random.default_rng([seed, k])
        options = candidate_challenges(finding, truth)
        invalid = int((finding.lines["status"] == INVALID).sum())
        planned = plan_examination(
            options, challenge_count(challenges, invalid), begins, rng, open_share
        )
        ensure_examination_start(data_dir, petition_id, begins)
        planned, _ = write_examination(data_dir, petition_id, planned, begins)
        summary, lines = expected_recount(finding, planned)
        summary["examination_started"] = begins.isoformat()
        summary["no_sound_challenge_truth_reason_missed"] = _missed(finding, truth)
        recounts.append((summary, lines))
    if not recounts:
        raise ExaminationInputError("no petition was found insufficient: nothing to examine")
    write_truth(truth_dir, recounts)
    return [summary for summary, _ in recounts]


def _missed(finding: Finding, truth: pd.DataFrame) -> int:
    """Invalid lines of challengeable reasons whose true reason is one no ruling revisits
    (they get no sound challenge)."""
    grounds = grounds_by_reason()
    lines = finding.lines.merge(truth, on=LINE_KEY)
    return int(
        (
            (lines["status"] == INVALID)
            & lines["reason_code"].isin(list(grounds))
            & (lines["true_status"] == INVALID)
            & ~lines["true_reason_code"].isin(DECIDED_BY_SIGNER)
        ).sum()
    )


# --------------------------------------------------------------------------------------------
# The published run after the rulings, against the recount

FULL_COUNT_METHODS = ("full_count", "random_sample_then_full_count")


@dataclass(frozen=True)
class RecountCheck:
    """One petition's published figures beside the recount's, and what disagrees."""

    petition_id: str
    # (figure, published, expected)
    figures: list[tuple[str, object, object]]
    problems: list[str]
    notes: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def check_recount(store, truth_dir: Path) -> list[RecountCheck]:
    """Compare what `store` published after the rulings with the recount in `truth_dir`."""
    summaries, expected = read_expected(truth_dir)
    return [
        _check_petition(store, summary, expected[expected["petition_id"] == summary["petition_id"]])
        for summary in summaries
    ]


def _check_petition(store, summary: dict, expected: pd.DataFrame) -> RecountCheck:
    pid = summary["petition_id"]
    where = {"petition_id": pid}
    verdicts = _typed(
        store.read_frame(
            "line_verdicts",
            columns=[
                *LINE_KEY,
                "status",
                "reason_code",
                "challenge_id",
                "ruling_source_file",
                "ruling_source_row",
                "finding_reason_code",
            ],  # fmt: skip
            where=where,
        )
    )
    after, finding = summary["after_rulings"], summary["at_finding"]
    published = _counts(verdicts["status"], verdicts["reason_code"])
    figures: list[tuple[str, object, object]] = [
        ("valid lines after the rulings", published["valid"], after["valid"]),
        ("invalid lines after the rulings", published["invalid"], after["invalid"]),
        ("pending lines", published["pending"], after["pending"]),
    ]
    determination = store.read_frame("sufficiency_determination", where=where).iloc[0]
    counted_in_full = determination["method"] in FULL_COUNT_METHODS
    if counted_in_full:
        figures += [
            ("determination: valid", int(determination["valid"]), after["valid"]),
            ("determination: result", determination["result"], after["result"]),
        ]
    if store.table_exists("examination_status"):
        status = store.read_frame("examination_status", where=where).iloc[0]
        tally = summary["challenges"]
        figures += [
            ("examination_status: challenges", int(status["challenged_lines"]), tally["filed"]),
            ("examination_status: accepted", int(status["accepted"]), tally["accepted"]),
            ("examination_status: rejected", int(status["rejected"]), tally["rejected"]),
            ("examination_status: open", int(status["open_challenges"]), tally["open"]),
        ]  # fmt: skip
        if counted_in_full:
            figures += [
                ("examination_status: valid at the finding", int(status["valid_at_finding"]),
                 finding["valid"]),
                ("examination_status: valid", int(status["valid"]), after["valid"]),
                ("examination_status: result at the finding", status["result_at_finding"],
                 finding["result"]),
            ]  # fmt: skip
    problems = [f"{name}: published {got}, expected {want}" for name, got, want in figures
                if got != want]  # fmt: skip
    for code in sorted(set(published["by_reason"]) | set(after["by_reason"])):
        got, want = published["by_reason"].get(code, 0), after["by_reason"].get(code, 0)
        if got != want:
            problems.append(f"invalid lines {code}: published {got}, expected {want}")
    problems += _line_problems(verdicts, expected)
    problems += _set_aside_problems(store, pid)
    notes = []
    if not counted_in_full:
        notes.append(
            f"the determination was made by {determination['method']}: its valid count is the "
            "sample's, so the lines' count is compared instead"
        )
    return RecountCheck(pid, figures, problems, notes)


def _line_problems(verdicts: pd.DataFrame, expected: pd.DataFrame) -> list[str]:
    problems = []
    lines = expected.merge(verdicts, on=LINE_KEY, how="left", suffixes=("", "_published"))
    wrong = lines[
        (lines["status_published"] != lines["expected_status"])
        | (lines["reason_code_published"].fillna("") != lines["expected_reason_code"])
    ]
    if len(wrong):
        shown = ", ".join(
            f"{r.section_id}/{r.page}/{r.line} {r.status_published} "
            f"{r.reason_code_published or ''} (expected {r.expected_status} "
            f"{r.expected_reason_code})".replace(" )", ")")
            for r in wrong.head(5).itertuples()
        )
        problems.append(f"{len(wrong)} challenged line(s) not as the recount says: {shown}")
    # Decided again: exactly the lines of the accepted challenges, each naming its ruling row.
    provenance = ["challenge_id", "ruling_source_file", "ruling_source_row"]
    accepted = expected.loc[expected["ruling"] == ACCEPTED, [*LINE_KEY, *provenance, "reason_code"]]
    redecided = verdicts.loc[
        verdicts["challenge_id"].notna(), [*LINE_KEY, *provenance, "finding_reason_code"]
    ]
    traced = accepted.merge(redecided, on=LINE_KEY, how="outer", indicator=True)
    rows = [pd.to_numeric(traced[f"ruling_source_row_{side}"], errors="coerce") for side in "xy"]
    untraced = traced[
        (traced["_merge"] != "both")
        | (traced["challenge_id_x"] != traced["challenge_id_y"])
        | (traced["ruling_source_file_x"] != traced["ruling_source_file_y"])
        | (rows[0] != rows[1])
        | (traced["reason_code"] != traced["finding_reason_code"])
    ]
    if len(untraced):
        problems.append(
            f"{len(untraced)} line(s) decided again that do not name their accepted ruling's "
            "challenge, file and row and their reason at the finding (or an accepted ruling "
            "whose line was not decided again)"
        )
    return problems


def _set_aside_problems(store, petition_id: str) -> list[str]:
    problems = []
    where = {"petition_id": petition_id}
    if store.table_exists("challenges_set_aside"):
        n = len(store.read_frame("challenges_set_aside", columns=["challenge_id"], where=where))
        if n:
            problems.append(f"{n} challenge or ruling row(s) set aside (challenges_set_aside)")
    quarantined = store.read_frame(
        "quarantined_rows",
        columns=["input_name"],
        where={**where, "input_name": ["challenges", "challenge_rulings"]},
    )
    if len(quarantined):
        problems.append(f"{len(quarantined)} challenge or ruling row(s) quarantined")
    return problems


def render_check(check: RecountCheck, summary: dict | None = None) -> str:
    """The comparison as printed by `recall-audit check-examination`."""
    out = [f"{check.petition_id}: the published run against the truth's recount"]
    if summary is not None:
        t = summary["challenges"]
        out.append(
            f"  challenges: {t['filed']:,} filed ({t['sound']:,} sound), {t['accepted']:,} "
            f"accepted, {t['rejected']:,} rejected, {t['open']:,} open; the recount reinstates "
            f"{summary['reinstated']:,} and changes {summary['changed_lines']:,} line(s)"
        )
    width = max(len(name) for name, _, _ in check.figures)
    out.append(f"  {'':<{width}}  {'published':>14}  {'expected':>14}")
    for name, got, want in check.figures:
        mark = "" if got == want else "   <- differs"
        out.append(f"  {name:<{width}}  {_shown(got):>14}  {_shown(want):>14}{mark}")
    out += [f"  note: {n}" for n in check.notes]
    out += [f"  PROBLEM: {p}" for p in check.problems]
    out.append("  equal to the recount" if check.passed else "  NOT equal to the recount")
    return "\n".join(out)


def _shown(value) -> str:
    return f"{value:,}" if isinstance(value, int | np.integer) else str(value)
