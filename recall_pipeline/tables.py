"""Table schemas declared once, as data.

Every table the pipeline publishes is described by a `TableSchema`; the warehouse DDL, the Arrow
casts and the published data dictionary are all derived from it, so a column is added or
retyped in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

ColumnType = Literal["string", "integer", "float", "boolean", "date", "timestamp"]

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "string"
    nullable: bool = True
    description: str = ""
    # False for text whose values are (nearly) all distinct -- ids, address keys. The embedded
    # warehouse then stores the column as it is: its dictionary and FSST analysis costs more
    # CPU at load than it saves on values that do not repeat. PostgreSQL ignores it.
    compressible: bool = True


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    description: str = ""
    primary_key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns]
        )

    def conform(self, data: pa.Table) -> pa.Table:
        """Select and cast `data` to exactly this schema's columns, in order."""
        missing = [n for n in self.column_names if n not in data.column_names]
        if missing:
            raise ValueError(f"table {self.name}: data lacks columns {missing}")
        return data.select(self.column_names).cast(self.arrow_schema())
