"""Input rows set aside at ingestion never decide a line by themselves.

A petition line that breaks a rule of the input contract (a page that is not a number, a
signature box keyed `maybe`, a quote not closed on its line) cannot be typed, so it is kept out
of `petition_lines` and sits in `quarantined_rows`. But it was filed: it counts in the raw count
and gets one verdict, PENDING with `pending_reason` INPUT_NEEDS_CORRECTION and the problem in
`input_problem`, until the county corrects the scan file (`verdicts_needing_correction`).

Its line key is the one written when the cells give a whole key (a section, a page and a line
that are numbers) that no other line of the petition holds. Otherwise — a line the parser could
not split, a key missing or taken — the key names where the line is: section
`(line N of FILE)`, page 0, line N, N the line's physical line in its file.

A side-file row set aside (a section whose declaration flag is `maybe`, an examiner's finding
`no_match`, a withdrawal dated `04/11/2022`) would have decided some lines' rules. Those rules
are unknown for those lines (`set_aside`): a line another rule makes invalid stays INVALID; any
other is PENDING for the correction, the row named in `input_problem` — never VALID or INVALID
because a row was missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recall_pipeline.tables import LINE_KEY_COLUMNS
from recall_pipeline.verify import normalize as nz

INPUT_NEEDS_CORRECTION = "INPUT_NEEDS_CORRECTION"
KEY = LINE_KEY_COLUMNS
# The evidence of a line nobody could match: what the verdict rows of such lines carry.
UNMATCHED = {
    "voter_id": None,
    "match_method": "NO_MATCH",
    "match_status": "NONE",
    "match_score": 0.0,
    "first_name_agreement": "none",
    "last_name_agreement": "none",
    "address_agreement": "none",
    "candidates_at_address": 0,
}


def verdicts_needing_correction(quarantined: pd.DataFrame, taken: pd.DataFrame) -> pd.DataFrame:
    """One PENDING verdict row per quarantined petition line (`quarantined_rows` rows of input
    `petition_lines`). `taken` holds the keys (KEY columns) of the lines the petitions
    accepted: a written key one of them holds is not the quarantined line's."""
    if quarantined.empty:
        return pd.DataFrame(columns=[*KEY, "status", "pending_reason", "input_problem"])
    rows = quarantined.reset_index(drop=True)
    written = pd.DataFrame([_written_key(text) for text in rows["raw_record"]])
    keys = pd.DataFrame(
        {
            "petition_id": rows["petition_id"].to_numpy(),
            "section_id": written["section_id"].to_numpy(),
            "page": written["page"].to_numpy(),
            "line": written["line"].to_numpy(),
        }
    )
    usable = keys["section_id"].notna() & keys["page"].notna() & keys["line"].notna()
    held = _held(keys, taken) | keys.duplicated(KEY, keep=False).to_numpy()
    own = usable.to_numpy() & ~held
    where = [
        f"(line {row} of {file})"
        for row, file in zip(rows["source_row"], rows["source_file"], strict=True)
    ]
    keys["section_id"] = keys["section_id"].where(own, pd.Series(where))
    keys["page"] = keys["page"].where(own, 0).astype("int64")
    keys["line"] = keys["line"].where(own, rows["source_row"]).astype("int64")
    out = keys.assign(
        status="PENDING",
        reason_code=None,
        pending_reason=INPUT_NEEDS_CORRECTION,
        registrar_category=None,
        secondary_reasons=None,
        input_problem=rows["reason"].to_numpy(),
        **UNMATCHED,
        source_file=rows["source_file"].to_numpy(),
        source_row=rows["source_row"].to_numpy(),
        source_sha256=rows["source_sha256"].to_numpy(),
    )
    return out


def _written_key(raw_record) -> dict:
    """The line key the quarantined cells give (None where a part is missing or unusable).
    A row the parser could not split keeps its raw text, which gives none."""
    try:
        cells = json.loads(raw_record) if isinstance(raw_record, str) else None
    except ValueError:
        cells = None
    if not isinstance(cells, dict):
        return {"section_id": None, "page": None, "line": None}
    section = cells.get("section_id")
    section = section.strip() if isinstance(section, str) and section.strip() else None
    return {
        "section_id": section,
        "page": _number(cells.get("page")),
        "line": _number(cells.get("line")),
    }


def _number(value) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def _held(keys: pd.DataFrame, taken: pd.DataFrame) -> pd.Series:
    if taken.empty:
        return pd.Series(False, index=keys.index).to_numpy()
    probe = keys[KEY].astype({"page": "float64", "line": "float64"})
    known = taken[KEY].astype({"page": "float64", "line": "float64"}).drop_duplicates()
    found = probe.merge(known.assign(_held=True), on=KEY, how="left")["_held"]
    return found.fillna(False).astype(bool).to_numpy()


@dataclass
class SetAside:
    """Side-file rows of a petition set aside at ingestion (quarantined for a required value),
    by what a line's verdict would have read of them: a section by its id, an examiner's
    signature finding by its line key, a withdrawal by its voter. Each maps to the problem,
    with the file and row, that a line depending on it is PENDING for."""

    sections: dict[str, str] = field(default_factory=dict)
    reviews: dict[tuple[str, int, int], str] = field(default_factory=dict)
    withdrawals: dict[str, str] = field(default_factory=dict)
    # An examiner's decision on who signed, by line key; a past address, by its voter.
    match_reviews: dict[tuple[str, int, int], str] = field(default_factory=dict)
    history: dict[str, str] = field(default_factory=dict)
    # Registrations set aside, as (surname letters, house number, ZIP5, problem): who might
    # have signed a line that found nobody on the roll.
    registrations: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Registrations set aside as lines the parser could not split: their text (folded), by
    # which any line whose surname, or house number and ZIP, it holds might be theirs.
    registration_texts: list[tuple[str, str]] = field(default_factory=list)
    # A ZIP row of the petition's jurisdiction set aside: which ZIPs are inside is in doubt.
    zips: str | None = None

    def __bool__(self) -> bool:
        return bool(
            self.sections
            or self.match_reviews
            or self.history
            or self.reviews
            or self.withdrawals
            or self.registrations
            or self.registration_texts
            or self.zips
        )


# The inputs whose set-aside rows hold lines PENDING (the roll's, for every petition).
SIDE_INPUTS = ("petition_sections", "signature_reviews", "match_reviews", "withdrawal_requests")
ROLL_INPUT = "voter_roll"
HISTORY_INPUT = "voter_address_history"
ZIPS_INPUT = "jurisdiction_zips"


def set_aside(quarantined: pd.DataFrame, jurisdiction_code: str | None = None) -> SetAside:
    """What the quarantined rows of a petition's side files (`quarantined_rows` rows of
    SIDE_INPUTS, the roll and the jurisdictions' ZIPs) leave in doubt. A side-file row whose
    cells do not say what it was about (no section id, no line key, no voter) holds no line;
    a registration the parser could not split is recognised by its text."""
    found = SetAside()
    for row in quarantined.itertuples(index=False):
        problem = f"{row.input_name} {row.source_file} row {row.source_row} set aside: {row.reason}"
        try:
            cells = json.loads(row.raw_record) if isinstance(row.raw_record, str) else None
        except ValueError:
            cells = None
        if row.input_name == ZIPS_INPUT:
            code = _text(cells.get("jurisdiction_code")) if isinstance(cells, dict) else None
            if code is None or code == jurisdiction_code:
                found.zips = found.zips or problem
            continue
        if not isinstance(cells, dict):
            if row.input_name == ROLL_INPUT and isinstance(row.raw_record, str):
                text = nz.fold(pd.Series([row.raw_record])).iloc[0]
                found.registration_texts.append((text, problem))
            continue
        section = _text(cells.get("section_id"))
        if row.input_name == "petition_sections" and section:
            found.sections.setdefault(section, problem)
        elif row.input_name in ("signature_reviews", "match_reviews") and section:
            page, line = _number(cells.get("page")), _number(cells.get("line"))
            held = found.reviews if row.input_name == "signature_reviews" else found.match_reviews
            if page is not None and line is not None:
                held.setdefault((section, page, line), problem)
        elif row.input_name == "withdrawal_requests" and _text(cells.get("voter_id")):
            found.withdrawals.setdefault(_text(cells.get("voter_id")), problem)
        elif row.input_name == ROLL_INPUT:
            found.registrations.append(_registration(cells, problem))
        elif row.input_name == HISTORY_INPUT:
            # A past address: its voter's lines elsewhere, and lines written at it.
            if _text(cells.get("voter_id")):
                found.history.setdefault(_text(cells.get("voter_id")), problem)
            found.registrations.append(("", *_registration(cells, problem)[1:]))
    return found


def _registration(cells: dict, problem: str) -> tuple[str, str, str, str]:
    """What a set-aside registration gives to recognise its signer by: the surname's letters,
    the house number and the ZIP (blank where the cells lack them)."""
    text = pd.Series([cells.get(k) or "" for k in ("last_name", "house_number", "zip")])
    last = nz.fold(text.iloc[:1]).str.replace(r"[^A-Z]", "", regex=True).iloc[0]
    house = nz.house_number(text.iloc[1:2]).iloc[0]
    zip5 = nz.zip5(text.iloc[2:3]).iloc[0]
    return last, house, zip5, problem


def could_be_set_aside(matches: pd.DataFrame, doubts: SetAside) -> np.ndarray:
    """For lines that found nobody on the roll, the problem of a set-aside registration that
    might be their signer — its surname as the line's surname or first name, or its house
    number and ZIP as the line's (for a row the parser could not split: held in its text) —
    else None. Generous on purpose: such a line waits for the corrected roll instead of being
    NOT_REGISTERED."""
    problem = np.full(len(matches), None, dtype=object)
    registrations = doubts.registrations
    if not (registrations or doubts.registration_texts):
        return problem

    def letters(column: str) -> np.ndarray:
        values = matches[column] if column in matches else pd.Series("", index=matches.index)
        return values.fillna("").astype(str).str.replace(r"[^A-Z]", "", regex=True).to_numpy()

    last, first = letters("name_last"), letters("name_first")
    house = matches["house"].fillna("").astype(str).to_numpy()
    zip5 = matches["zip5"].fillna("").astype(str).to_numpy()
    for surname, number, code, text in reversed(registrations):
        named = (surname != "") & ((last == surname) | (first == surname))
        placed = (number != "") & (code != "") & (house == number) & (zip5 == code)
        problem = np.where(named | placed, text, problem)
    for raw, text in doubts.registration_texts:
        letters_only = "".join(ch for ch in raw if ch.isalpha())
        held = np.fromiter(
            (
                (len(s) > 1 and s in letters_only)
                or (h != "" and z != "" and h in raw and z in raw)
                for s, h, z in zip(last, house, zip5, strict=True)
            ),
            dtype=bool,
            count=len(matches),
        )
        problem = np.where(held & pd.isna(problem), text, problem)
    return problem


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
