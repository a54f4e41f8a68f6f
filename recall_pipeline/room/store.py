"""The examination room's own tables, beside the published ones in the same warehouse.

The room reads what the pipeline published and writes only these tables (all named `room_*`).
Challenges, rulings, lines passed and the access log are append-only: the room's code only
inserts into them, and on PostgreSQL a trigger refuses any UPDATE or DELETE. Times are UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from recall_pipeline.room.accounts import Account, Role
from recall_pipeline.tables import LINE_KEY_COLUMNS
from recall_pipeline.warehouse import Warehouse

_META = sa.MetaData()


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("petition_id", sa.Text, nullable=False),
        sa.Column("section_id", sa.Text, nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
    ]


ACCOUNTS = sa.Table(
    "room_accounts",
    _META,
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("petition_id", sa.Text),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)
SESSIONS = sa.Table(
    "room_sessions",
    _META,
    # The SHA-256 of the cookie's token: a copy of the table opens no session.
    sa.Column("session_id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("client_ip", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
)
LOGIN_ATTEMPTS = sa.Table(
    "room_login_attempts",
    _META,
    sa.Column("attempt_id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("client_ip", sa.Text),
    sa.Column("attempted_at", sa.DateTime, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
)
ACCESS_LOG = sa.Table(
    "room_access_log",
    _META,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("logged_at", sa.DateTime, nullable=False),
    sa.Column("username", sa.Text),
    sa.Column("role", sa.Text),
    # The first 12 hex digits of the session's id: which session, without opening it.
    sa.Column("session_ref", sa.Text),
    sa.Column("client_ip", sa.Text),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("petition_id", sa.Text),
    sa.Column("section_id", sa.Text),
    sa.Column("page", sa.Integer),
    sa.Column("line", sa.Integer),
    sa.Column("challenge_id", sa.Text),
    sa.Column("status_code", sa.Integer, nullable=False),
)
CHALLENGES = sa.Table(
    "room_challenges",
    _META,
    sa.Column("challenge_id", sa.Text, primary_key=True),
    *_key_columns(),
    sa.Column("ground", sa.Text, nullable=False),
    sa.Column("claimed_voter_id", sa.Text),
    sa.Column("evidence", sa.Text),
    sa.Column("filed_by", sa.Text, nullable=False),
    sa.Column("filed_at", sa.DateTime, nullable=False),
    sa.Column("session_ref", sa.Text, nullable=False),
)
RULINGS = sa.Table(
    "room_rulings",
    _META,
    # One ruling per challenge: a second is refused by the key, never written (two rulings on
    # one challenge would set both aside in the pipeline).
    sa.Column("challenge_id", sa.Text, primary_key=True),
    sa.Column("petition_id", sa.Text, nullable=False),
    sa.Column("ruling", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("ruled_by", sa.Text, nullable=False),
    sa.Column("ruled_at", sa.DateTime, nullable=False),
    sa.Column("session_ref", sa.Text, nullable=False),
)
PASSES = sa.Table(
    "room_passes",
    _META,
    sa.Column("pass_id", sa.Text, primary_key=True),
    *_key_columns(),
    sa.Column("passed_by", sa.Text, nullable=False),
    sa.Column("passed_at", sa.DateTime, nullable=False),
    sa.Column("session_ref", sa.Text, nullable=False),
)
# Which entries went into which input file: written in the transaction that writes the file.
EXPORTED = sa.Table(
    "room_exported",
    _META,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("file", sa.Text, nullable=False),
)
EXPORTS = sa.Table(
    "room_exports",
    _META,
    sa.Column("file", sa.Text, primary_key=True),
    sa.Column("petition_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("written_at", sa.DateTime, nullable=False),
)
APPEND_ONLY = (ACCESS_LOG, CHALLENGES, RULINGS, PASSES, EXPORTED, EXPORTS, LOGIN_ATTEMPTS)

_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION room_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$
"""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# The warehouse and connection of the request this thread serves, if one is open
# (`request_connection`).
_REQUEST = threading.local()


@contextmanager
def request_connection(store: Warehouse) -> Iterator[None]:
    """Serve a request's statements on one pooled connection (see `connection`).

    A connection taken from the pool for each statement is pinged first, and a statement in a
    transaction of its own is three round trips (BEGIN, it, COMMIT): a page's five statements
    cost some twenty round trips and five checkouts. On one connection in autocommit each is one
    round trip, with the same effect: every statement served so is a whole transaction by
    itself."""
    if getattr(_REQUEST, "bound", None) is not None:
        yield
        return
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            # DuckDB's driver has no autocommit: there `connection` opens a transaction.
            conn.execution_options(isolation_level="AUTOCOMMIT")
        _REQUEST.bound = (store, conn)
        try:
            yield
        finally:
            _REQUEST.bound = None


@contextmanager
def connection(store: Warehouse) -> Iterator[sa.Connection]:
    """A connection for statements that need no transaction together, each committed as it
    runs: the request's own, or one from the pool in a transaction of its own. What must be
    written together takes `store.begin()` instead."""
    bound = getattr(_REQUEST, "bound", None)
    if bound is None or bound[0] is not store:
        with store.begin() as conn:
            yield conn
        return
    conn = bound[1]
    with conn.begin():
        yield conn


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Session:
    session_id: str
    account: Account
    csrf_token: str
    expires_at: dt.datetime
    last_seen_at: dt.datetime

    @property
    def ref(self) -> str:
        return self.session_id[:12]


@dataclass(frozen=True)
class LineKey:
    petition_id: str
    section_id: str
    page: int
    line: int

    def as_dict(self) -> dict[str, Any]:
        return dict(
            zip(
                LINE_KEY_COLUMNS,
                (self.petition_id, self.section_id, self.page, self.line),
                strict=True,
            )
        )


class RoomStore:
    """The room's tables in `store`'s default schema, and its reads of the published ones."""

    def __init__(self, store: Warehouse) -> None:
        self.store = store
        # DuckDB checks a key when a transaction commits, not at its insert: of one entry sent
        # twice at once (a double click), both inserts pass ON CONFLICT and the second fails to
        # commit. The room's process is the file's one writer, so taking its entries one at a
        # time is enough. On PostgreSQL the second insert waits for the first to commit, then
        # does nothing.
        self._one_entry_at_a_time = (
            threading.Lock() if store.dialect == "duckdb" else contextlib.nullcontext()
        )

    # -- set-up ----------------------------------------------------------------------------------

    def create_tables(self) -> None:
        engine = self.store.engine
        _META.create_all(engine, checkfirst=True)
        if self.store.dialect == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text(_PG_APPEND_ONLY))
                for table in APPEND_ONLY:
                    trigger = f"{table.name}_append_only"
                    conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table.name}"')
                    conn.exec_driver_sql(
                        f'CREATE TRIGGER "{trigger}" BEFORE UPDATE OR DELETE ON "{table.name}" '
                        "FOR EACH ROW EXECUTE FUNCTION room_refuse_change()"
                    )

    def _run(self, statement: sa.Executable, params: Mapping[str, Any] | None = None):
        with connection(self.store) as conn:
            return conn.execute(statement, dict(params or {}))

    def _rows(self, statement: sa.Executable) -> list[dict[str, Any]]:
        with connection(self.store) as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    # -- accounts --------------------------------------------------------------------------------

    def add_account(
        self, username: str, role: Role, petition_id: str | None, password_hash: str
    ) -> None:
        self._run(
            ACCOUNTS.insert().values(
                username=username,
                role=role.value,
                petition_id=petition_id,
                password_hash=password_hash,
                created_at=utcnow(),
                disabled=False,
            )
        )

    def set_disabled(self, username: str, disabled: bool) -> bool:
        with self.store.begin() as conn:
            found = conn.execute(
                sa.select(ACCOUNTS.c.username).where(ACCOUNTS.c.username == username)
            ).first()
            if found is None:
                return False
            conn.execute(
                ACCOUNTS.update().where(ACCOUNTS.c.username == username).values(disabled=disabled)
            )
            if disabled:
                conn.execute(
                    SESSIONS.update()
                    .where(SESSIONS.c.username == username, SESSIONS.c.ended_at.is_(None))
                    .values(ended_at=utcnow())
                )
        return True

    def accounts(self) -> list[dict[str, Any]]:
        return self._rows(
            sa.select(
                ACCOUNTS.c.username,
                ACCOUNTS.c.role,
                ACCOUNTS.c.petition_id,
                ACCOUNTS.c.created_at,
                ACCOUNTS.c.disabled,
            ).order_by(ACCOUNTS.c.username)
        )

    def password_hash(self, username: str) -> tuple[Account, str] | None:
        rows = self._rows(sa.select(ACCOUNTS).where(ACCOUNTS.c.username == username))
        if not rows:
            return None
        row = rows[0]
        return _account(row), row["password_hash"]

    # -- logins and sessions ---------------------------------------------------------------------

    def record_attempt(self, username: str, client_ip: str | None, succeeded: bool) -> None:
        self._run(
            LOGIN_ATTEMPTS.insert().values(
                attempt_id=new_id(),
                username=username,
                client_ip=client_ip,
                attempted_at=utcnow(),
                succeeded=succeeded,
            )
        )

    def recent_failures(
        self, username: str, client_ip: str | None, since: dt.datetime
    ) -> tuple[int, int]:
        """Failed logins since `since`: for this username, and from this address."""
        failed = sa.and_(
            LOGIN_ATTEMPTS.c.attempted_at >= since, sa.not_(LOGIN_ATTEMPTS.c.succeeded)
        )
        count = sa.func.count()
        with connection(self.store) as conn:
            by_user = conn.execute(
                sa.select(count).where(failed, LOGIN_ATTEMPTS.c.username == username)
            ).scalar_one()
            by_ip = conn.execute(
                sa.select(count).where(failed, LOGIN_ATTEMPTS.c.client_ip == client_ip)
            ).scalar_one()
        return int(by_user), int(by_ip)

    def open_session(
        self, account: Account, client_ip: str | None, lifetime: dt.timedelta
    ) -> tuple[str, str]:
        """A new session: the cookie's token (never stored) and the session's CSRF token."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow()
        self._run(
            SESSIONS.insert().values(
                session_id=session_id_of(token),
                username=account.username,
                csrf_token=csrf,
                client_ip=client_ip,
                created_at=now,
                expires_at=now + lifetime,
                last_seen_at=now,
                ended_at=None,
            )
        )
        return token, csrf

    def session(self, token: str) -> Session | None:
        """The open session of `token` with its account (None if unknown, ended, or disabled);
        expiry is the caller's to judge, against its own clock."""
        query = (
            sa.select(SESSIONS, ACCOUNTS.c.role, ACCOUNTS.c.petition_id, ACCOUNTS.c.disabled)
            .join(ACCOUNTS, ACCOUNTS.c.username == SESSIONS.c.username)
            .where(SESSIONS.c.session_id == session_id_of(token), SESSIONS.c.ended_at.is_(None))
        )
        rows = self._rows(query)
        if not rows or rows[0]["disabled"]:
            return None
        row = rows[0]
        return Session(
            session_id=row["session_id"],
            account=_account(row),
            csrf_token=row["csrf_token"],
            expires_at=row["expires_at"],
            last_seen_at=row["last_seen_at"],
        )

    def touch(self, session_id: str, at: dt.datetime) -> None:
        self._run(
            SESSIONS.update().where(SESSIONS.c.session_id == session_id).values(last_seen_at=at)
        )

    def end_session(self, session_id: str) -> None:
        self._run(
            SESSIONS.update()
            .where(SESSIONS.c.session_id == session_id, SESSIONS.c.ended_at.is_(None))
            .values(ended_at=utcnow())
        )

    # -- the access log --------------------------------------------------------------------------

    def log_access(self, **entry: Any) -> None:
        self._run(ACCESS_LOG.insert().values(entry_id=new_id(), logged_at=utcnow(), **entry))

    def access_log(
        self, username: str | None = None, petition_id: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        query = sa.select(ACCESS_LOG).order_by(ACCESS_LOG.c.logged_at.desc()).limit(limit)
        if username:
            query = query.where(ACCESS_LOG.c.username == username)
        if petition_id:
            query = query.where(ACCESS_LOG.c.petition_id == petition_id)
        return self._rows(query)

    # -- entries ---------------------------------------------------------------------------------

    def file_challenge(
        self,
        challenge_id: str,
        key: LineKey,
        ground: str,
        claimed_voter_id: str | None,
        evidence: str | None,
        session: Session,
    ) -> bool:
        """Append a challenge; False when one with this id exists (a form sent twice)."""
        return self._insert_once(
            CHALLENGES,
            "challenge_id",
            challenge_id=challenge_id,
            **key.as_dict(),
            ground=ground,
            claimed_voter_id=claimed_voter_id,
            evidence=evidence,
            filed_by=session.account.username,
            filed_at=utcnow(),
            session_ref=session.ref,
        )

    def pass_line(self, pass_id: str, key: LineKey, session: Session) -> bool:
        return self._insert_once(
            PASSES,
            "pass_id",
            pass_id=pass_id,
            **key.as_dict(),
            passed_by=session.account.username,
            passed_at=utcnow(),
            session_ref=session.ref,
        )

    def rule(
        self, challenge_id: str, petition_id: str, ruling: str, note: str | None, session: Session
    ) -> bool:
        """Append the ruling on a challenge; False when it has one already."""
        return self._insert_once(
            RULINGS,
            "challenge_id",
            challenge_id=challenge_id,
            petition_id=petition_id,
            ruling=ruling,
            note=note,
            ruled_by=session.account.username,
            ruled_at=utcnow(),
            session_ref=session.ref,
        )

    def _insert_once(self, table: sa.Table, key: str, **values: Any) -> bool:
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(f":{c}" for c in values)
        statement = sa.text(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks}) '
            f'ON CONFLICT DO NOTHING RETURNING "{key}"'
        )
        with self._one_entry_at_a_time, connection(self.store) as conn:
            return conn.execute(statement, values).first() is not None

    def examined_keys(self, petition_id: str) -> set[tuple[str, int, int]]:
        """The lines of the petition challenged or passed in the room."""
        out: set[tuple[str, int, int]] = set()
        for table in (CHALLENGES, PASSES):
            query = sa.select(table.c.section_id, table.c.page, table.c.line).where(
                table.c.petition_id == petition_id
            )
            with connection(self.store) as conn:
                out.update((s, int(p), int(n)) for s, p, n in conn.execute(query))
        return out

    def challenges_of_line(self, key: LineKey) -> list[dict[str, Any]]:
        where = [CHALLENGES.c[c] == v for c, v in key.as_dict().items()]
        query = (
            sa.select(CHALLENGES, RULINGS.c.ruling, RULINGS.c.ruled_at)
            .outerjoin(RULINGS, RULINGS.c.challenge_id == CHALLENGES.c.challenge_id)
            .where(*where)
            .order_by(CHALLENGES.c.filed_at)
        )
        return self._rows(query)

    def room_challenge(self, challenge_id: str) -> dict[str, Any] | None:
        query = (
            sa.select(CHALLENGES, RULINGS.c.ruling, RULINGS.c.note, RULINGS.c.ruled_by)
            .outerjoin(RULINGS, RULINGS.c.challenge_id == CHALLENGES.c.challenge_id)
            .where(CHALLENGES.c.challenge_id == challenge_id)
        )
        rows = self._rows(query)
        return rows[0] if rows else None

    def _open(self, petition_id: str, *columns: Any) -> sa.Select:
        """Challenges filed in the room with no ruling yet, in the room or in a published
        rulings file."""
        query = (
            sa.select(*columns)
            .select_from(CHALLENGES)
            .outerjoin(RULINGS, RULINGS.c.challenge_id == CHALLENGES.c.challenge_id)
            .where(CHALLENGES.c.petition_id == petition_id, RULINGS.c.challenge_id.is_(None))
        )
        if self.store.table_exists("challenge_rulings"):
            by_file = sa.table(
                "challenge_rulings", sa.column("petition_id"), sa.column("challenge_id")
            )
            query = query.where(
                CHALLENGES.c.challenge_id.not_in(
                    sa.select(by_file.c.challenge_id).where(by_file.c.petition_id == petition_id)
                )
            )
        return query

    def open_challenges(self, petition_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The room's open challenges, oldest first."""
        query = self._open(petition_id, *CHALLENGES.c).order_by(
            CHALLENGES.c.filed_at, CHALLENGES.c.challenge_id
        )
        return self._rows(query.limit(limit))

    def count_open(self, petition_id: str) -> int:
        with self.store.begin() as conn:
            return int(conn.execute(self._open(petition_id, sa.func.count())).scalar_one())

    def ruling_of(self, challenge_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            sa.select(RULINGS.c.ruling, RULINGS.c.note, RULINGS.c.ruled_by).where(
                RULINGS.c.challenge_id == challenge_id
            )
        )
        return rows[0] if rows else None

    def counts(self, petition_id: str) -> dict[str, Any]:
        """The room's own tallies for the dashboard: entries by reason and outcome come from
        the published tables once a run has taken them in."""
        count = sa.func.count()
        with connection(self.store) as conn:
            filed = conn.execute(
                sa.select(count).where(CHALLENGES.c.petition_id == petition_id)
            ).scalar_one()
            ruled = conn.execute(
                sa.select(RULINGS.c.ruling, count)
                .where(RULINGS.c.petition_id == petition_id)
                .group_by(RULINGS.c.ruling)
            ).all()
            passed = conn.execute(
                sa.select(count).where(PASSES.c.petition_id == petition_id)
            ).scalar_one()
            waiting = conn.execute(
                sa.select(count)
                .select_from(CHALLENGES)
                .outerjoin(
                    EXPORTED,
                    sa.and_(
                        EXPORTED.c.kind == "challenges",
                        EXPORTED.c.entry_id == CHALLENGES.c.challenge_id,
                    ),
                )
                .where(CHALLENGES.c.petition_id == petition_id, EXPORTED.c.entry_id.is_(None))
            ).scalar_one()
        return {
            "filed": int(filed),
            "ruled": {r: int(n) for r, n in ruled},
            "passed": int(passed),
            "not_yet_sent": int(waiting),
        }

    def unexported(self, kind: str, petition_id: str) -> pd.DataFrame:
        table = CHALLENGES if kind == "challenges" else RULINGS
        query = (
            sa.select(table)
            .outerjoin(
                EXPORTED,
                sa.and_(EXPORTED.c.kind == kind, EXPORTED.c.entry_id == table.c.challenge_id),
            )
            .where(table.c.petition_id == petition_id, EXPORTED.c.entry_id.is_(None))
        )
        order = "filed_at" if kind == "challenges" else "ruled_at"
        return pd.DataFrame(self._rows(query.order_by(table.c[order], table.c.challenge_id)))

    def petitions_with_entries(self) -> list[str]:
        query = sa.union(sa.select(CHALLENGES.c.petition_id), sa.select(RULINGS.c.petition_id))
        with connection(self.store) as conn:
            return sorted(r[0] for r in conn.execute(query))


def _account(row: Mapping[str, Any]) -> Account:
    return Account(
        username=row["username"],
        role=Role(row["role"]),
        petition_id=row["petition_id"],
        disabled=bool(row["disabled"]),
    )
