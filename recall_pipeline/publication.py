"""Publications: what one run decides becomes visible all at once, or not at all.

A run writes every table it produces into its own schema, ``publication_<id>``, and reads its
own tables there before the published ones (the schema comes first on the search path). Nothing
outside the run sees that schema. When the run has decided everything, `commit` makes it the
current publication in one transaction:

* the publication's schema gets a view for each published table the run did not write, onto
  the table of the publication it started from, so the schema alone holds a complete set;
* each published table's name in the default schema (``main`` / ``public``) becomes a view onto
  the publication's table, which is what analysts and every read command query;
* ``publication_current`` names it, and ``publications`` records it as committed.

A run killed or failed at any step leaves its schema behind, unreferenced: readers keep the
previous publication, whole. `collect_garbage` drops such schemas, and publications older than
the last `KEEP` committed, once no kept publication's view reads from them.

Two runs started from the same publication cannot both be published: the second to commit
finds the current publication changed since it opened and fails (`PublicationConflict`),
publishing nothing. `lease` keeps a second run from starting at all while one holds the
warehouse: it waits, saying so, and fails clearly after its timeout.

A read-only `Warehouse` pins itself to the publication current when it connects, so a read
command sees one publication for all its queries even if another commits meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from recall_pipeline.checks import KeyCheck, key_check
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.warehouse import (
    CURRENT_TABLE,
    PUBLICATION_SCHEMA_PREFIX,
    Warehouse,
    publication_schema,
    relation_kinds,
    sqlalchemy_table,
)

log = logging.getLogger(__name__)

# Committed publications kept readable: the current one and the one before it, for readers
# pinned to it while a run commits. Each full run writes every table anew, so each kept
# publication costs about one warehouse's worth of storage.
KEEP = 2
# An open publication that can no longer commit (another was published since it opened) is
# dropped only once it is this old: until then it may still be running, and should fail at its
# commit with a clear conflict rather than on a table that vanished under it.
ABANDON_AFTER = dt.timedelta(hours=1)

OPEN, COMMITTED, RETIRED, ABANDONED = "open", "committed", "retired", "abandoned"

PUBLICATION_ID = Column(
    "publication_id",
    "string",
    False,
    "the publication: one run of the pipeline (or a run over scan batches and the run over "
    "petitions that follows it) whose tables become visible together",
)
PUBLICATIONS = TableSchema(
    name="publications",
    description="Every publication opened on this warehouse, and what became of it.",
    columns=(
        PUBLICATION_ID,
        Column(
            "base_id",
            "string",
            True,
            "the publication current when this one opened; empty for the first",
        ),
        Column("state", "string", False, "open, committed, retired or abandoned"),
        Column("reason", "string", True, "why the run was started"),
        Column("opened_at", "timestamp", False, "when its first run started writing"),
        Column(
            "committed_at",
            "timestamp",
            True,
            "when it became the current publication; empty until then",
        ),
    ),
    primary_key=("publication_id",),
)
PUBLICATION_TABLES = TableSchema(
    name="publication_tables",
    description="For each committed publication still kept, each published table and the "
    "schema whose table holds its rows (the publication's own, or an earlier one's when the "
    "run did not write that table).",
    columns=(
        PUBLICATION_ID,
        Column("table_name", "string", False, "a published table's name"),
        Column("location", "string", False, "the schema holding the table's rows"),
    ),
    primary_key=("publication_id", "table_name"),
)
CURRENT = TableSchema(
    name=CURRENT_TABLE,
    description="The current publication: the one the default schema's views read.",
    columns=(
        Column("slot", "integer", False, "always 1: the table has one row"),
        PUBLICATION_ID,
    ),
    primary_key=("slot",),
)
BOOKKEEPING = (PUBLICATIONS, PUBLICATION_TABLES, CURRENT)
_BOOKKEEPING_NAMES = {schema.name for schema in BOOKKEEPING}


class PublicationError(Exception):
    """A run cannot publish what it decided."""


class PublicationConflict(PublicationError):
    """Another publication was committed since this one opened."""


class PublicationClosed(PublicationError):
    """The publication was already committed (or given up): nothing more may be written."""


class LeaseTimeout(PublicationError):
    """Another run held the warehouse for longer than this one would wait."""


@dataclass(frozen=True)
class Committed:
    publication_id: str
    base_id: str | None
    written: list[str]
    carried: list[str]


def new_publication_id(now: dt.datetime | None = None) -> str:
    """A fresh id: its UTC time, so that ids sort by when they were opened, and a random part."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d%H%M%S")
    return f"{stamp}_{uuid.uuid4().hex[:8]}"


def publication_for_run(run_id: str) -> str:
    """The publication of a Dagster run that names none: the run's own."""
    return run_id.replace("-", "_").lower()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ensure_bookkeeping(store: Warehouse) -> None:
    with store.begin() as conn:
        for schema in BOOKKEEPING:
            sqlalchemy_table(schema, sa.MetaData(), db_schema=store.default_schema).create(
                conn, checkfirst=True
            )


def _table(store: Warehouse, schema: TableSchema) -> sa.Table:
    return sqlalchemy_table(schema, sa.MetaData(), db_schema=store.default_schema)


def current(store: Warehouse) -> str | None:
    """The current publication's id, or None before the first commit."""
    if CURRENT_TABLE not in store.relations([store.default_schema]):
        return None
    with store.begin() as conn:
        return _current(conn, store)


def _current(conn: sa.Connection, store: Warehouse) -> str | None:
    table = _table(store, CURRENT)
    return conn.execute(sa.select(table.c.publication_id)).scalar()


def state(store: Warehouse, publication_id: str) -> str | None:
    if PUBLICATIONS.name not in store.relations([store.default_schema]):
        return None
    table = _table(store, PUBLICATIONS)
    with store.begin() as conn:
        return conn.execute(
            sa.select(table.c.state).where(table.c.publication_id == publication_id)
        ).scalar()


def open_publication(url: str, publication_id: str, reason: str | None = None) -> None:
    """Open `publication_id` for writing, starting from the current publication; a no-op when
    it is open already (the second run of a chain). Raises `PublicationClosed` when it was
    committed or given up."""
    schema = publication_schema(publication_id)
    with Warehouse(url) as store:
        _ensure_bookkeeping(store)
        table = _table(store, PUBLICATIONS)
        with store.begin() as conn:
            found = conn.execute(
                sa.select(table.c.state).where(table.c.publication_id == publication_id)
            ).scalar()
            if found is not None and found != OPEN:
                raise PublicationClosed(
                    f"publication {publication_id} is {found}: a run may not write into it"
                )
            if found is None:
                conn.execute(
                    table.insert().values(
                        publication_id=publication_id,
                        base_id=_current(conn, store),
                        state=OPEN,
                        reason=reason,
                        opened_at=_now(),
                    )
                )
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {store.quote(schema)}")


def commit(url: str, publication_id: str) -> Committed:
    """Make `publication_id` the current publication, in one transaction (see the module
    docstring). Raises `PublicationConflict` when another was committed since it opened."""
    schema = publication_schema(publication_id)
    with Warehouse(url) as store:
        publications = _table(store, PUBLICATIONS)
        located = _table(store, PUBLICATION_TABLES)
        pointer = _table(store, CURRENT)
        default = store.default_schema
        with store.begin() as conn:
            row = (
                conn.execute(
                    sa.select(publications.c.state, publications.c.base_id).where(
                        publications.c.publication_id == publication_id
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["state"] != OPEN:
                found = row["state"] if row else "not opened"
                raise PublicationClosed(f"publication {publication_id} is {found}")
            base = row["base_id"]
            _swap_pointer(conn, pointer, publication_id, base)
            written = sorted(n for n in relation_kinds(conn, schema) if n not in _BOOKKEEPING_NAMES)
            carried_from = {}
            if base is not None:
                carried_from = {
                    r.table_name: r.location
                    for r in conn.execute(
                        sa.select(located.c.table_name, located.c.location).where(
                            located.c.publication_id == base
                        )
                    )
                    if r.table_name not in written
                }
            q = store.quote
            for name, location in carried_from.items():
                conn.exec_driver_sql(
                    f"CREATE VIEW {q(schema)}.{q(name)} AS SELECT * FROM {q(location)}.{q(name)}"
                )
            where = {**carried_from, **dict.fromkeys(written, schema)}
            if where:
                conn.execute(
                    located.insert().values(
                        [
                            {"publication_id": publication_id, "table_name": n, "location": loc}
                            for n, loc in sorted(where.items())
                        ]
                    )
                )
            kinds = relation_kinds(conn, default)
            for name, location in sorted(where.items()):
                kind = kinds.get(name)
                if kind == "VIEW":
                    conn.exec_driver_sql(f"DROP VIEW {q(default)}.{q(name)}")
                elif kind == "TABLE":
                    # A table published before runs had schemas of their own: the run wrote
                    # its successor, which replaces it.
                    conn.exec_driver_sql(f"DROP TABLE {q(default)}.{q(name)}")
                conn.exec_driver_sql(
                    f"CREATE VIEW {q(default)}.{q(name)} AS SELECT * FROM {q(location)}.{q(name)}"
                )
                # What `\\d+ line_verdicts` (psql) and duckdb_columns() show: the comments
                # the table was created with.
                described = _described(conn, store, location, name)
                store.set_comments(conn, described, f"{q(default)}.{q(name)}", "VIEW")
            conn.execute(
                publications.update()
                .where(publications.c.publication_id == publication_id)
                .values(state=COMMITTED, committed_at=_now())
            )
        log.info(
            "published %s: %d tables written, %d carried over",
            publication_id,
            len(written),
            len(carried_from),
        )
        return Committed(publication_id, base, written, sorted(carried_from))


def check_keys(store: Warehouse, declared: Mapping[str, TableSchema]) -> list[KeyCheck]:
    """`key_check` of each table the open publication `store` writes into has written, that
    `declared` declares: whether each holds its key once and its required columns filled, as
    the tables will be published. Tables carried over from the publication it started from were
    checked when that one committed."""
    if store.publication is None:
        raise ValueError("only a publication being written has tables of its own to check")
    written = store.relations([publication_schema(store.publication)])
    return [
        key_check(store, declared[name], exists=True)
        for name in sorted(written)
        if name in declared
    ]


def _described(conn: sa.Connection, store: Warehouse, schema: str, name: str) -> TableSchema:
    """Table `schema`.`name`'s comments, as a declaration holding only them."""
    table, columns = store.backend.comments(conn, schema, name)
    return TableSchema(
        name,
        tuple(Column(column, description=text or "") for column, text in columns),
        description=table or "",
    )


def _swap_pointer(conn: sa.Connection, pointer: sa.Table, publication_id: str, base: str | None):
    """Point at `publication_id` if the pointer still names `base`; else raise."""
    if base is None:
        # The first publication: nobody may have published before it.
        present = conn.execute(sa.select(pointer.c.publication_id)).scalar()
        if present is None:
            conn.execute(pointer.insert().values(slot=1, publication_id=publication_id))
            return
        found = present
    else:
        swapped = conn.execute(
            pointer.update()
            .where(pointer.c.slot == 1, pointer.c.publication_id == base)
            .values(publication_id=publication_id)
            .returning(pointer.c.publication_id)
        ).first()
        if swapped is not None:
            return
        found = conn.execute(sa.select(pointer.c.publication_id)).scalar()
    raise PublicationConflict(
        f"publication {found} was published after this run's publication {publication_id} "
        f"started from {base or 'an empty warehouse'}; nothing of this run was published: "
        "run it again"
    )


def collect_garbage(
    url: str, keep: int = KEEP, abandon_after: dt.timedelta = ABANDON_AFTER
) -> list[str]:
    """Drop what no kept publication reads: the tables of publications older than the last
    `keep` committed, and of open ones that can no longer commit and are older than
    `abandon_after`. Returns the ids of the publications dropped."""
    with Warehouse(url) as store:
        if PUBLICATIONS.name not in store.relations([store.default_schema]):
            return []
        publications = _table(store, PUBLICATIONS)
        located = _table(store, PUBLICATION_TABLES)
        q = store.quote
        with store.begin() as conn:
            rows = conn.execute(
                sa.select(
                    publications.c.publication_id,
                    publications.c.state,
                    publications.c.base_id,
                    publications.c.opened_at,
                    publications.c.committed_at,
                )
            ).all()
            now_current = _current(conn, store)
        committed = sorted(
            (r for r in rows if r.state == COMMITTED), key=lambda r: r.committed_at, reverse=True
        )
        kept = {r.publication_id for r in committed[:keep]}
        retired = [r.publication_id for r in committed[keep:]]
        cutoff = _now() - abandon_after
        abandoned = [
            r.publication_id
            for r in rows
            if r.state == OPEN and r.base_id != now_current and _aware(r.opened_at) < cutoff
        ]
        dropped: list[str] = []
        for victim, final in [(p, RETIRED) for p in retired] + [(p, ABANDONED) for p in abandoned]:
            schema = publication_schema(victim)
            with store.begin() as conn:
                still_read = {
                    r.table_name
                    for r in conn.execute(
                        sa.select(located.c.table_name).where(
                            located.c.publication_id.in_(kept), located.c.location == schema
                        )
                    )
                }
                _drop_schema(conn, q, schema, keep=still_read)
                conn.execute(located.delete().where(located.c.publication_id == victim))
                conn.execute(
                    publications.update()
                    .where(publications.c.publication_id == victim)
                    .values(state=final)
                )
            dropped.append(victim)
        # Schemas kept only for a table a kept publication read, and since replaced.
        with store.begin() as conn:
            schemas = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT schema_name FROM information_schema.schemata "
                        "WHERE schema_name LIKE :prefix"
                    ),
                    {"prefix": PUBLICATION_SCHEMA_PREFIX + "%"},
                )
            ]
            live = {
                publication_schema(r.publication_id)
                for r in rows
                if r.publication_id in kept
                or (r.state == OPEN and r.publication_id not in abandoned)
            }
            referenced = {r[0] for r in conn.execute(sa.select(located.c.location).distinct())}
        for schema in sorted(set(schemas) - live - referenced):
            with store.begin() as conn:
                _drop_schema(conn, q, schema)
        return dropped


def _drop_schema(
    conn: sa.Connection, q: Callable[[str], str], schema: str, keep: set[str] = frozenset()
) -> None:
    """Drop the views of `schema`, then its tables but those in `keep` (a kept publication
    still reads them), then the schema itself if nothing is left."""
    kinds = relation_kinds(conn, schema)
    for name in [n for n, kind in kinds.items() if kind == "VIEW"]:
        conn.exec_driver_sql(f"DROP VIEW {q(schema)}.{q(name)}")
    for name in [n for n, kind in kinds.items() if kind == "TABLE" and n not in keep]:
        conn.exec_driver_sql(f"DROP TABLE {q(schema)}.{q(name)}")
    if not keep & set(kinds):
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {q(schema)}")


def gone_publications(url: str) -> set[str]:
    """The publications retired or abandoned: nothing of theirs is kept any more."""
    with Warehouse(url) as store:
        if PUBLICATIONS.name not in store.relations([store.default_schema]):
            return set()
        table = _table(store, PUBLICATIONS)
        with store.begin() as conn:
            return set(
                conn.execute(
                    sa.select(table.c.publication_id).where(table.c.state.in_([RETIRED, ABANDONED]))
                ).scalars()
            )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# -- the lease ----------------------------------------------------------------------------------


@contextlib.contextmanager
def lease(
    url: str, wait: float = 3600.0, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the warehouse for one run: a second run waits here (saying so through `say`) until
    the first is done, and raises `LeaseTimeout` after `wait` seconds.

    PostgreSQL: a session advisory lock, released by the server when the holding process dies;
    a DuckDB file: an exclusive lock on ``<file>.lease`` beside it, released by the operating
    system when the holding process dies. Either way a killed run never holds it.
    """
    store = Warehouse(url)
    try:
        with store.backend.lease_lock(store.engine) as lock:
            _acquire(lock.attempt, wait, say, lock.holder)
            yield
    finally:
        store.dispose()


def _acquire(attempt: Callable[[], bool], wait: float, say, holder: Callable[[], str]) -> None:
    if attempt():
        return
    deadline = time.monotonic() + wait
    who = holder() or "another run"
    if say is not None:
        say(f"another run holds the warehouse ({who}); waiting up to {wait:.0f} s for it")
    delay = 0.05
    while not attempt():
        if time.monotonic() >= deadline:
            raise LeaseTimeout(
                f"another run still holds the warehouse ({who}) after {wait:.0f} s; "
                "try again when it has finished"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


__all__ = [
    "BOOKKEEPING",
    "KEEP",
    "Committed",
    "LeaseTimeout",
    "PublicationClosed",
    "PublicationConflict",
    "PublicationError",
    "check_keys",
    "collect_garbage",
    "commit",
    "current",
    "gone_publications",
    "lease",
    "new_publication_id",
    "open_publication",
    "publication_for_run",
    "state",
]
