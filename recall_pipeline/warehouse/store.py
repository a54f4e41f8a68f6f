"""The warehouse the pipeline publishes to, whatever its database: reads, whole-table and slice
writes, and publications, written once over a `Backend`."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from recall_pipeline.comments import comment_statements
from recall_pipeline.tables import TableSchema
from recall_pipeline.warehouse.backends import Backend, backend_for
from recall_pipeline.warehouse.sql import (
    CURRENT_TABLE,
    STAGE_PREFIX,
    Within,
    all_of,
    column_list,
    is_many,
    matches,
    normalize_arrow,
    publication_schema,
    qualified,
    quote,
    relation_kinds,
    sqlalchemy_table,
    stage_name,
    to_arrow,
)

log = logging.getLogger(__name__)

# Tries at creating a shared table that concurrent producers may be creating too.
_CREATE_ATTEMPTS = 5


class Warehouse:
    """A SQL warehouse (DuckDB file or PostgreSQL database) addressed by one URL."""

    def __init__(
        self,
        url: str | URL,
        *,
        lock_timeout: float = 60.0,
        read_only: bool = False,
        publication: str | None = None,
        pool_size: int | None = None,
    ) -> None:
        """`read_only`: open an existing warehouse for reading only (a DuckDB file must exist,
        and may be a read-only copy; a PostgreSQL session refuses writes). Its reads are pinned
        to the publication current when it first connects, so that every read it makes sees
        the tables of that one publication.

        `publication`: write into that open publication's schema (see
        `recall_pipeline.publication`) and read its tables first, the published ones after.

        `pool_size`: the connections a PostgreSQL engine keeps open (None: SQLAlchemy's 5). A
        server whose every thread holds one while it serves a request sizes it to its threads:
        a connection beyond the pool is closed when handed back and opened again on the next
        busy moment, a new server process each time."""
        self.backend: Backend = backend_for(
            url, read_only=read_only, lock_timeout=lock_timeout, pool_size=pool_size
        )
        self.read_only = read_only
        self.publication = publication
        # The schema whose tables hide the published ones of the same name: the publication
        # being written, or the one a reader is pinned to.
        self._first_schema = publication_schema(publication) if publication else None
        self.lock_timeout = lock_timeout
        self._engine: Engine | None = None
        self._anchor: Any = None
        self._lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------------

    @property
    def url(self) -> URL:
        """The SQLAlchemy URL; its ``str()`` masks the password."""
        return self.backend.url

    @property
    def dialect(self) -> str:
        """``"duckdb"`` or ``"postgresql"``."""
        return self.backend.name

    @property
    def default_schema(self) -> str:
        """The schema holding the published views and the operational tables."""
        return self.backend.default_schema

    def __repr__(self) -> str:
        return f"Warehouse({str(self.url)!r})"

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "lock_timeout": self.lock_timeout,
            "read_only": self.read_only,
            "publication": self.publication,
            "pool_size": self.backend.pool_size,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(
            state["url"],
            lock_timeout=state["lock_timeout"],
            read_only=state.get("read_only", False),
            publication=state.get("publication"),
            pool_size=state.get("pool_size"),
        )

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # -- connections ---------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        """Whether `hold` keeps the file attached now."""
        return self._anchor is not None

    def hold(self) -> Warehouse:
        """Keep an embedded DuckDB file attached to this process until `dispose`.

        Every connection otherwise attaches the file when it opens and, as the last one,
        checkpoints and detaches it when it closes: ~15 ms and more, some 160 times in one run
        of the pipeline (5 s at LA scale). Held, a step attaches the file once; disposing at
        its end detaches it, which also hands back DuckDB's memory before the next step (held
        for a whole run, the peak grew by 0.6-1.1 GB). Other processes wait for the file
        meanwhile (see `lock_timeout`). Call it before the warehouse is shared between threads.
        PostgreSQL and in-memory DuckDB: nothing to do.
        """
        if self.backend.embedded_file and self._anchor is None:
            self._anchor = self.engine.raw_connection()
        return self

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use (with the database / directory)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self.backend.create_engine(self._search_path)
                    if self.read_only and self.publication is None:
                        self._pin_current(self._engine)
        return self._engine

    def _search_path(self) -> list[str]:
        return [s for s in (self._first_schema, self.default_schema) if s]

    def _pin_current(self, engine: Engine) -> None:
        """Read the tables of the publication current now, for as long as this lives."""
        with engine.connect() as conn:
            pointer = CURRENT_TABLE in relation_kinds(conn, self.default_schema)
            current = (
                conn.execute(sa.text(f'SELECT publication_id FROM "{CURRENT_TABLE}"')).scalar()
                if pointer
                else None
            )
        if current is not None:
            self._first_schema = publication_schema(current)
            # Pooled connections were opened without it.
            engine.dispose()

    def dispose(self) -> None:
        """Close all pooled connections. The warehouse can still be used afterwards."""
        with self._lock:
            if self._anchor is not None:
                self._anchor.close()
                self._anchor = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in one transaction, committed when the block ends without error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def quote(self, identifier: str) -> str:
        """`identifier` quoted for this warehouse's SQL."""
        return quote(self.engine, identifier)

    # -- introspection -------------------------------------------------------------------------

    def table_names(self, *, include_staging: bool = False) -> list[str]:
        """The tables and views a query names without a schema, sorted: the publication's own
        (or the pinned one's) and the default schema's; staging tables only if asked for."""
        names = set(self.relations())
        if not include_staging:
            names = {n for n in names if not n.startswith(STAGE_PREFIX)}
        return sorted(names)

    def relations(self, schemas: list[str] | None = None) -> list[str]:
        """The tables and views of `schemas` (default: those a query sees without naming one)."""
        schemas = schemas or self._search_path()
        with self._connect() as conn:
            return [name for schema in schemas for name in relation_kinds(conn, schema)]

    def table_exists(self, name: str) -> bool:
        return name in self.relations()

    def column_names(self, name: str) -> list[str]:
        """The columns of table `name`, in order (empty when it does not exist)."""
        with self._connect() as conn:
            return _column_names(conn, name) if self.table_exists(name) else []

    def row_count(self, name: str) -> int:
        stmt = sa.select(sa.func.count()).select_from(_table_clause(name))
        with self._connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- SQL -----------------------------------------------------------------------------------

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a (small) query with ``:name`` bound parameters into a DataFrame."""
        with self._connect() as conn:
            result = conn.execute(sa.text(sql), dict(params or {}))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def count_by(
        self,
        table: str,
        by: list[str],
        where: Mapping[str, object] | None = None,
        least: str | None = None,
    ) -> pd.DataFrame:
        """How many rows (matching `where`) hold each distinct combination of `by` (column
        `rows`), and the least value of column `least` among them, counted in the warehouse."""
        with self._connect() as conn:
            cols = column_list(conn, by)
            extra = f", min({quote(conn, least)}) AS {quote(conn, least)}" if least else ""
            stmt = f"SELECT {cols}, count(*) AS {quote(conn, 'rows')}{extra} "
            stmt += f"FROM {quote(conn, table)}"
            if where:
                stmt += f" WHERE {self.condition(where)}"
            stmt += f" GROUP BY {cols}"
            result = conn.exec_driver_sql(stmt)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement in its own transaction.

        Returns the driver's rowcount (-1 where the driver does not report it, as for DuckDB).
        """
        with self.engine.begin() as conn:
            return conn.execute(sa.text(sql), dict(params or {})).rowcount

    def condition(self, where: Mapping[str, object]) -> str:
        """`where` (as `read` takes it) as SQL text, values rendered as literals by the
        dialect's own quoting: the bulk read paths (DuckDB's Arrow fetch, PostgreSQL's COPY)
        take no bound parameters."""
        return str(
            all_of(where).compile(
                dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )

    # -- reading -------------------------------------------------------------------------------

    def read(
        self,
        table: str | TableSchema,
        columns: list[str] | None = None,
        where: Mapping[str, object] | None = None,
    ) -> pa.Table:
        """Read a whole table (or some `columns`, or the rows matching `where`) into Arrow.

        `where` maps columns to a value or a list of values (as `replace_where` does). Given a
        `TableSchema` instead of a name, the result is conformed to that schema.
        """
        return self._read(table, columns, where, large_strings=False)

    def read_frame(
        self,
        table: str | TableSchema,
        columns: list[str] | None = None,
        where: Mapping[str, object] | None = None,
        *,
        date_as_object: bool = True,
    ) -> pd.DataFrame:
        """`read` into a pandas frame (dates as `datetime.date`, or as datetime64 when not
        `date_as_object`).

        DuckDB hands text over as Arrow large strings, the layout pandas keeps its text in, so
        no column is copied on the way (a second or more for the roll's few million rows).
        """
        result = self._read(table, columns, where, large_strings=True)
        return result.to_pandas(date_as_object=date_as_object)

    def _read(
        self,
        table: str | TableSchema,
        columns: list[str] | None,
        where: Mapping[str, object] | None,
        *,
        large_strings: bool,
    ) -> pa.Table:
        schema = table if isinstance(table, TableSchema) else None
        name = schema.name if schema else str(table)
        if columns is None and schema is not None:
            columns = schema.column_names
        with self._connect() as conn:
            if columns is None:
                columns = _column_names(conn, name)
            stmt = f"SELECT {column_list(conn, columns)} FROM {quote(conn, name)}"
            if where:
                stmt += f" WHERE {self.condition(where)}"
            result = self.backend.read(conn, stmt, columns, large_strings)
        if schema is not None:
            return schema.conform(normalize_arrow(result))
        return normalize_arrow(result, large_strings=large_strings)

    # -- publishing ----------------------------------------------------------------------------

    def publish(
        self,
        schema: TableSchema,
        data: pa.Table | pd.DataFrame,
        *,
        replace_where: Mapping[str, object] | None = None,
        replace_keys: list[str] | None = None,
    ) -> int:
        """Publish `data` as table `schema.name`; returns the number of rows written.

        Without `replace_where` the whole table is replaced atomically; with it only the rows
        matching those column equalities are, and with `replace_keys` also the rows whose key
        occurs in `data` (see the package docstring).
        """
        table = schema.conform(to_arrow(data))
        started = time.perf_counter()
        if replace_where is None and not replace_keys:
            self._publish_replace(schema, table)
        else:
            self._publish_slice(schema, table, dict(replace_where or {}), replace_keys)
        log.info(
            "published %d rows to %s%s in %.2fs",
            table.num_rows,
            schema.name,
            f" where {replace_where}" if replace_where is not None else "",
            time.perf_counter() - started,
        )
        return table.num_rows

    def publish_selection(
        self,
        schema: TableSchema,
        source: str,
        where: Mapping[str, object],
        *,
        replace_where: Mapping[str, object] | None = None,
    ) -> int:
        """Replace table `schema.name` with the rows of table `source` matching `where` (or
        only its rows matching `replace_where`, with the source's rows matching both); returns
        the table's row count."""
        started = time.perf_counter()
        if replace_where is None:
            self._publish_replace(schema, self._selection(source, dict(where)))
        else:
            self._copy_slice(schema, source, dict(where), dict(replace_where))
        rows = self.row_count(schema.name)
        log.info(
            "published %d rows to %s from %s where %s in %.2fs",
            rows,
            schema.name,
            source,
            where,
            time.perf_counter() - started,
        )
        return rows

    def _selection(self, source: str, *conditions: Mapping[str, object]) -> str:
        """The FROM clause selecting `source`'s rows matching every one of `conditions`."""
        clause = f"FROM {self.quote(source)}"
        parts = [f"({self.condition(c)})" for c in conditions if c]
        return clause + (" WHERE " + " AND ".join(parts) if parts else "")

    def _fill(self, conn: Connection, target: str, schema: TableSchema, rows: pa.Table | str):
        """Add `rows` to table `target` (quoted, perhaps qualified) in the connection's
        transaction: an Arrow table, or a FROM clause selecting them in the warehouse. Every
        write of a publish ends here, before its commit."""
        if isinstance(rows, pa.Table):
            self.backend.bulk_load(conn, target, schema.column_names, rows)
        else:
            self.backend.insert_select(conn, target, schema.column_names, rows)

    def _table(self, schema: TableSchema, *args: Any, **kwargs: Any) -> sa.Table:
        """`sqlalchemy_table` with the text compression this warehouse can store."""
        return sqlalchemy_table(schema, *args, text_compression=self._text_compression, **kwargs)

    @functools.cached_property
    def _text_compression(self) -> str | None:
        with self._connect() as conn:
            return self.backend.text_compression(conn)

    def _publish_replace(self, schema: TableSchema, rows: pa.Table | str) -> None:
        name = schema.name
        if self.publication:
            # Nobody reads the publication's schema but the publication itself until it
            # commits: the table is written in place.
            stage, into = name, publication_schema(self.publication)
        else:
            stage, into = stage_name(name), None
        stage_table = self._table(
            schema, sa.MetaData(), stage, pk_name=self.backend.pk_name(stage), db_schema=into
        )
        with self._connect() as conn:
            target = qualified(conn, stage, into)
            if into is None:
                self._drop_leftover_stages(conn, name)
            with conn.begin():
                if into is not None:
                    conn.execute(sa.schema.DropTable(stage_table, if_exists=True))
                stage_table.create(conn)
                self.set_comments(conn, schema, target)
                self._fill(conn, target, schema, rows)
                if into is None:
                    self.backend.swap(conn, stage, name, keyed=bool(schema.constraint_key))

    def _drop_leftover_stages(self, conn: Connection, name: str) -> None:
        """Drop committed staging tables of `name`, which only a crash of a process that staged
        in a transaction of its own could have left."""
        pattern = re.compile(rf"{re.escape(STAGE_PREFIX + name)}_[0-9a-f]{{8}}")
        leftovers = [n for n in sa.inspect(conn).get_table_names() if pattern.fullmatch(n)]
        conn.rollback()  # end the inspection's implicit transaction
        if not leftovers:
            return
        with conn.begin():
            for leftover in leftovers:
                log.warning("dropping leftover staging table %s", leftover)
                conn.execute(
                    sa.schema.DropTable(
                        sa.Table(leftover, sa.MetaData(), quote=True), if_exists=True
                    )
                )

    def _slice_target(self, schema: TableSchema) -> sa.Table:
        """The table a slice is written into: the publication's own, or the default schema's."""
        into = publication_schema(self.publication) if self.publication else None
        return self._table(
            schema, sa.MetaData(), pk_name=self.backend.pk_name(schema.name), db_schema=into
        )

    def _publish_slice(
        self,
        schema: TableSchema,
        table: pa.Table,
        where: dict[str, object],
        keys: list[str] | None,
    ) -> None:
        _check_in_slice(schema, table, where, keys)
        target = self._slice_target(schema)
        condition = (
            sa.and_(*(matches(target.c[col], value) for col, value in where.items()))
            if where
            else sa.false()
        )
        with self._connect() as conn:
            into = qualified(conn, schema.name, target.schema)
            self._ensure_table(conn, target, schema, where)
            with conn.begin(), self.backend.staged(conn, schema, table) as stage:
                conn.execute(sa.delete(target).where(condition))
                if keys:
                    cols = column_list(conn, keys)
                    conn.exec_driver_sql(
                        f"DELETE FROM {into} WHERE ({cols}) IN (SELECT {cols} FROM {stage})"
                    )
                self._fill(conn, into, schema, f"FROM {stage}")

    def _copy_slice(
        self,
        schema: TableSchema,
        source: str,
        where: dict[str, object],
        replace_where: dict[str, object],
    ) -> None:
        if not replace_where:
            raise ValueError("replace_where must name at least one column")
        target = self._slice_target(schema)
        selection = self._selection(source, where, replace_where)
        with self._connect() as conn:
            self._ensure_table(conn, target, schema, replace_where)
            with conn.begin():
                conn.execute(
                    sa.delete(target).where(
                        sa.and_(*(matches(target.c[c], v) for c, v in replace_where.items()))
                    )
                )
                self._fill(conn, qualified(conn, schema.name, target.schema), schema, selection)

    def _ensure_table(
        self,
        conn: Connection,
        target: sa.Table,
        schema: TableSchema,
        replaced: dict[str, object] | None = None,
    ) -> None:
        """Create the table a slice is written into if absent (in its own transaction): in a
        publication, a copy of the published table's rows outside the `replaced` slice, which
        the publication keeps."""
        # One look at the default schema: what the publication copies, or must not write.
        kind = relation_kinds(conn, self.default_schema).get(schema.name)
        conn.rollback()
        published = target.schema is not None and kind is not None
        if target.schema is None and kind == "VIEW":
            # Rows changed through the view would change a committed publication in place.
            raise ValueError(
                f"table {schema.name} is published by runs: write it in a publication "
                "(Warehouse(url, publication=...)), not directly"
            )
        into = qualified(conn, target.name, target.schema)
        for attempt in range(_CREATE_ATTEMPTS):
            exists = sa.inspect(conn).has_table(target.name, schema=target.schema)
            conn.rollback()
            if exists:
                break
            try:
                with conn.begin():
                    target.create(conn)
                    self.set_comments(conn, schema, into)
                    if published:
                        _check_columns(conn, quote(conn, schema.name), schema)
                        # Rows the slice replaces are not copied only to be deleted (the whole
                        # roll's keys, when its one jurisdiction's are kept again).
                        outside = (
                            f" WHERE ({self.condition(replaced)}) IS NOT TRUE" if replaced else ""
                        )
                        source = f"FROM {qualified(conn, schema.name, self.default_schema)}"
                        self.backend.insert_select(
                            conn, into, schema.column_names, source + outside
                        )
                break
            except sa.exc.DBAPIError:
                # Lost a creation race against another producer, which may not have committed
                # yet (DuckDB refuses the second create at once): look again shortly.
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
        _check_columns(conn, into, schema)
        conn.rollback()

    def set_comments(
        self, conn: Connection, schema: TableSchema, qualified: str, relation: str = "TABLE"
    ) -> None:
        """Comment table `qualified` (quoted, perhaps qualified) and its columns with
        `schema`'s descriptions, in the caller's transaction (what `\\d+` and `duckdb_columns()`
        show)."""
        for statement in comment_statements(schema, self.dialect, qualified, relation):
            self.backend.run(conn, statement)


def _table_clause(name: str) -> sa.TableClause:
    return sa.table(sa.quoted_name(name, quote=True))


def _column_names(conn: Connection, name: str) -> list[str]:
    result = conn.execute(sa.select(sa.text("*")).select_from(_table_clause(name)).limit(0))
    return list(result.keys())


def _check_columns(conn: Connection, table: str, schema: TableSchema) -> None:
    existing = list(conn.exec_driver_sql(f"SELECT * FROM {table} LIMIT 0").keys())
    if existing != schema.column_names:
        raise ValueError(
            f"table {schema.name} exists with columns {existing}, but the schema declares "
            f"{schema.column_names}; publish the whole table (without replace_where) first"
        )


def _check_in_slice(
    schema: TableSchema, table: pa.Table, where: dict[str, object], keys: list[str] | None
) -> None:
    """Every row being published must lie in the slice it replaces (unless rows are replaced
    by key, which may lie outside it)."""
    if not where and not keys:
        raise ValueError("replace_where must name at least one column")
    arrow_schema = schema.arrow_schema()
    for col in [*where, *(keys or [])]:
        if col not in schema.column_names:
            raise ValueError(f"replace_where column {col!r} is not in table {schema.name}")
    for col, value in where.items():
        if isinstance(value, Within):
            raise ValueError(f"replace_where column {col!r}: Within is for reads only")
        if table.num_rows == 0 or keys:
            continue
        values = table[col]
        if value is None:
            ok = values.null_count == len(values)
        elif is_many(value):
            allowed = pa.array(list(value), type=arrow_schema.field(col).type)
            ok = pc.all(pc.is_in(values, value_set=allowed)).as_py() and not values.null_count
        else:
            scalar = pa.scalar(value, type=arrow_schema.field(col).type)
            ok = pc.all(pc.fill_null(pc.equal(values, scalar), False)).as_py()
        if not ok:
            raise ValueError(
                f"table {schema.name}: rows being published do not all have "
                f"{col} {'in' if is_many(value) else '=='} {value!r}, so they are outside "
                "the replace_where slice"
            )
