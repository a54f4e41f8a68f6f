"""From a count in the determination to the lines behind it, and from a line to its story.

`trace` answers "which lines make up this number?": the count first (always the same figure the
determination shows), then every line with its source file, row and file hash, the matched
voter and the evidence. `explain` answers "why did this line get this verdict?": the raw record
as keyed, its normalized forms, the people registered at the written address with their
scores, each rule in precedence order and whether it applied, and the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from recall_pipeline.values import plain
from recall_pipeline.verify.corrections import INPUT_NEEDS_CORRECTION
from recall_pipeline.verify.reasons import reason_codes, registrar_categories
from recall_pipeline.verify.schemas import (
    MATCH_EVIDENCE_COLUMNS,
    NORMALIZED_ADDRESS_COLUMNS,
    NORMALIZED_NAME_COLUMNS,
)
from recall_pipeline.warehouse import Warehouse

TRACE_COLUMNS = [
    "section_id",
    "page",
    "line",
    "status",
    "reason_code",
    "registrar_category",
    "secondary_reasons",
    "source_file",
    "source_row",
    "source_sha256",
    "voter_id",
    "match_method",
    "match_score",
    "first_name_agreement",
    "last_name_agreement",
    "candidates_at_address",
    "review_finding",
    # A line an accepted ruling decided again: the challenge, the ruling row, the reason found.
    "challenge_id",
    "ruling_source_file",
    "ruling_source_row",
    "finding_reason_code",
]


class TraceError(ValueError):
    pass


# Why a PENDING line waits: an examiner (who signed; the signature), or a corrected scan file.
PENDING_REASONS = ("MATCH_REVIEW", "SIGNATURE_REVIEW", INPUT_NEEDS_CORRECTION)


# The lines an accepted ruling decided again, whatever they came out as.
RULED = "RULED"


@dataclass(frozen=True)
class Selector:
    column: str
    value: str
    label: str


def selector(text: str) -> Selector:
    """A reason code, a registrar category or VALID (case-insensitive)."""
    wanted = text.strip().upper()
    if wanted == RULED:
        return Selector("challenge_id", "", RULED)
    if wanted in ("VALID", "PENDING", "INVALID"):
        return Selector("status", wanted, wanted)
    if wanted in PENDING_REASONS:
        return Selector("pending_reason", wanted, wanted)
    for code in reason_codes():
        if code.code == wanted:
            return Selector("reason_code", code.code, code.code)
    for category in registrar_categories():
        if category.upper() == wanted:
            return Selector("registrar_category", category, category)
    choices = [
        "VALID",
        "PENDING",
        "INVALID",
        RULED,
        *PENDING_REASONS,
        *(c.code for c in reason_codes()),
    ]
    raise TraceError(
        f"unknown reason {text!r}: use one of {', '.join(choices)}, or a registrar category "
        f"({'; '.join(registrar_categories())})"
    )


def trace(
    store: Warehouse, petition_id: str, reason: str, limit: int | None = None
) -> tuple[int, pd.DataFrame]:
    chosen = selector(reason)
    known = store.query("SELECT DISTINCT petition_id FROM line_verdicts")["petition_id"].tolist()
    if petition_id not in known:
        raise TraceError(
            f"no petition {petition_id!r} in the warehouse; known: {', '.join(sorted(known))}"
        )
    where = f"petition_id = :pid AND {chosen.column} = :value"
    if chosen.label == RULED:
        where = "petition_id = :pid AND challenge_id IS NOT NULL"
    elif chosen.column not in ("status", "pending_reason"):
        where += " AND status = 'INVALID'"
    params = {"pid": petition_id, "value": chosen.value}
    count = int(
        store.query(f"SELECT count(*) AS n FROM line_verdicts WHERE {where}", params)["n"][0]
    )
    sql = (
        f"SELECT {', '.join(TRACE_COLUMNS)} FROM line_verdicts WHERE {where}"
        " ORDER BY section_id, page, line"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return count, store.query(sql, params)


def explain(store: Warehouse, petition_id: str, section_id: str, page: int, line: int) -> dict:
    key = {"pid": petition_id, "section": section_id, "page": int(page), "line": int(line)}
    where = "petition_id = :pid AND section_id = :section AND page = :page AND line = :line"
    raw = store.query(f"SELECT * FROM petition_lines WHERE {where}", key)
    verdicts = store.query(f"SELECT * FROM line_verdicts WHERE {where}", key)
    if raw.empty and len(verdicts) and verdicts["pending_reason"].iloc[0] == INPUT_NEEDS_CORRECTION:
        return _to_correct(store, petition_id, verdicts.iloc[0].to_dict())
    if raw.empty:
        raise TraceError(f"no line {section_id}/{page}/{line} in petition {petition_id!r}")
    verdict = verdicts.iloc[0].to_dict()
    normalized = store.query(f"SELECT * FROM line_matches WHERE {where}", key).iloc[0].to_dict()
    secondary = set((verdict.get("secondary_reasons") or "").split(";")) - {""}
    rules = [
        {
            "precedence": code.precedence,
            "code": code.code,
            "applies": code.code == verdict["reason_code"] or code.code in secondary,
            "primary": code.code == verdict["reason_code"],
            "description": code.description,
        }
        for code in reason_codes()
    ]
    return {
        "line": {"petition_id": petition_id, "section_id": section_id, "page": page, "line": line},
        "raw_record": {k: plain(v) for k, v in raw.iloc[0].to_dict().items()},
        "normalized": {
            k: plain(normalized[k]) for k in NORMALIZED_ADDRESS_COLUMNS + NORMALIZED_NAME_COLUMNS
        },
        "match": {k: plain(normalized[k]) for k in MATCH_EVIDENCE_COLUMNS},
        "candidates": _candidates(store, key),
        "rules": rules,
        "verdict": {
            "status": verdict["status"],
            "reason_code": plain(verdict["reason_code"]),
            "registrar_category": plain(verdict["registrar_category"]),
            "review_finding": plain(verdict["review_finding"]),
            "review_source_file": plain(verdict["review_source_file"]),
            "review_source_row": plain(verdict["review_source_row"]),
            "run_id": plain(verdict["run_id"]),
            "code_version": plain(verdict["code_version"]),
        },
    }


def _candidates(store: Warehouse, key: dict) -> list[dict]:
    """The registrations the matcher weighed for the line, strongest first, with the level
    and weight of each comparison (`match_candidates`)."""
    if "match_candidates" not in store.table_names():
        return []
    where = "petition_id = :pid AND section_id = :section AND page = :page AND line = :line"
    rows = store.query(f"SELECT * FROM match_candidates WHERE {where} ORDER BY rank", key)
    return [
        {
            "voter_id": r["voter_id"],
            "registered_at_address": r["source"],
            "found_by": r["passes"],
            "address_agreement": r["address_agreement"],
            "first_name_agreement": r["first_name_agreement"],
            "last_name_agreement": r["last_name_agreement"],
            "middle_name_agreement": r["middle_name_agreement"],
            "name_order": r["name_order"],
            "weights": {
                "first_name": float(r["first_name_weight"]),
                "last_name": float(r["last_name_weight"]),
                "middle_name": float(r["middle_name_weight"]),
                "name_order": float(r["name_order_weight"]),
            },
            "match_weight": float(r["match_weight"]),
            "probability": float(r["match_probability"]),
            "chosen": bool(r["chosen"]),
        }
        for r in rows.to_dict("records")
    ]


def _to_correct(store: Warehouse, petition_id: str, verdict: dict) -> dict:
    """The story of a line filed but quarantined at ingestion: its raw row and the problem."""
    found = store.query(
        "SELECT * FROM quarantined_rows WHERE input_name = 'petition_lines' AND petition_id = :pid"
        " AND source_file = :file AND source_row = :row",
        {"pid": petition_id, "file": verdict["source_file"], "row": int(verdict["source_row"])},
    )
    quarantined = found.iloc[0].to_dict() if len(found) else {}
    return {
        "line": {k: plain(verdict[k]) for k in ("petition_id", "section_id", "page", "line")},
        "raw_record": {"raw_record": plain(quarantined.get("raw_record"))},
        "normalized": {},
        "match": {},
        "candidates": [],
        "rules": [],
        "verdict": {
            "status": verdict["status"],
            "pending_reason": verdict["pending_reason"],
            "input_problem": plain(verdict["input_problem"]),
            "source_file": verdict["source_file"],
            "source_row": plain(verdict["source_row"]),
            "reason_code": None,
            "registrar_category": None,
            "review_finding": None,
            "review_source_file": None,
            "review_source_row": None,
            "run_id": plain(verdict["run_id"]),
            "code_version": plain(verdict["code_version"]),
        },
    }


def render_explanation(story: dict) -> str:
    out = []
    ln = story["line"]
    out.append(
        f"Line {ln['section_id']} page {ln['page']} line {ln['line']} of {ln['petition_id']}"
    )
    v = story["verdict"]
    if v.get("pending_reason") == INPUT_NEEDS_CORRECTION:
        out.append(
            f"  filed, but quarantined at ingestion ({v['source_file']} row {v['source_row']}):"
        )
        out.append(f"    {v['input_problem']}")
        out.append(f"  as keyed: {story['raw_record']['raw_record']}")
        out.append(
            f"  verdict: PENDING ({INPUT_NEEDS_CORRECTION}) until the scan file is corrected"
        )
        return "\n".join(out)
    out.append("  as keyed:")
    out += [f"    {k:<20} {v}" for k, v in story["raw_record"].items() if v is not None]
    out.append("  normalized:")
    out += [f"    {k:<20} {v}" for k, v in story["normalized"].items()]
    out.append("  match:")
    out += [f"    {k:<22} {v}" for k, v in story["match"].items()]
    out.append(f"  registrations weighed: {len(story['candidates'])}")
    for c in story["candidates"]:
        mark = "→" if c["chosen"] else " "
        out.append(
            f"   {mark} {c['voter_id']:<12} {c['registered_at_address']:<16} address "
            f"{c['address_agreement']:<12} first {c['first_name_agreement']:<15} last "
            f"{c['last_name_agreement']:<7} weight {c['match_weight']:+7.2f} "
            f"p {c['probability']:.4f}  [{c['found_by']}]"
        )
    out.append("  rules in precedence order:")
    for r in story["rules"]:
        flag = "PRIMARY" if r["primary"] else ("applies" if r["applies"] else "-")
        out.append(f"    {r['precedence']:>2} {r['code']:<32} {flag}")
    v = story["verdict"]
    if v["review_finding"]:
        out.append(
            f"  examiner finding: {v['review_finding']}"
            f" ({v['review_source_file']} row {v['review_source_row']})"
        )
    reason = f" — {v['reason_code']} ({v['registrar_category']})" if v["reason_code"] else ""
    out.append(f"  verdict: {v['status']}{reason}   [run {v['run_id']}, {v['code_version']}]")
    return "\n".join(out)
