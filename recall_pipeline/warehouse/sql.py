"""What both backends share: table DDL from the declarations, row conditions, names of the
schemas a publication uses, and Arrow tables as the warehouse takes and gives them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recall_pipeline.tables import Column, TableSchema

SQL_TYPES: dict[str, Callable[[], sa.types.TypeEngine]] = {
    "string": sa.Text,
    "integer": sa.BigInteger,
    "float": sa.Double,
    "boolean": sa.Boolean,
    "date": sa.Date,
    "timestamp": lambda: sa.DateTime(timezone=True),
}

STAGE_PREFIX = "_stage_"
# The one-row table naming the current publication (see recall_pipeline.publication).
CURRENT_TABLE = "publication_current"
PUBLICATION_SCHEMA_PREFIX = "publication_"
_PUBLICATION_ID = re.compile(r"[0-9a-z_]{1,40}")
PG_MAX_IDENTIFIER = 63
# Where `sqlalchemy_table` leaves a column's DuckDB compression for the DDL compiler.
COMPRESSION_INFO = "recall_compression"


def sqlalchemy_table(
    schema: TableSchema,
    metadata: sa.MetaData,
    name: str | None = None,
    *,
    pk_name: str | None = None,
    text_compression: str | None = None,
    db_schema: str | None = None,
    **table_kwargs: Any,
) -> sa.Table:
    """The SQLAlchemy `Table` for `schema` (optionally under another `name`), its primary key
    declared when `schema.key_constraint` says so. On DuckDB, text that is not `compressible` is
    stored uncompressed, and other text with `text_compression` when given. The comments are
    set apart, by `comment_statements` (`Warehouse.set_comments`)."""
    columns: list[sa.SchemaItem] = [
        sa.Column(
            c.name,
            SQL_TYPES[c.type](),
            nullable=c.nullable,
            autoincrement=False,  # an integer primary key is data, never a SERIAL
            quote=True,  # always quoted: DuckDB reserves words PostgreSQL does not (e.g. "at")
            info={COMPRESSION_INFO: _compression(c, text_compression)},
        )
        for c in schema.columns
    ]
    if schema.constraint_key:
        columns.append(sa.PrimaryKeyConstraint(*schema.constraint_key, name=pk_name))
    return sa.Table(
        name or schema.name, metadata, *columns, quote=True, schema=db_schema, **table_kwargs
    )


def _compression(column: Column, text_compression: str | None) -> str | None:
    if column.type != "string":
        return None
    return text_compression if column.compressible else "uncompressed"


def quote(conn: Connection | sa.Engine, identifier: str) -> str:
    """`identifier` quoted by SQLAlchemy -- always, as the DDL does (see sqlalchemy_table)."""
    return conn.dialect.identifier_preparer.quote_identifier(identifier)


def column_list(conn: Connection | sa.Engine, names: list[str]) -> str:
    return ", ".join(quote(conn, n) for n in names)


def qualified(conn: Connection | sa.Engine, name: str, schema: str | None) -> str:
    return f"{quote(conn, schema)}.{quote(conn, name)}" if schema else quote(conn, name)


@contextmanager
def driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise errors of raw-driver calls as SQLAlchemy's (IntegrityError, ...) like the rest."""
    base = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, base) from exc


def stage_name(table_name: str) -> str:
    """A fresh name for staging `table_name`'s rows."""
    stage = f"{STAGE_PREFIX}{table_name}_{uuid.uuid4().hex[:8]}"
    if len(stage.encode()) > PG_MAX_IDENTIFIER:
        raise ValueError(
            f"table name {table_name!r} is too long: at most "
            f"{PG_MAX_IDENTIFIER - len(STAGE_PREFIX) - 9} bytes are supported"
        )
    return stage


def relation_kinds(conn: Connection, schema: str) -> dict[str, str]:
    """Each table and view of `schema`, by name: "VIEW" or "TABLE"."""
    rows = conn.execute(
        sa.text(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = :schema"
        ),
        {"schema": schema},
    )
    return {name: "VIEW" if "VIEW" in kind.upper() else "TABLE" for name, kind in rows}


def publication_schema(publication_id: str) -> str:
    """The schema holding what publication `publication_id` writes."""
    if not _PUBLICATION_ID.fullmatch(publication_id):
        raise ValueError(f"not a publication id: {publication_id!r}")
    return PUBLICATION_SCHEMA_PREFIX + publication_id


def to_arrow(data: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"expected a pyarrow.Table or pandas.DataFrame, got {type(data).__name__}")


def normalize_arrow(table: pa.Table, *, large_strings: bool = False) -> pa.Table:
    """Plain strings (or large ones, if asked) and UTC timestamps, whatever the driver handed
    back."""
    fields = []
    for f in table.schema:
        t = f.type
        if large_strings and pa.types.is_large_string(t):
            pass
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        elif pa.types.is_timestamp(t) and t.tz is not None:
            t = pa.timestamp(t.unit, tz="UTC")
        fields.append(pa.field(f.name, t))
    target = pa.schema(fields)
    return table if target.equals(table.schema) else table.cast(target)


def is_many(value: object) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


@dataclass(frozen=True)
class Within:
    """A value of `read`'s `where`: the column's value is among those of `column` in `table`
    (in its rows matching `where`, if given; a list of mappings: rows matching any of them) — a
    semi-join done by the warehouse, for value sets too large to send as a list."""

    table: str
    column: str
    where: Mapping[str, object] | list[Mapping[str, object]] | None = None


def matches(column: sa.ColumnElement, value: object) -> sa.ColumnElement[bool]:
    """`column = value`, `column IS NULL`, `column IN (values)` for a list of values, or
    `column IN (SELECT ...)` for `Within`."""
    if isinstance(value, Within):
        source = sa.column(sa.quoted_name(value.column, quote=True))
        table = sa.table(sa.quoted_name(value.table, quote=True))
        inner = sa.select(source).select_from(table)
        if value.where:
            alternatives = value.where if isinstance(value.where, list) else [value.where]
            inner = inner.where(sa.or_(*(all_of(where) for where in alternatives)))
        return column.in_(inner)
    if is_many(value):
        return column.in_(sorted(value))
    return column.is_(None) if value is None else column == value


def all_of(where: Mapping[str, object]) -> sa.ColumnElement[bool]:
    """Every column of `where` matching its value (see `matches`)."""
    return sa.and_(
        *(matches(sa.column(sa.quoted_name(c, quote=True)), v) for c, v in where.items())
    )
