"""Reconciliation of the published verification tables, proved in SQL against the warehouse.

Each check recomputes a figure from the rows themselves rather than trusting the step that
wrote it: every ingested line has exactly one verdict, the per-reason tables partition the
invalid lines, each voter with a duplicate has exactly one valid line, and the determination's
counts add up. A run for some petitions checks theirs (`petitions`): another petition's lines
may be ingested while its verdicts wait for its own run.
"""

from __future__ import annotations

import pandas as pd

from recall_pipeline.checks import CheckOutcome
from recall_pipeline.tables import LINE_KEY_COLUMNS
from recall_pipeline.verify.reasons import reason_codes
from recall_pipeline.warehouse import Warehouse

KEY = "petition_id, section_id, page, line"


def _count(store: Warehouse, sql: str) -> int:
    return int(store.query(sql).iloc[0, 0])


def _of(store: Warehouse, petitions: list[str] | None) -> str:
    """A condition keeping the rows of `petitions` (all rows when None)."""
    return "TRUE" if petitions is None else store.condition({"petition_id": petitions})


def one_verdict_per_line(store: Warehouse, petitions: list[str] | None = None) -> CheckOutcome:
    """Every line filed has one verdict: the lines ingested, and those quarantined at
    ingestion (PENDING until corrected), one each."""
    of = _of(store, petitions)
    accepted = _count(store, f"SELECT count(*) FROM petition_lines WHERE {of}")
    quarantined = _count(
        store,
        f"SELECT count(*) FROM quarantined_rows WHERE input_name = 'petition_lines' AND {of}",
    )
    # The verdicts of lines not ingested must be those PENDING for their correction.
    not_ingested = (
        f"SELECT {KEY} FROM line_verdicts WHERE {of} EXCEPT SELECT {KEY} FROM petition_lines"
    )
    to_correct = _count(
        store,
        f"SELECT count(*) FROM (SELECT {KEY} FROM ({not_ingested}) a INTERSECT SELECT {KEY}"
        f" FROM line_verdicts WHERE pending_reason = 'INPUT_NEEDS_CORRECTION' AND {of}) k",
    )
    lines = accepted + quarantined
    verdicts = _count(store, f"SELECT count(*) FROM line_verdicts WHERE {of}")
    distinct = _count(
        store, f"SELECT count(*) FROM (SELECT DISTINCT {KEY} FROM line_verdicts WHERE {of}) k"
    )
    missing = _count(
        store,
        f"SELECT count(*) FROM (SELECT {KEY} FROM petition_lines WHERE {of}"
        f" EXCEPT SELECT {KEY} FROM line_verdicts) k",
    )
    return CheckOutcome(
        passed=lines == verdicts == distinct and missing == 0 and to_correct == quarantined,
        metadata={
            "ingested_lines": accepted,
            "quarantined_lines": quarantined,
            "verdicts_needing_correction": to_correct,
            "verdicts": verdicts,
            "distinct_line_keys": distinct,
            "lines_without_verdict": missing,
        },
    )


def reasons_partition_invalid(store: Warehouse, petitions: list[str] | None = None) -> CheckOutcome:
    of = _of(store, petitions)
    invalid = _count(store, f"SELECT count(*) FROM line_verdicts WHERE status = 'INVALID' AND {of}")
    per_table = {
        c.code: _count(store, f"SELECT count(*) FROM {c.table_name} WHERE {of}")
        for c in reason_codes()
    }
    wrong_rows = sum(
        _count(store, f"SELECT count(*) FROM {c.table_name} WHERE {of} AND"
               f" (reason_code <> '{c.code}' OR status <> 'INVALID')")
        for c in reason_codes()
    )  # fmt: skip
    by_category = store.query(
        "SELECT registrar_category, count(*) AS n FROM line_verdicts WHERE status = 'INVALID'"
        f" AND {of} GROUP BY registrar_category"
    )
    categories_total = int(by_category["n"].sum()) if len(by_category) else 0
    return CheckOutcome(
        passed=sum(per_table.values()) == invalid == categories_total and wrong_rows == 0,
        metadata={
            "invalid": invalid,
            "per_reason": per_table,
            "registrar_categories_total": categories_total,
            "rows_in_wrong_table": wrong_rows,
        },
    )


def one_valid_line_per_voter(store: Warehouse, petitions: list[str] | None = None) -> CheckOutcome:
    of = _of(store, petitions)
    several = _count(
        store,
        "SELECT count(*) FROM (SELECT petition_id, voter_id FROM line_verdicts"
        f" WHERE status = 'VALID' AND {of} GROUP BY petition_id, voter_id"
        " HAVING count(*) > 1) v",
    )
    orphan_duplicates = _count(
        store,
        "SELECT count(*) FROM (SELECT DISTINCT petition_id, voter_id FROM line_verdicts"
        f" WHERE reason_code = 'DUPLICATE' AND {of} EXCEPT SELECT DISTINCT petition_id,"
        " voter_id FROM line_verdicts WHERE status = 'VALID') v",
    )
    return CheckOutcome(
        passed=several == 0 and orphan_duplicates == 0,
        metadata={
            "voters_with_several_valid_lines": several,
            "duplicate_voters_without_a_valid_line": orphan_duplicates,
        },
    )


def determination_adds_up(store: Warehouse, petitions: list[str] | None = None) -> CheckOutcome:
    rows = store.query(
        "SELECT d.petition_id, d.method, d.raw_count, d.valid, d.invalid, d.pending,"
        " d.sample_size, d.sample_valid,"
        " (SELECT count(*) FROM line_verdicts v WHERE v.petition_id = d.petition_id) AS lines,"
        " (SELECT count(*) FROM line_verdicts v WHERE v.petition_id = d.petition_id"
        "   AND v.status = 'VALID') AS valid_lines,"
        " (SELECT count(*) FROM sample_lines s WHERE s.petition_id = d.petition_id) AS drawn,"
        " (SELECT count(*) FROM sample_lines s WHERE s.petition_id = d.petition_id"
        "   AND s.counts_as_valid_in_sample) AS drawn_valid"
        f" FROM sufficiency_determination d WHERE {_of(store, petitions)}"
    )
    problems: list[str] = []
    failing: set[str] = set()
    for r in rows.itertuples(index=False):
        found = len(problems)
        if r.raw_count != r.lines:
            problems.append(f"{r.petition_id}: raw count {r.raw_count} != {r.lines} lines")
        counted = r.valid + r.invalid + r.pending
        # A petition without a sample has no sample figures; read beside a sampled petition's
        # row they come back as NaN, which is truthy and equal to nothing.
        sampled = pd.notna(r.sample_size)
        if r.method == "random_sample":
            if not sampled or counted != r.sample_size or r.drawn != r.sample_size:
                problems.append(
                    f"{r.petition_id}: sample counts {counted} (valid {r.valid}, invalid"
                    f" {r.invalid}, pending {r.pending}) and {r.drawn} sample_lines rows"
                    f" != n {_figure(r.sample_size)}"
                )
        elif counted != r.raw_count or r.valid != r.valid_lines:
            problems.append(
                f"{r.petition_id}: counts {counted} (valid {r.valid}, invalid {r.invalid},"
                f" pending {r.pending}) != raw count {r.raw_count}, or valid != {r.valid_lines}"
                " valid lines"
            )
        if sampled and (r.drawn != r.sample_size or r.drawn_valid != r.sample_valid):
            problems.append(
                f"{r.petition_id}: sample_lines ({r.drawn} drawn, {r.drawn_valid} valid)"
                f" disagree with the sample figures (n {_figure(r.sample_size)},"
                f" s {_figure(r.sample_valid)})"
            )
        elif not sampled and r.drawn:
            problems.append(f"{r.petition_id}: {r.drawn} sample_lines rows but no sample drawn")
        if len(problems) > found:
            failing.add(r.petition_id)
    return CheckOutcome(
        passed=not problems,
        metadata={
            "petitions": len(rows),
            "petitions_failing": sorted(failing),
            "problems": problems,
        },
    )


def _figure(value) -> str:
    return "none" if pd.isna(value) else str(int(value))


_LINE = LINE_KEY_COLUMNS


def rulings_accounted(store: Warehouse, petitions: list[str] | None = None) -> CheckOutcome:
    """Every ACCEPTED ruling the verdict step admitted decided its line again, and every line a
    ruling decided again names an admitted, accepted challenge: no ruling lost, none invented.
    Rows set aside (challenges_set_aside) decide nothing and are left out."""
    where = None if petitions is None else {"petition_id": petitions}
    challenges, rulings = admitted_challenges_and_rulings(store, where)
    accepted = rulings[rulings["ruling"] == "ACCEPTED"].merge(
        challenges, on=["petition_id", "challenge_id"], how="inner"
    )
    decided = store.read_frame(
        "line_verdicts", columns=[*_LINE, "challenge_id"], where=where
    ).dropna(subset=["challenge_id"])
    lines_ruled = set(accepted[_LINE].itertuples(index=False, name=None))
    lines_decided = set(decided[_LINE].itertuples(index=False, name=None))
    admitted = set(accepted[["petition_id", "challenge_id"]].itertuples(index=False, name=None))
    named = set(decided[["petition_id", "challenge_id"]].itertuples(index=False, name=None))
    not_applied = lines_ruled - lines_decided
    unexplained = named - admitted
    return CheckOutcome(
        passed=not not_applied and not unexplained,
        metadata={
            "accepted_rulings": len(accepted),
            "lines_decided_again": len(decided),
            "accepted_but_not_applied": len(not_applied),
            "decided_by_no_admitted_ruling": len(unexplained),
        },
    )


def admitted_challenges_and_rulings(
    store: Warehouse, where: dict[str, object] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published challenge rows (petition_id, line key, challenge_id) and ruling rows
    (petition_id, challenge_id, ruling) matching `where` that the verdict step admitted: the
    rows it set aside (challenges_set_aside, by file and row) decide nothing and are left out.
    Empty frames before any examination file was published."""
    place = ["source_file", "source_row"]
    if not (store.table_exists("challenges") and store.table_exists("challenge_rulings")):
        return (
            pd.DataFrame(columns=[*_LINE, "challenge_id"]),
            pd.DataFrame(columns=["petition_id", "challenge_id", "ruling"]),
        )
    challenges = store.read_frame(
        "challenges", columns=[*_LINE, "challenge_id", *place], where=where
    )
    rulings = store.read_frame(
        "challenge_rulings", columns=["petition_id", "challenge_id", "ruling", *place], where=where
    )
    if store.table_exists("challenges_set_aside"):
        aside = store.read_frame(
            "challenges_set_aside", columns=["input_name", *place], where=where
        )
        challenges = _admitted(challenges, aside, "challenges")
        rulings = _admitted(rulings, aside, "challenge_rulings")
    return challenges.drop(columns=place), rulings.drop(columns=place)


def _admitted(rows: pd.DataFrame, aside: pd.DataFrame, input_name: str) -> pd.DataFrame:
    place = ["source_file", "source_row"]
    mine = aside.loc[aside["input_name"] == input_name, place].drop_duplicates()
    marked = rows.merge(mine, on=place, how="left", indicator=True)
    return rows[(marked["_merge"] == "left_only").to_numpy()]
