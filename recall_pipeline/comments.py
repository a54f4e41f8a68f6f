"""The SQL that puts a table's descriptions where the warehouses show them: `COMMENT ON`."""

from __future__ import annotations

from typing import Literal

from recall_pipeline.tables import TableSchema

Dialect = Literal["duckdb", "postgresql"]


def sql_literal(text: str) -> str:
    """`text` as a standard SQL string literal (quotes doubled; a backslash is itself in both
    dialects: PostgreSQL's standard_conforming_strings has been on by default since 9.1)."""
    if "\x00" in text:
        raise ValueError("a comment cannot hold a NUL character")
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (both dialects quote with double quotes)."""
    return '"' + name.replace('"', '""') + '"'


def comment_statements(
    schema: TableSchema, dialect: Dialect, qualified_name: str, relation: str = "TABLE"
) -> list[str]:
    """The statements that set the comment of table `qualified_name` (quoted, and qualified as
    the caller needs: `"main"."t"`, `"run_42"."t"`) and of each of its columns, from `schema`'s
    descriptions. Columns without a description get none (a comment is never set empty).

    Both dialects take `COMMENT ON TABLE t IS '...'` and `COMMENT ON COLUMN t.c IS '...'`
    (DuckDB since 0.10); they are run in the transaction that creates the table, so a table is
    never visible without them."""
    if dialect not in ("duckdb", "postgresql"):
        raise ValueError(f"unsupported dialect {dialect!r}")
    statements = []
    if schema.description:
        statements.append(
            f"COMMENT ON {relation} {qualified_name} IS {sql_literal(schema.description)}"
        )
    for column in schema.columns:
        if column.description:
            statements.append(
                f"COMMENT ON COLUMN {qualified_name}.{quote_identifier(column.name)} "
                f"IS {sql_literal(column.description)}"
            )
    return statements
