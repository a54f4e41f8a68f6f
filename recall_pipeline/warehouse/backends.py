"""One backend per database, behind one small interface: connect, load rows in bulk, stage a
slice's rows, swap a staged table into place, read rows out as Arrow, and hold the warehouse
for one run. `recall_pipeline.warehouse.store` writes the publishing logic once on top.

* `DuckDBBackend`: an embedded file (or ``:memory:``). DuckDB lets one process at a time write a
  file, so connections are opened per operation and closed straight after, and a process that
  finds the file locked by another waits up to its `lock_timeout`. Arrow tables are loaded
  and read through DuckDB's own Arrow scans.
* `PostgresBackend`: psycopg 3. The database is created on first use; rows go in and come out
  by ``COPY`` in CSV, written and parsed by Arrow's C++ CSV code.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import os
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import duckdb_engine
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool, StaticPool
from sqlalchemy.schema import CreateColumn

from recall_pipeline.tables import TableSchema
from recall_pipeline.warehouse.sql import (
    COMPRESSION_INFO,
    column_list,
    driver_errors,
    quote,
    sqlalchemy_table,
    stage_name,
)

log = logging.getLogger(__name__)


class WarehouseUnavailable(Exception):
    """The warehouse cannot be opened as asked (e.g. no file to read)."""


@dataclass(frozen=True)
class LeaseLock:
    """One attempt at holding the warehouse (`attempt`, true when held), and who holds it
    otherwise (`holder`)."""

    attempt: Callable[[], bool]
    holder: Callable[[], str]


class Backend(ABC):
    """What differs between the databases a warehouse can be."""

    name: ClassVar[str]
    # Where the published views and the operational tables live.
    default_schema: ClassVar[str]

    def __init__(
        self, url: URL, *, read_only: bool, lock_timeout: float, pool_size: int | None = None
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.lock_timeout = lock_timeout
        self.pool_size = pool_size

    @abstractmethod
    def create_engine(self, search_path: Callable[[], list[str]]) -> Engine:
        """The engine; each connection reads the schemas `search_path()` names, in order."""

    @property
    def embedded_file(self) -> bool:
        """Whether the warehouse is a file this process attaches (see `Warehouse.hold`)."""
        return False

    def pk_name(self, table_name: str) -> str | None:
        """The name a table's primary key constraint is given, where the database needs one
        apart from the table's (None: the database names it)."""
        return None

    def text_compression(self, conn: Connection) -> str | None:
        """The compression text columns are declared with (None: the database's choice)."""
        return None

    @abstractmethod
    def bulk_load(self, conn: Connection, target: str, columns: list[str], rows: pa.Table) -> None:
        """Append `rows` to table `target` (quoted, perhaps qualified) in the connection's
        transaction."""

    def insert_select(self, conn: Connection, target: str, columns: list[str], source: str):
        """Append to `target` the `columns` that ``SELECT ... {source}`` gives (`source`: a
        FROM clause, perhaps with a WHERE)."""
        cols = column_list(conn, columns)
        conn.exec_driver_sql(f"INSERT INTO {target} ({cols}) SELECT {cols} {source}")

    @abstractmethod
    @contextmanager
    def staged(self, conn: Connection, schema: TableSchema, rows: pa.Table) -> Iterator[str]:
        """`rows` readable by SQL under the quoted name yielded, until the block ends (and at
        most for the connection's transaction)."""

    def swap(self, conn: Connection, stage: str, name: str, keyed: bool) -> None:
        """Replace table `name` by the staged table `stage` (the default schema's), in the
        connection's transaction; `keyed`: the stage declares a primary key."""
        conn.execute(sa.schema.DropTable(sa.Table(name, sa.MetaData(), quote=True), if_exists=True))
        conn.exec_driver_sql(f"ALTER TABLE {quote(conn, stage)} RENAME TO {quote(conn, name)}")

    @abstractmethod
    def read(
        self, conn: Connection, statement: str, columns: list[str], large_strings: bool
    ) -> pa.Table:
        """The rows of `statement` (a SELECT of `columns`, in that order) as Arrow; text as
        large strings when `large_strings`, where the database hands them so."""

    @abstractmethod
    def run(self, conn: Connection, statement: str) -> None:
        """Run `statement` as it is, without parameters, in the connection's transaction."""

    @abstractmethod
    def comments(
        self, conn: Connection, schema: str, name: str
    ) -> tuple[str | None, list[tuple[str, str | None]]]:
        """The comment of table `schema`.`name` and of each of its columns, in order."""

    @abstractmethod
    @contextmanager
    def lease_lock(self, engine: Engine) -> Iterator[LeaseLock]:
        """A lock on the whole warehouse that dies with the process holding it; released when
        the block ends."""


# -- DuckDB ------------------------------------------------------------------------------------

# Oldest DuckDB able to read the files this writes; no newer than the lowest supported duckdb.
DUCKDB_STORAGE_VERSION = "v1.3.0"
# DuckDB's row group size.
_DUCKDB_BATCH_ROWS = 122_880
# See _TurnTakingDuckDB.
_DUCKDB_ATTACH = threading.Lock()
# DuckDB's combined dictionary and FSST compression, in the storage format since v1.3.0. Forced
# on compressible text, it spares the analysis of every other method for each segment: the roll
# loads with about a fifth less CPU, into a file of the same size.
_TEXT_COMPRESSION = "dict_fsst"
_TEXT_COMPRESSION_SINCE = (1, 3, 0)
_DRIVER = "recall_pipeline"


@compiles(CreateColumn, "duckdb")
def _duckdb_column(element: CreateColumn, compiler: Any, **kw: Any) -> str:
    """DuckDB's column DDL, with the column's compression when `sqlalchemy_table` chose one."""
    text = compiler.visit_create_column(element, **kw)
    compression = element.element.info.get(COMPRESSION_INFO)
    if text is not None and compression:
        text += f" USING COMPRESSION {compression}"
    return text


class _TurnTakingDuckDB(duckdb_engine.Dialect):
    """duckdb_engine's dialect, opening and closing connections one at a time per process, and
    waiting for a file another process holds.

    DuckDB attaches a file once per process and detaches it when its last connection closes; a
    thread opening the file while another closes (or opens) it the first time gets "Unique file
    handle conflict". Each takes milliseconds; the work in between runs concurrently."""

    # SQLAlchemy caches compiled statements only for a dialect class that says it may.
    supports_statement_cache = True

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        wait = cparams.pop("lock_timeout", 0.0)
        deadline = time.monotonic() + wait
        delay = 0.02
        while True:
            try:
                with _DUCKDB_ATTACH:
                    return super().connect(*cargs, **cparams)
            except Exception as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                log.debug("warehouse file locked by another process, retrying: %s", exc)
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def do_close(self, dbapi_connection: Any) -> None:
        with _DUCKDB_ATTACH:
            super().do_close(dbapi_connection)


registry.register(f"duckdb.{_DRIVER}", __name__, "_TurnTakingDuckDB")


class DuckDBBackend(Backend):
    name = "duckdb"
    default_schema = "main"

    @property
    def _database(self) -> str | None:
        database = self.url.database
        return None if not database or database == ":memory:" else database

    @property
    def embedded_file(self) -> bool:
        return self._database is not None

    def create_engine(self, search_path: Callable[[], list[str]]) -> Engine:
        url = self.url.set(drivername=f"duckdb+{_DRIVER}")
        database = self._database
        if database is None:
            return sa.create_engine(url, poolclass=StaticPool)
        if self.read_only and not Path(database).expanduser().is_file():
            raise WarehouseUnavailable(f"no warehouse file at {database}")
        if not self.read_only:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # A file DuckDB creates is otherwise written in the v0.10.2 format, whose string
        # compression analyzes every segment for dictionary and FSST separately; the v1.3 format
        # (DICT_FSST, readable by every supported DuckDB) loads the roll with ~25% less CPU
        # into a file of the same size that reads as fast. An existing file keeps its format.
        engine = sa.create_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "config": {"storage_compatibility_version": DUCKDB_STORAGE_VERSION},
                "lock_timeout": self.lock_timeout,
                **({"read_only": True} if self.read_only else {}),
            },
        )

        @sa.event.listens_for(engine, "connect")
        def _search_path(dbapi_conn: Any, _record: Any) -> None:
            schemas = search_path()
            if schemas != [self.default_schema]:
                # Publication schemas are named from checked ids: no quoting.
                dbapi_conn.execute(f"SET search_path = '{','.join(schemas)}'")

        return engine

    def text_compression(self, conn: Connection) -> str | None:
        """`_TEXT_COMPRESSION` when the file's storage format has it (a file written by an
        older DuckDB keeps its format, and DuckDB's own choice of compression)."""
        tags = conn.execute(
            sa.text(
                "SELECT tags['storage_version'] AS v FROM duckdb_databases() "
                "WHERE database_name = current_database()"
            )
        ).scalar()
        # An in-memory database has no storage format of its own: the newest applies.
        found = re.findall(r"\d+", tags if isinstance(tags, str) else "")
        newer = not found or tuple(int(x) for x in found[:3]) >= _TEXT_COMPRESSION_SINCE
        return _TEXT_COMPRESSION if newer else None

    def bulk_load(self, conn: Connection, target: str, columns: list[str], rows: pa.Table) -> None:
        with self._registered(conn, rows) as view:
            self.insert_select(conn, target, columns, f"FROM {quote(conn, view)}")

    def insert_select(self, conn: Connection, target: str, columns: list[str], source: str):
        raw = conn.connection.driver_connection
        cols = column_list(conn, columns)
        insert = f"INSERT INTO {target} ({cols}) SELECT {cols} {source}"
        # Keeping the source's row order makes DuckDB write on one thread; a table's rows have
        # no order in SQL, and every consumer sorts by key.
        raw.execute("SET preserve_insertion_order = false")
        try:
            with driver_errors(conn, insert):
                raw.execute(insert)
        finally:
            # After a failed insert the transaction refuses statements until rolled back; the
            # setting then stays on this connection, where it only leaves unordered reads
            # unordered.
            with contextlib.suppress(conn.dialect.loaded_dbapi.Error):
                raw.execute("RESET preserve_insertion_order")

    @contextmanager
    def staged(self, conn: Connection, schema: TableSchema, rows: pa.Table) -> Iterator[str]:
        with self._registered(conn, rows) as view:
            yield quote(conn, view)

    @contextmanager
    def _registered(self, conn: Connection, rows: pa.Table) -> Iterator[str]:
        """`rows` visible to DuckDB's SQL under a fresh name, for the duration of the block."""
        raw = conn.connection.driver_connection
        view = f"_arrow_{uuid.uuid4().hex}"
        # DuckDB scans an Arrow table batch by batch, one batch per thread: a frame converted
        # from pandas is one batch of every row, which one thread would load alone. Batches of
        # a row group each (slices, no copy) keep every thread loading.
        raw.register(view, pa.Table.from_batches(rows.to_batches(_DUCKDB_BATCH_ROWS), rows.schema))
        try:
            yield view
        finally:
            raw.unregister(view)

    def read(
        self, conn: Connection, statement: str, columns: list[str], large_strings: bool
    ) -> pa.Table:
        raw = conn.connection.driver_connection
        with driver_errors(conn, statement):
            if large_strings:
                raw.execute("SET arrow_large_buffer_size = true")
            try:
                cursor = raw.execute(statement)
                fetch = getattr(cursor, "to_arrow_table", None) or cursor.fetch_arrow_table
                return fetch()
            finally:
                if large_strings:
                    with contextlib.suppress(conn.dialect.loaded_dbapi.Error):
                        raw.execute("RESET arrow_large_buffer_size")

    def run(self, conn: Connection, statement: str) -> None:
        with driver_errors(conn, statement):
            conn.connection.driver_connection.execute(statement)

    def comments(
        self, conn: Connection, schema: str, name: str
    ) -> tuple[str | None, list[tuple[str, str | None]]]:
        where = {"s": schema, "t": name}
        table = conn.execute(
            sa.text(
                "SELECT comment FROM duckdb_tables() WHERE schema_name = :s AND table_name = :t"
            ),
            where,
        ).scalar()
        columns = conn.execute(
            sa.text(
                "SELECT column_name, comment FROM duckdb_columns() "
                "WHERE schema_name = :s AND table_name = :t ORDER BY column_index"
            ),
            where,
        ).all()
        return table, [(column, text) for column, text in columns]

    @contextmanager
    def lease_lock(self, engine: Engine) -> Iterator[LeaseLock]:
        """An exclusive lock on ``<file>.lease`` beside the file, released by the operating
        system when the holding process dies; the file says who holds it."""
        if self._database is None:
            yield LeaseLock(lambda: True, lambda: "")
            return
        path = Path(f"{Path(self._database).expanduser()}.lease")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+") as handle:
            held = False

            def attempt() -> bool:
                nonlocal held
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                held = True
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
                handle.flush()
                return True

            try:
                yield LeaseLock(attempt, lambda: path.read_text().strip())
            finally:
                if held:
                    handle.truncate(0)
                    fcntl.flock(handle, fcntl.LOCK_UN)


# -- PostgreSQL --------------------------------------------------------------------------------

_COPY_BATCH_ROWS = 100_000
# PostgreSQL type OIDs -> Arrow types for the COPY-based read path; anything else is read as text.
_PG_OID_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}
_LEASE_NAMESPACE = "recall_pipeline publication lease"


class PostgresBackend(Backend):
    name = "postgresql"
    default_schema = "public"

    def create_engine(self, search_path: Callable[[], list[str]]) -> Engine:
        sized = {"pool_size": self.pool_size} if self.pool_size else {}
        engine = sa.create_engine(self.url, pool_pre_ping=True, **sized)
        read_only = self.read_only

        @sa.event.listens_for(engine, "connect")
        def _session_settings(dbapi_conn: Any, _record: Any) -> None:
            # Fixed session settings the COPY text formats rely on.
            with dbapi_conn.cursor() as cur:
                cur.execute(
                    "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; "
                    "SET client_encoding = 'UTF8'; SET extra_float_digits = 1"
                    + ("; SET default_transaction_read_only = on" if read_only else "")
                    + f"; SET search_path TO {','.join(search_path())}"
                )
            dbapi_conn.commit()

        if not read_only:
            self._ensure_database(engine)
        return engine

    def _ensure_database(self, engine: Engine) -> None:
        """Create the target database if connecting fails because it does not exist."""
        name = self.url.database
        try:
            with engine.connect():
                return
        except sa.exc.OperationalError as exc:
            if not name or "does not exist" not in str(exc):
                raise
        admin = sa.create_engine(
            self.url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with admin.connect() as conn:
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if not exists:
                    try:
                        conn.exec_driver_sql(f"CREATE DATABASE {quote(conn, name)}")
                        log.info("created PostgreSQL database %s", name)
                    except sa.exc.ProgrammingError as exc:  # created concurrently
                        if "already exists" not in str(exc):
                            raise
        finally:
            admin.dispose()
        engine.dispose()

    def pk_name(self, table_name: str) -> str | None:
        # Constraint names are unique per schema: a staged table's key is renamed with it.
        return f"{table_name}_pkey"

    def bulk_load(self, conn: Connection, target: str, columns: list[str], rows: pa.Table) -> None:
        # COPY in CSV format written by Arrow's C++ CSV writer. Strings are always quoted by
        # Arrow and nulls are written as an unquoted empty field, which is exactly PostgreSQL's
        # CSV convention (NULL = unquoted empty; "" = empty string); quotes are doubled and
        # newlines stay inside quoted fields. Dates are ISO, booleans true/false, floats
        # shortest round-trip (nan/inf spelled the way PostgreSQL accepts them). The queued
        # writer sends each chunk from a worker thread while the next one is built.
        raw = conn.connection.driver_connection
        options = pacsv.WriteOptions(include_header=False, batch_size=8192)
        sql = f"COPY {target} ({column_list(conn, columns)}) FROM STDIN WITH (FORMAT csv)"
        with (
            driver_errors(conn, sql),
            raw.cursor() as cur,
            cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy,
        ):
            for batch in rows.to_batches(max_chunksize=_COPY_BATCH_ROWS):
                sink = io.BytesIO()
                pacsv.write_csv(_pg_csv_ready(batch), sink, options)
                copy.write(sink.getbuffer())

    @contextmanager
    def staged(self, conn: Connection, schema: TableSchema, rows: pa.Table) -> Iterator[str]:
        # A session-private table, dropped with the transaction.
        stage = sqlalchemy_table(
            schema,
            sa.MetaData(),
            stage_name(schema.name),
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DROP",
        )
        stage.create(conn)
        target = quote(conn, stage.name)
        self.bulk_load(conn, target, schema.column_names, rows)
        yield target

    def swap(self, conn: Connection, stage: str, name: str, keyed: bool) -> None:
        super().swap(conn, stage, name, keyed)
        if keyed:
            conn.exec_driver_sql(
                f"ALTER TABLE {quote(conn, name)} RENAME CONSTRAINT "
                f"{quote(conn, self.pk_name(stage))} TO {quote(conn, self.pk_name(name))}"
            )

    def read(
        self, conn: Connection, statement: str, columns: list[str], large_strings: bool
    ) -> pa.Table:
        raw = conn.connection.driver_connection
        with driver_errors(conn, statement), raw.cursor() as cur:
            cur.execute(f"{statement} LIMIT 0")
            types = {
                d.name: _PG_OID_ARROW.get(d.type_code, pa.string()) for d in (cur.description or [])
            }
            buf = bytearray()
            with cur.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    buf += chunk
        schema = pa.schema([pa.field(c, types[c]) for c in columns])
        if not buf:
            return schema.empty_table()
        return pacsv.read_csv(
            pa.py_buffer(buf),
            read_options=pacsv.ReadOptions(column_names=columns, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        ).select(columns)

    def run(self, conn: Connection, statement: str) -> None:
        # Through a cursor without parameters: psycopg would read a '%' of the text as one.
        with driver_errors(conn, statement), conn.connection.driver_connection.cursor() as cur:
            cur.execute(statement)

    def comments(
        self, conn: Connection, schema: str, name: str
    ) -> tuple[str | None, list[tuple[str, str | None]]]:
        relation = f"{quote(conn, schema)}.{quote(conn, name)}"
        table = conn.execute(
            sa.text("SELECT obj_description(CAST(:r AS regclass), 'pg_class')"), {"r": relation}
        ).scalar()
        columns = conn.execute(
            sa.text(
                "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
                "WHERE attrelid = CAST(:r AS regclass) AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum"
            ),
            {"r": relation},
        ).all()
        return table, [(column, text) for column, text in columns]

    @contextmanager
    def lease_lock(self, engine: Engine) -> Iterator[LeaseLock]:
        """A session advisory lock, released by the server when the holding process dies."""
        key = int.from_bytes(
            hashlib.sha256(_LEASE_NAMESPACE.encode()).digest()[:8], "big", signed=True
        )
        # A connection of its own, held for the run: the lock lives as long as this session.
        conn = engine.connect()
        held = False
        try:

            def holder() -> str:
                found = conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND pid <> pg_backend_pid() AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
                    )
                ).scalar()
                conn.commit()
                return f"PostgreSQL server process {found}" if found else "another run"

            def attempt() -> bool:
                nonlocal held
                got = conn.execute(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
                ).scalar()
                conn.commit()
                held = bool(got)
                return held

            yield LeaseLock(attempt, holder)
        finally:
            if held:
                with contextlib.suppress(sa.exc.DBAPIError):
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
            conn.close()


def _pg_csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps with a time zone as explicit UTC text ("YYYY-MM-DD HH:MM:SS.ffffff+00").

    Arrow's CSV writer formats zoned timestamps ~20x slower than naive ones; the naive UTC wall
    clock plus an explicit "+00" is just as unambiguous to PostgreSQL, whatever its session zone.
    """
    columns = list(batch.columns)
    changed = False
    for i, column in enumerate(columns):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            naive = column.cast(pa.timestamp(column.type.unit))  # same UTC instants, no zone
            columns[i] = pc.binary_join_element_wise(naive.cast(pa.string()), "+00", "")
            changed = True
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names) if changed else batch


def backend_for(
    url: str | URL, *, read_only: bool, lock_timeout: float, pool_size: int | None = None
) -> Backend:
    """The backend a warehouse URL names (``duckdb://`` or ``postgresql://``; a bare
    ``postgresql://`` is given the psycopg 3 driver)."""
    parsed = sa.make_url(url)
    kind = parsed.get_backend_name()
    if kind in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise ValueError(f"PostgreSQL is supported through psycopg 3 only, got {parsed!s}")
        return PostgresBackend(
            parsed, read_only=read_only, lock_timeout=lock_timeout, pool_size=pool_size
        )
    if kind == "duckdb":
        return DuckDBBackend(parsed, read_only=read_only, lock_timeout=lock_timeout)
    raise ValueError(f"unsupported warehouse URL {parsed!s}: use duckdb:// or postgresql://")
