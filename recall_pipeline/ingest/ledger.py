"""The two checks every ingested input reports, computed without Dagster.

Metadata here goes into Dagster's event log, so it carries counts, file names, row numbers and
identifying keys only — never a name, an address or a birth date.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.checks import CheckOutcome
from recall_pipeline.contract import PETITION_LINES, InputSpec
from recall_pipeline.ingest.errors import StructuralError
from recall_pipeline.ingest.pipeline import INGESTED_FILES, QUARANTINED_ROWS, IngestResult

FAILING_ROWS_SHOWN = 50


def expectation_report(result: IngestResult) -> CheckOutcome:
    rules = {
        o.rule.rule_id: {
            "engine": o.rule.engine,
            "evaluated": o.evaluated,
            "failing": o.failing_count,
        }
        for o in result.outcomes
    }
    quarantined = result.quarantined
    shown = quarantined.slice(0, FAILING_ROWS_SHOWN).to_pylist()
    failing_rows = [
        f"{r['source_file']} row {r['source_row']}"
        + (f" ({r['record_key']})" if r["record_key"] else "")
        + f": {r['reason']}"
        for r in shown
    ]
    passed = all(o.success for o in result.outcomes) and not result.parse_failures
    return CheckOutcome(
        passed=passed,
        metadata={
            "rules": rules,
            "rules_failed": sum(1 for o in result.outcomes if not o.success),
            "rows_validated": result.rows_read,
            "blank_lines": int(pc.sum(result.files.column("blank_lines")).as_py() or 0),
            "rows_quarantined": quarantined.num_rows,
            "values_nulled": result.nulled.num_rows if result.nulled is not None else 0,
            "parse_failures": result.parse_failures,
            "failing_rows": failing_rows,
        },
    )


def conservation_report(store, spec: InputSpec) -> CheckOutcome:
    """Prove from the warehouse that every row read from each file landed exactly once."""
    quote = store.engine.dialect.identifier_preparer.quote
    table = quote(spec.table_name)
    quarantine = quote(QUARANTINED_ROWS.name)
    ledger = quote(INGESTED_FILES.name)
    per_file = store.query(
        f"""
        WITH landed AS (
            SELECT source_file, source_row FROM {table}
            UNION ALL
            SELECT source_file, source_row FROM {quarantine} WHERE input_name = :input
        )
        SELECT l.source_file, l.rows_read, l.physical_lines, l.header_lines, l.blank_lines,
               count(r.source_row) AS rows_landed,
               count(DISTINCT r.source_row) AS distinct_rows,
               min(r.source_row) AS first_row,
               max(r.source_row) AS last_row
        FROM {ledger} l LEFT JOIN landed r ON r.source_file = l.source_file
        WHERE l.input_name = :input
        GROUP BY l.source_file, l.rows_read, l.physical_lines, l.header_lines, l.blank_lines
        ORDER BY l.source_file
        """,
        {"input": spec.name},
    )
    orphans = store.query(
        f"""
        SELECT count(*) AS n FROM (
            SELECT source_file FROM {table}
            UNION ALL
            SELECT source_file FROM {quarantine} WHERE input_name = :input
        ) r
        WHERE r.source_file NOT IN (SELECT source_file FROM {ledger} WHERE input_name = :input)
        """,
        {"input": spec.name},
    )
    orphan_rows = int(orphans["n"].iloc[0])
    problems = []
    for row in per_file.itertuples(index=False):
        read, landed, distinct = int(row.rows_read), int(row.rows_landed), int(row.distinct_rows)
        lines, header, blank = int(row.physical_lines), int(row.header_lines), int(row.blank_lines)
        # Every data line of the file (its lines but the header and the blank ones) landed once,
        # at a line number the file has.
        inside = read == 0 or (int(row.first_row) > header and int(row.last_row) <= lines)
        if read != lines - header - blank or landed != read or distinct != read or not inside:
            problems.append(
                f"{row.source_file}: {lines} line(s), {header} header, {blank} blank: "
                f"{lines - header - blank} data line(s); read {read}, landed {landed} "
                f"({distinct} distinct rows)"
            )
    if orphan_rows:
        problems.append(f"{orphan_rows} row(s) landed from files missing from the ledger")
    return CheckOutcome(
        passed=not problems,
        metadata={
            "files": len(per_file),
            "rows_read": int(per_file["rows_read"].sum()),
            "rows_landed": int(per_file["rows_landed"].sum()),
            "problems": problems,
        },
    )


def check_line_keys_unique(store, accepted: pa.Table, files: list[str]) -> None:
    """A scan batch ingested on its own must not repeat a line key that another batch of the
    petition already holds (within the batch the contract's uniqueness rule has run)."""
    table = PETITION_LINES.table_name
    if accepted.num_rows == 0 or not store.table_exists(table):
        return
    key = list(PETITION_LINES.unique_key)
    petitions = pc.unique(accepted.column("petition_id")).to_pylist()
    held = store.read(
        table, columns=[*key, "source_file", "source_row"], where={"petition_id": petitions}
    )
    held = held.filter(pc.invert(pc.is_in(held.column("source_file"), pa.array(files))))
    clash = accepted.select([*key, "source_file", "source_row"]).join(
        held, keys=key, join_type="inner", right_suffix="_held"
    )
    if clash.num_rows == 0:
        return
    first = clash.sort_by([("source_file", "ascending"), ("source_row", "ascending")]).slice(0, 1)
    row = first.to_pylist()[0]
    raise StructuralError(
        row["source_file"],
        f"{clash.num_rows} line key(s) already held by another scan batch, e.g. section "
        f"{row['section_id']} page {row['page']} line {row['line']} is also "
        f"{row['source_file_held']} row {row['source_row_held']}",
        row=row["source_row"],
    )


def ledger_files(store, inputs: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Every file the ledger holds for `inputs`: input_name, source_file, source_sha256, in that
    order — what a result decided from those inputs can be versioned by."""
    found = store.read_frame(
        INGESTED_FILES.name,
        columns=["input_name", "source_file", "source_sha256"],
        where={"input_name": list(inputs)},
    )
    return found.sort_values(list(found.columns)).reset_index(drop=True)
