"""What a data check returns, independent of Dagster: pass/fail and JSON-able metadata.

Metadata is written to Dagster's event log, so it carries counts, file names, row numbers and
identifying keys only — never a name, an address or a birth date.

`key_check` checks a published table against its declaration (`TableSchema`): its primary key
unique and its required columns never empty, counted in the warehouse. (Not yet a step of the
runs: as separate Dagster steps the checks cost more than the whole verification of a batch;
they belong inside the asset steps.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recall_pipeline.tables import TableSchema

if TYPE_CHECKING:
    from recall_pipeline.warehouse import Warehouse


@dataclass
class CheckOutcome:
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class KeyCheck:
    """What `key_check` found in a published table (or a slice of it)."""

    table: str
    primary_key: tuple[str, ...]
    rows: int
    # Key values held by more than one row, and the rows beyond the first of each.
    duplicate_keys: int
    duplicate_rows: int
    # Per column declared never empty: its empty values.
    null_counts: dict[str, int]
    published: bool = True
    # The columns the slice checked was selected by (their values are left out: they may name
    # a voter).
    slice_columns: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.published and self.duplicate_keys == 0 and not any(self.null_counts.values())

    @property
    def metadata(self) -> dict[str, Any]:
        """Counts and column names only: never a value of the table."""
        return {
            "table": self.table,
            "primary_key": list(self.primary_key) or "none declared",
            "slice_columns": list(self.slice_columns) or "whole table",
            "published": self.published,
            "rows_checked": self.rows,
            "duplicate_keys": self.duplicate_keys,
            "duplicate_rows": self.duplicate_rows,
            "required_columns": len(self.null_counts),
            "empty_required_values": {c: n for c, n in self.null_counts.items() if n},
        }


def key_check(
    store: Warehouse,
    schema: TableSchema,
    where: Mapping[str, object] | None = None,
    *,
    exists: bool | None = None,
) -> KeyCheck:
    """Whether table `schema.name` (its rows matching `where`, as `Warehouse.read` takes it)
    holds each value of the declared primary key once, and no empty value in a column declared
    never empty -- counted in the warehouse, whatever the DDL enforces (a table created before
    its constraints, a key kept without one: `TableSchema.key_constraint`). `exists`: whether
    the caller already knows the table is there (else it is looked up)."""
    required = schema.required_columns
    if not (store.table_exists(schema.name) if exists is None else exists):
        return KeyCheck(
            schema.name, schema.primary_key, 0, 0, 0, {c: 0 for c in required}, published=False
        )
    quote = store.engine.dialect.identifier_preparer.quote_identifier
    condition = f" WHERE {store.condition(where)}" if where else ""
    rows_of = f"FROM {quote(schema.name)}{condition}"
    empties = "".join(f", count(*) - count({quote(c)}) AS n{i}" for i, c in enumerate(required))
    # The slice is SQL text with its values as literals (`Warehouse.condition`): run as it is,
    # not as a statement with bound parameters (a value holding ':x' or '%' stays a value).
    with store.engine.connect() as conn:
        counts = conn.exec_driver_sql(f"SELECT count(*) AS n_rows{empties} {rows_of}")
        counts = counts.mappings().one()
        duplicate_keys = duplicate_rows = 0
        if schema.primary_key:
            key = ", ".join(quote(c) for c in schema.primary_key)
            found = (
                conn.exec_driver_sql(
                    "SELECT count(*) AS n_keys, coalesce(sum(n - 1), 0) AS n_extra FROM ("
                    f"SELECT count(*) AS n {rows_of} GROUP BY {key} HAVING count(*) > 1"
                    ") AS repeated"
                )
                .mappings()
                .one()
            )
            duplicate_keys, duplicate_rows = int(found["n_keys"]), int(found["n_extra"])
    return KeyCheck(
        table=schema.name,
        primary_key=schema.primary_key,
        rows=int(counts["n_rows"]),
        duplicate_keys=duplicate_keys,
        duplicate_rows=duplicate_rows,
        null_counts={c: int(counts[f"n{i}"]) for i, c in enumerate(required)},
        slice_columns=tuple(where or ()),
    )
