"""The determination as a reader sees it, built only from published warehouse tables."""

from __future__ import annotations

from recall_pipeline.values import plain
from recall_pipeline.verify.schemas import (
    REASON_SUMMARY,
    REGISTRAR_SUMMARY,
    REQUIREMENT_BASES,
    SUFFICIENCY_DETERMINATION,
)
from recall_pipeline.warehouse import Warehouse


class UnknownPetition(LookupError):
    pass


def load_determination(store: Warehouse, petition_id: str) -> dict:
    params = {"pid": petition_id}
    found = store.query(
        f"SELECT * FROM {SUFFICIENCY_DETERMINATION.name} WHERE petition_id = :pid", params
    )
    if found.empty:
        known = store.query(f"SELECT petition_id FROM {SUFFICIENCY_DETERMINATION.name}")
        raise UnknownPetition(
            f"no determination for {petition_id!r}; known: {', '.join(known['petition_id'])}"
        )
    report = {k: plain(v) for k, v in found.iloc[0].to_dict().items()}
    reasons = store.query(
        f"SELECT reason_code, lines FROM {REASON_SUMMARY.name} WHERE petition_id = :pid"
        " ORDER BY precedence",
        params,
    )
    report["by_reason"] = {r.reason_code: int(r.lines) for r in reasons.itertuples()}
    categories = store.query(
        f"SELECT category, lines FROM {REGISTRAR_SUMMARY.name} WHERE petition_id = :pid",
        params,
    )
    report["by_registrar_category"] = {
        r.category: int(r.lines)
        for r in categories.itertuples()
        if r.category not in ("Invalid total", "Valid", "Raw count")
    }
    to_correct = store.query(
        "SELECT count(*) AS n FROM line_verdicts WHERE petition_id = :pid"
        " AND pending_reason = 'INPUT_NEEDS_CORRECTION'",
        params,
    )
    report["lines_to_correct"] = int(to_correct["n"].iloc[0])
    report["requirement_bases"] = load_bases(store, petition_id)
    return report


def load_bases(store: Warehouse, petition_id: str) -> list[dict]:
    """The petition's rows of requirement_bases, in their order (none from a warehouse
    published before the table existed)."""
    if not store.table_exists(REQUIREMENT_BASES.name):
        return []
    columns = [c for c in REQUIREMENT_BASES.column_names if c != "petition_id"]
    found = store.query(
        f"SELECT {', '.join(columns)} FROM {REQUIREMENT_BASES.name}"
        " WHERE petition_id = :pid ORDER BY position",
        {"pid": petition_id},
    )
    return [{k: plain(v) for k, v in row.items()} for row in found.to_dict("records")]


def render(report: dict) -> str:
    n = "{:,}".format
    lines = [
        f"Petition {report['petition_id']}: {report['result']}",
        f"  method                  {report['method']}",
        f"  raw count               {n(report['raw_count']):>10}",
        f"  valid                   {n(report['valid']):>10}",
        f"  invalid                 {n(report['invalid']):>10}",
        f"  pending                 {n(report['pending']):>10}" + _pending_note(report),
        *(
            [
                f"    filed, to correct     {n(report['lines_to_correct']):>10}"
                f"   (quarantined at ingestion: trace --reason INPUT_NEEDS_CORRECTION)"
            ]
            if report.get("lines_to_correct")
            else []
        ),
        f"  registered (basis)      {n(report['registered_voters_basis']):>10}",
        f"  threshold               {report['threshold_percent']:>9g}%",
        f"  required                {n(report['required']):>10}",
        f"  margin                  {report['margin']:>+10,}",
    ]
    if report.get("sample_size"):
        lines += [
            "  random sample (EC §11225, 2 CCR §20530)",
            f"    sample size n         {n(report['sample_size']):>10}"
            f"   (seed {report['sample_seed']})",
            f"    valid in sample s     {n(report['sample_valid']):>10}",
            f"    duplicates d          {n(report['sample_duplicates']):>10}",
            f"    validity rate r       {report['sample_validity_rate']:>10.4f}",
            f"    projection V          {n(report['projected_uncorrected']):>10}",
            f"    duplicate estimate C  {n(report['projected_duplicates']):>10}",
            f"    projected valid P     {n(report['projected_valid']):>10}"
            f"   ({report['projected_percent_of_required']}% of required)",
            f"    cut-offs              > {n(report['sample_upper_cutoff'])} qualifies,"
            f" < {n(report['sample_lower_cutoff'])} fails",
            f"    sample result         {report['sample_result']}",
        ]
    lines += _bases_lines(report.get("requirement_bases") or [])
    lines.append("  invalid by reason")
    lines += [f"    {code:<32}{n(count):>10}" for code, count in report["by_reason"].items()]
    lines.append("  invalid by registrar category")
    lines += [
        f"    {category:<40}{n(count):>10}"
        for category, count in sorted(
            report["by_registrar_category"].items(), key=lambda kv: -kv[1]
        )
    ]
    return "\n".join(lines)


def _bases_lines(bases: list[dict]) -> list[str]:
    """The requirement and margin under each basis, after the official result."""
    if not bases:
        return []
    n = "{:,}".format
    lines = [
        f"  under each basis (full-count rule on the {n(bases[0]['valid'])} valid lines;"
        " the result above uses the official basis)",
        f"    {'basis':<46}{'registered':>12}{'%':>6}{'required':>11}{'margin':>10}"
        f"{'to flip':>10}  result",
    ]
    for b in bases:
        lines += [
            f"    {b['basis']:<46}{n(b['registered_voters']):>12}"
            f"{b['threshold_percent']:>5g}%{n(b['required']):>11}{b['margin']:>+10,}"
            f"{n(b['lines_to_flip']):>10}  {b['result']}",
            f"      {b['kind']}, as of {b['as_of'] or 'unknown'}: {b['source']}",
        ]
    return lines


def _pending_note(report: dict) -> str:
    """What the lines awaiting an examiner could do to the result."""
    if not report.get("pending"):
        return ""
    if report.get("pending_could_change"):
        return (
            f"   ({n_(report['pending_needed_to_change'])} of them valid would change the result)"
        )
    return "   (could not change the result)"


def n_(value) -> str:
    return f"{int(value):,}"


def petition_ids(store: Warehouse) -> list[str]:
    if not store.table_exists(SUFFICIENCY_DETERMINATION.name):
        return []
    found = store.query(f"SELECT petition_id FROM {SUFFICIENCY_DETERMINATION.name} ORDER BY 1")
    return list(found["petition_id"])
