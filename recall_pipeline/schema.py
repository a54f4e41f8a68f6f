"""Every table the pipeline publishes, found once, and what is derived from their declarations.

Each table is declared as a `TableSchema` beside the code that builds it; `published_tables`
gathers them, in the order the pipeline publishes them, so that the data dictionary
(`docs/data-dictionary.md`), the table and column comments in the warehouse and the key checks
are derived from the same declarations. No Dagster here: the dictionary is written, and the
declarations checked, without loading the definitions.

    python -m recall_pipeline.schema > docs/data-dictionary.md    (make dictionary)
"""

from __future__ import annotations

import sys

# The comments' SQL is kept apart so that writing a table does not import every table's
# declaration (which would tie each stage's code version to all the others').
from recall_pipeline.comments import (  # noqa: F401 - part of this module's interface
    Dialect,
    comment_statements,
    quote_identifier,
    sql_literal,
)
from recall_pipeline.tables import TableSchema

REGENERATE = "python -m recall_pipeline.schema > docs/data-dictionary.md  (make dictionary)"


def published_tables() -> list[TableSchema]:
    """Every table the pipeline publishes, in the order of the flow: the inputs as accepted,
    the ingestion ledger, matching and its kept roll keys, the verdicts, the determination,
    the audit record and the operations log."""
    from recall_pipeline.audit.certificate import CERTIFICATES
    from recall_pipeline.audit.manifest import RUN_MANIFEST, VERDICT_FINGERPRINTS
    from recall_pipeline.contract import INPUTS
    from recall_pipeline.ingest.pipeline import (
        EXPECTATION_RESULTS,
        INGESTED_FILES,
        NULLED_VALUES,
        PETITIONS,
        QUARANTINED_ROWS,
    )
    from recall_pipeline.operations.failures import RUN_FAILURES
    from recall_pipeline.publication import BOOKKEEPING
    from recall_pipeline.verify import schemas as v
    from recall_pipeline.verify.examination import (
        EXAMINATION_REASONS,
        EXAMINATION_SET,
        EXAMINATION_STATUS,
    )
    from recall_pipeline.verify.incremental import VERDICT_INPUTS

    tables = [
        PETITIONS,
        *(spec.table_schema() for spec in INPUTS),
        QUARANTINED_ROWS,
        NULLED_VALUES,
        INGESTED_FILES,
        EXPECTATION_RESULTS,
        v.LINE_MATCHES,
        v.MATCH_CANDIDATES,
        v.MATCH_MODELS,
        v.ROLL_MATCH_KEYS,
        v.HISTORY_MATCH_KEYS,
        v.ROLL_STATISTICS,
        v.ROLL_NAME_SHARES,
        v.MATCH_KEY_VERSIONS,
        v.LINE_VERDICTS,
        *v.INVALID_TABLES.values(),
        v.CHALLENGES_SET_ASIDE,
        v.REASON_SUMMARY,
        v.REGISTRAR_SUMMARY,
        VERDICT_FINGERPRINTS,
        VERDICT_INPUTS,
        v.SUFFICIENCY_DETERMINATION,
        v.SAMPLE_LINES,
        v.REQUIREMENT_BASES,
        EXAMINATION_STATUS,
        EXAMINATION_REASONS,
        EXAMINATION_SET,
        RUN_MANIFEST,
        CERTIFICATES,
        RUN_FAILURES,
        *BOOKKEEPING,
    ]
    names = [t.name for t in tables]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"tables declared twice: {repeated}")
    return tables


def published_table(name: str) -> TableSchema:
    """The declaration of the published table `name`."""
    for table in published_tables():
        if table.name == name:
            return table
    raise KeyError(f"no published table {name!r}")


# -- comments ----------------------------------------------------------------------------------


# -- the data dictionary -----------------------------------------------------------------------


def _cell(text: str) -> str:
    """`text` in a Markdown table cell: pipes escaped, on one line."""
    return " ".join(text.replace("|", "\\|").split())


def data_dictionary(tables: list[TableSchema] | None = None) -> str:
    """The published data dictionary, in Markdown: per table its description, primary key and
    columns (type, whether it may be empty, description)."""
    tables = published_tables() if tables is None else tables
    out = [
        "# Data dictionary",
        "",
        "<!-- Generated from the table declarations; do not edit by hand. Regenerate with:",
        f"     {REGENERATE} -->",
        "",
        "Every table the pipeline publishes to the warehouse, in the order of the flow. The same "
        "descriptions are the tables' and columns' comments in the warehouse (`\\d+` in psql, "
        "`duckdb_columns()` in DuckDB). Types are the warehouse's: string (text), integer "
        "(64-bit), float (double), boolean, date, timestamp (with time zone, UTC).",
        "",
        "| table | rows are | primary key |",
        "|---|---|---|",
    ]
    for t in tables:
        key = _cell(", ".join(t.primary_key)) if t.primary_key else "none"
        out.append(f"| [{t.name}](#{t.name}) | {_cell(t.description)} | {key} |")
    for t in tables:
        out += ["", f"## {t.name}", "", t.description, ""]
        if t.primary_key:
            key = ", ".join(f"`{c}`" for c in t.primary_key)
            enforced = (
                ""
                if t.key_constraint
                else " (not enforced by the warehouse: at a county's scale its index would cost "
                "more than loading the table; every run checks it before publishing, "
                "`publication.check_keys`)"
            )
            out.append(f"Primary key: {key}{enforced}.")
        else:
            out.append("Primary key: none (see the description).")
        out += ["", "| column | type | empty | description |", "|---|---|---|---|"]
        for c in t.columns:
            empty = "may be empty" if c.nullable else "never"
            out.append(f"| `{_cell(c.name)}` | {c.type} | {empty} | {_cell(c.description)} |")
    return "\n".join(out) + "\n"


def main() -> int:
    sys.stdout.write(data_dictionary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
