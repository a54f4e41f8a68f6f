"""Table schemas declared once, as data.

Every table the pipeline publishes is described by a `TableSchema`; the warehouse DDL and its
comments, the Arrow casts, the key checks and the published data dictionary
(`docs/data-dictionary.md`, see `recall_pipeline.schema`) are all derived from it, so a column
is added, retyped or described in exactly one place.

The fields many tables share -- the line key, the provenance of a row, the ids of a petition, a
registration, a jurisdiction and a run -- are declared once below and used by every schema that
holds them, so they read the same in every table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    # The columns that identify a row: what the data satisfies, checked by the key check
    # (`recall_pipeline.checks.key_check`). Empty when no set of columns does (the description
    # then says why).
    primary_key: tuple[str, ...] = field(default_factory=tuple)
    # Whether the warehouse DDL declares `primary_key` as a PRIMARY KEY constraint. Off for the
    # tables of millions of rows: DuckDB keeps such a key in an index that costs several times
    # the load itself (6M roll keys: 27-62 s instead of 6-7 s) and more memory. Their key
    # holds by construction, and every run checks it before it publishes
    # (`recall_pipeline.publication.check_keys`).
    key_constraint: bool = True

    def __post_init__(self) -> None:
        names = self.column_names
        repeated = sorted({n for n in names if names.count(n) > 1})
        unknown = [k for k in self.primary_key if k not in names]
        if repeated or unknown:
            raise ValueError(
                f"table {self.name}: columns declared twice {repeated}, "
                f"key columns not declared {unknown}"
            )
        nullable = [c.name for c in self.columns if c.name in self.primary_key and c.nullable]
        if nullable:
            raise ValueError(f"table {self.name}: key columns {nullable} may not be empty")

    @property
    def constraint_key(self) -> tuple[str, ...]:
        """The key the DDL declares as PRIMARY KEY (empty when `key_constraint` is off)."""
        return self.primary_key if self.key_constraint else ()

    @property
    def required_columns(self) -> list[str]:
        """The columns that are never empty."""
        return [c.name for c in self.columns if not c.nullable]

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


# -- fields shared by many tables ---------------------------------------------------------------

PETITION_ID = Column(
    "petition_id",
    "string",
    False,
    "the petition: its folder under petitions/ (and the petition_id of its petition.yaml)",
)
# In the tables about files and rows of any input: the inputs every petition shares have none.
PETITION_ID_OF_FILE = replace(
    PETITION_ID,
    nullable=True,
    description="the petition whose folder holds the file; empty for the inputs every petition "
    "shares (the roll, its address history, the reference tables)",
)
SECTION_ID = Column(
    "section_id", "string", False, "a circulated section of the petition, by its id in sections.csv"
)
PAGE = Column("page", "integer", False, "a page of the section")
LINE = Column("line", "integer", False, "a line of the page")
# A petition line: what every table about lines is keyed by.
LINE_KEY = (PETITION_ID, SECTION_ID, PAGE, LINE)
LINE_KEY_COLUMNS = [c.name for c in LINE_KEY]

# Where a row of an input came from (its provenance), in every table of input rows.
SOURCE_FILE = Column("source_file", "string", False, "input file, relative to the data directory")
SOURCE_ROW = Column(
    "source_row",
    "integer",
    False,
    "the row's physical line in the file, the header being line 1 (Parquet: record)",
)
SOURCE_SHA256 = Column("source_sha256", "string", False, "SHA-256 of the whole input file")
PROVENANCE = (SOURCE_FILE, SOURCE_ROW, SOURCE_SHA256)

INPUT_NAME = Column(
    "input_name",
    "string",
    False,
    "the input of the data contract the file or row belongs to (voter_roll, petition_lines, ...)",
)
# Nearly every value distinct: stored as it is (see Column.compressible).
VOTER_ID = Column(
    "voter_id",
    "string",
    False,
    "a registration's id on the roll (voter_roll.voter_id)",
    compressible=False,
)
MATCHED_VOTER_ID = Column(
    "voter_id",
    "string",
    True,
    "the registration (voter_roll.voter_id) the line is matched to; empty when none",
)
JURISDICTION_CODE = Column(
    "jurisdiction_code", "string", False, "a county's or city's code, as jurisdictions lists it"
)
RUN_ID = Column(
    "run_id",
    "string",
    False,
    "the Dagster run that wrote the row; its page in the Dagster UI has the run's logs",
)
