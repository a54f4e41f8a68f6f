"""The proponents' challenges and the registrar's rulings: which are admitted, and what an
accepted ruling hands the rules when its line is decided again.

A challenge is judged against the line's verdict at the finding — every rule applied, without
any ruling. It is set aside when its line is not among the petition's decided lines, was not
INVALID at the finding, its ground does not answer the line's primary reason
(`reference/challenge_grounds.csv`), or its ground names the signer's registration and it
names none. A ruling is set aside when it names no challenge of the petition, when its
challenge is set aside, when its challenge is ruled on twice (both: neither is more credible
than the other), or when it is dated before its challenge was filed. Two accepted rulings on one
line that would decide it differently are both set aside too. A row set aside changes nothing.

An ACCEPTED ruling never writes a verdict. It becomes an input the rules already read, and the
line is decided again with every rule (`verify.pipeline.decide_petition`):

- `match_review`: an examiner's decision naming the claimed voter, at the ruling's time — the
  registration's status, dates, address, jurisdiction and the duplicate rule then apply;
- `address_accepted`: the line's match taken as at the voter's registered address (as an
  examiner's decision does when the written address is the voter's), so ADDRESS_MISMATCH no
  longer applies and every other rule still does;
- `match_review_at_address`: both — the claimed voter named, and the written address accepted
  as theirs. The registrar who accepts "this is voter X, and what is written is X's address"
  has ruled on the address too; leaving it to the address normaliser would let the keying that
  hid the signer from the matcher turn the line into an ADDRESS_MISMATCH after the ruling;
- `signature_match`: an examiner's signature finding MATCH, at the ruling's time;
- `rules_again`: nothing more than the rules applied once more.

A REJECTED ruling and a challenge without a ruling change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recall_pipeline.verify.grounds import (
    NAMES_SIGNER,
    SIGNATURE_MATCH,
    challenge_grounds,
)
from recall_pipeline.verify.reasons import INVALID, VALID

LINE_KEY = ["section_id", "page", "line"]
_LINE_KEY_TYPES = {"section_id": "str", "page": "int64", "line": "int64"}
CHALLENGES_INPUT = "challenges"
RULINGS_INPUT = "challenge_rulings"
ACCEPTED = "ACCEPTED"
# The set-aside rows' columns (CHALLENGES_SET_ASIDE in verify/schemas.py).
SET_ASIDE_COLUMNS = [
    "petition_id", "input_name", "challenge_id", "reason", "source_file", "source_row",
    "source_sha256",
]  # fmt: skip
APPLIED_COLUMNS = [
    *LINE_KEY, "challenge_id", "ground", "decides_again_as", "claimed_voter_id", "ruled_by",
    "ruled_at", "ruling_source_file", "ruling_source_row",
]  # fmt: skip


@dataclass(frozen=True)
class Examination:
    """A petition's challenges and rulings judged against the finding."""

    # One row per line an accepted ruling decides again (APPLIED_COLUMNS).
    applied: pd.DataFrame
    # Every challenge and ruling row set aside, with its reason (SET_ASIDE_COLUMNS).
    set_aside: pd.DataFrame


def examine(
    petition_id: str,
    finding: pd.DataFrame,
    challenges: pd.DataFrame,
    rulings: pd.DataFrame | None,
) -> Examination:
    """Judge a petition's `challenges` and `rulings` (their accepted rows, with provenance)
    against `finding`, the petition's verdicts without any ruling (line key, status,
    reason_code)."""
    ch = challenges.reset_index(drop=True)
    ru = (rulings if rulings is not None else pd.DataFrame(columns=_RULING_COLUMNS)).reset_index(
        drop=True
    )
    challenge_reason = _challenge_reasons(finding, ch)
    ruling_reason = _ruling_reasons(ch, ru, challenge_reason)
    accepted = ru[(ru["ruling"] == ACCEPTED).to_numpy() & pd.isna(ruling_reason)]
    applied = accepted.merge(
        ch[["challenge_id", *LINE_KEY, "ground", "claimed_voter_id"]], on="challenge_id"
    ).assign(
        ruling_source_file=lambda f: f["source_file"], ruling_source_row=lambda f: f["source_row"]
    )
    effect = {g.ground: g.decides_again_as for g in challenge_grounds()}
    applied["decides_again_as"] = applied["ground"].map(effect)
    applied = applied.astype(_LINE_KEY_TYPES)
    # Accepted rulings on one line that would decide it differently: neither decides it.
    claim = applied["claimed_voter_id"].where(applied["decides_again_as"].isin(NAMES_SIGNER), "")
    decision = applied["decides_again_as"] + "|" + claim.fillna("")
    conflicting = decision.groupby([applied[k] for k in LINE_KEY]).transform("nunique") > 1
    conflict_rows = applied[conflicting.to_numpy()]
    ruling_reason = pd.Series(ruling_reason, dtype=object)
    if len(conflict_rows):
        at = ru.reset_index().merge(
            conflict_rows[["source_file", "source_row"]], on=["source_file", "source_row"]
        )["index"]
        ruling_reason.iloc[at.to_numpy()] = (
            "ruling: another accepted ruling on the same line decides it otherwise"
        )
    applied = (
        applied[~conflicting.to_numpy()]
        .assign(_at=lambda f: pd.to_datetime(f["ruled_at"], format="ISO8601", errors="coerce"))
        .sort_values(["_at", "source_file", "source_row"], kind="stable")
        .drop_duplicates(LINE_KEY, keep="first")
    )
    set_aside = pd.concat(
        [
            _set_aside_rows(petition_id, CHALLENGES_INPUT, ch, challenge_reason),
            _set_aside_rows(petition_id, RULINGS_INPUT, ru, ruling_reason.to_numpy()),
        ],
        ignore_index=True,
    )
    return Examination(applied[APPLIED_COLUMNS].reset_index(drop=True), set_aside)


_RULING_COLUMNS = [
    "challenge_id", "ruling", "ruled_by", "ruled_at", "note", "source_file", "source_row",
    "source_sha256",
]  # fmt: skip


def _joined(reasons: list[np.ndarray], n: int) -> np.ndarray:
    """Every reason a row has, '; '-joined (None for a row with none), as quarantine does."""
    out = pd.Series(np.full(n, None, dtype=object), dtype=object)
    for found in reasons:
        text = pd.Series(found, dtype=object)
        has, held = text.notna(), out.notna()
        out = out.where(~has, text.where(~held, out + "; " + text))
    return out.to_numpy()


def _challenge_reasons(finding: pd.DataFrame, ch: pd.DataFrame) -> np.ndarray:
    n = len(ch)
    if n == 0:
        return np.full(0, None, dtype=object)
    line = (
        ch[LINE_KEY]
        .astype(_LINE_KEY_TYPES)
        .merge(
            finding[[*LINE_KEY, "status", "reason_code"]]
            .astype(_LINE_KEY_TYPES)
            .drop_duplicates(LINE_KEY)
            .assign(_found=True),
            on=LINE_KEY,
            how="left",
        )
    )
    found = line["_found"].notna().to_numpy()
    status = line["status"].astype(object).fillna("").to_numpy()
    reason = line["reason_code"].astype(object).fillna("").to_numpy()
    invalid = status == INVALID
    grounds = challenge_grounds()
    answers = {(g.reason_code, g.ground) for g in grounds}
    needs = {g.ground for g in grounds if g.needs_voter_id}
    ground = ch["ground"].astype(object).fillna("").to_numpy()
    fits = np.fromiter(
        ((r, g) in answers for r, g in zip(reason, ground, strict=True)), dtype=bool, count=n
    )
    claimed = ch["claimed_voter_id"].astype(object).fillna("").astype(str).str.strip()
    no_voter = np.isin(ground, list(needs)) & (claimed == "").to_numpy()
    return _joined(
        [
            np.where(~found, "line: no such line among the petition's decided lines", None),
            np.where(
                found & ~invalid,
                "line: " + np.char.add(status.astype(str), " at the finding, not INVALID"),
                None,
            ),
            np.where(
                invalid & ~fits,
                np.char.add(
                    np.char.add("ground: ", ground.astype(str)),
                    np.char.add(" does not answer the line's reason ", reason.astype(str)),
                ),
                None,
            ),
            np.where(
                no_voter,
                "claimed_voter_id: missing (the ground names the signer's registration)",
                None,
            ),
        ],
        n,
    )


def _ruling_reasons(ch: pd.DataFrame, ru: pd.DataFrame, challenge_reason: np.ndarray) -> np.ndarray:
    n = len(ru)
    if n == 0:
        return np.full(0, None, dtype=object)
    ids = ru["challenge_id"].astype(str)
    by_id = (
        ch.assign(_reason=challenge_reason)
        .drop_duplicates("challenge_id")
        .set_index("challenge_id")
    )
    known = ids.isin(by_id.index).to_numpy()
    challenge_out = pd.notna(ids.map(by_id["_reason"]).to_numpy()) & known
    twice = ids.duplicated(keep=False).to_numpy()
    filed = pd.to_datetime(ids.map(by_id["filed_at"]), format="ISO8601", errors="coerce")
    ruled = pd.to_datetime(ru["ruled_at"], format="ISO8601", errors="coerce")
    early = (ruled < filed).fillna(False).to_numpy(dtype=bool)
    return _joined(
        [
            np.where(~known, "challenge_id: no such challenge in the petition", None),
            np.where(challenge_out, "challenge_id: its challenge is set aside", None),
            np.where(twice, "challenge_id: the challenge is ruled on more than once", None),
            np.where(early, "ruled_at: before the challenge was filed", None),
        ],
        n,
    )


def _set_aside_rows(
    petition_id: str, input_name: str, rows: pd.DataFrame, reasons: np.ndarray
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "petition_id": petition_id,
            "input_name": input_name,
            "challenge_id": rows["challenge_id"].to_numpy(),
            "reason": reasons,
            "source_file": rows["source_file"].to_numpy(),
            "source_row": rows["source_row"].to_numpy(),
            "source_sha256": rows["source_sha256"].to_numpy(),
        },
        columns=SET_ASIDE_COLUMNS,
    )
    return out[pd.notna(reasons)] if len(out) else out


def as_match_reviews(applied: pd.DataFrame) -> pd.DataFrame:
    """The accepted rulings that act as an examiner's decision on who signed, as
    `match_reviews` rows from the ruling's file and row (which the verdict then names)."""
    rows = applied[applied["decides_again_as"].isin(NAMES_SIGNER)]
    return pd.DataFrame(
        {
            **{k: rows[k].to_numpy() for k in LINE_KEY},
            "voter_id": rows["claimed_voter_id"].to_numpy(),
            "examiner_id": rows["ruled_by"].to_numpy(),
            "reviewed_at": rows["ruled_at"].to_numpy(),
            "source_file": rows["ruling_source_file"].to_numpy(),
            "source_row": rows["ruling_source_row"].to_numpy(),
        }
    )


def as_signature_reviews(applied: pd.DataFrame) -> pd.DataFrame:
    """The accepted rulings that act as an examiner's signature finding MATCH, as
    `signature_reviews` rows from the ruling's file and row."""
    rows = applied[applied["decides_again_as"] == SIGNATURE_MATCH]
    return pd.DataFrame(
        {
            **{k: rows[k].to_numpy() for k in LINE_KEY},
            "finding": "MATCH",
            "examiner_id": rows["ruled_by"].to_numpy(),
            "reviewed_at": rows["ruled_at"].to_numpy(),
            "source_file": rows["ruling_source_file"].to_numpy(),
            "source_row": rows["ruling_source_row"].to_numpy(),
        }
    )


def keep_counted_lines(verdicts: pd.DataFrame, redecided: np.ndarray) -> np.ndarray:
    """The `redecided` lines (a mask) now VALID whose voter already has a line counted at the
    finding (a VALID line no ruling touched): each is a DUPLICATE. The lines the finding
    counted keep counting — a ruling on one line never moves another's verdict."""
    valid = (verdicts["status"] == VALID).to_numpy()
    voter = verdicts["voter_id"]
    counted = voter[valid & ~redecided].dropna()
    return redecided & valid & voter.isin(counted).to_numpy()
