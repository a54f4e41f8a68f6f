"""What the room reads of the published tables, and the order lines are handed out in.

Every read names its petition and, for a line, its whole key: a page can only show a row it
was asked for by key, never a list of the voter file.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from recall_pipeline.room.exports import PREFIX as ROOM_PREFIX
from recall_pipeline.room.store import LineKey, connection
from recall_pipeline.verify.examination import LINE_AS_WRITTEN, REGISTRATION_SHOWN
from recall_pipeline.warehouse import Warehouse

Key = tuple[str, int, int]
_KEY_WHERE = (
    "petition_id = :petition_id AND section_id = :section_id AND page = :page AND line = :line"
)


class Published:
    def __init__(self, store: Warehouse) -> None:
        self.store = store
        # Published tables found: a run replaces a table's view in the transaction that
        # commits it, so a table found once is there for good; one not found yet is looked for
        # again at each read, since a run may publish it.
        self._present: set[str] = set()

    def _rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with connection(self.store) as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]

    def _has(self, table: str) -> bool:
        if table not in self._present and self.store.table_exists(table):
            self._present.add(table)
        return table in self._present

    def petitions(self) -> list[dict[str, Any]]:
        if not self._has("sufficiency_determination"):
            return []
        return self._rows(
            "SELECT petition_id, method, result, valid, required, margin FROM "
            "sufficiency_determination ORDER BY petition_id"
        )

    def publication(self) -> str | None:
        """The current publication's id: the room refreshes what it caches when it changes."""
        if not self._has("publication_current"):
            return None
        rows = self._rows("SELECT publication_id FROM publication_current")
        return str(rows[0]["publication_id"]) if rows else None

    def examination_line(self, key: LineKey) -> dict[str, Any] | None:
        """The line's row of the examination set: None unless the line is INVALID."""
        if not self._has("examination_set"):
            return None
        rows = self._rows(f"SELECT * FROM examination_set WHERE {_KEY_WHERE}", **key.as_dict())
        return rows[0] if rows else None

    def ordered_keys(self, petition_id: str) -> list[Key]:
        if not self._has("examination_set"):
            return []
        with connection(self.store) as conn:
            result = conn.execute(
                sa.text(
                    "SELECT section_id, page, line FROM examination_set "
                    "WHERE petition_id = :p ORDER BY review_priority DESC, section_id, page, line"
                ),
                {"p": petition_id},
            )
            return [(s, int(p), int(n)) for s, p, n in result]

    def challenged_by_file(self, petition_id: str) -> set[Key]:
        """Lines the published challenge files contest (filed outside the room)."""
        if not self._has("challenges"):
            return set()
        rows = self._rows(
            "SELECT section_id, page, line FROM challenges WHERE petition_id = :p", p=petition_id
        )
        return {(r["section_id"], int(r["page"]), int(r["line"])) for r in rows}

    def line_as_keyed(self, key: LineKey) -> dict[str, Any] | None:
        cols = ", ".join(LINE_AS_WRITTEN)
        rows = self._rows(
            f"SELECT {cols}, source_file, source_row FROM petition_lines WHERE {_KEY_WHERE}",
            **key.as_dict(),
        )
        return rows[0] if rows else None

    def registration(self, voter_id: str | None) -> dict[str, Any] | None:
        """One registration by its id (examiners only): what the examination set shows of a
        registration, and its status."""
        if not voter_id:
            return None
        cols = ", ".join(dict.fromkeys(("voter_id", *REGISTRATION_SHOWN)))
        rows = self._rows(f"SELECT {cols} FROM voter_roll WHERE voter_id = :v", v=voter_id)
        return rows[0] if rows else None

    def candidates(self, key: LineKey, limit: int = 5) -> list[dict[str, Any]]:
        """The registrations the matcher weighed for the line, strongest first, each with its
        roll row under `registration` (examiners): one query, not one per candidate."""
        if not self._has("match_candidates"):
            return []
        shown = [c for c in REGISTRATION_SHOWN if c != "voter_id"]
        rows = self._rows(
            "SELECT c.voter_id, c.match_probability, c.address_agreement, "
            "c.first_name_agreement, c.last_name_agreement, c.chosen, "
            + ", ".join(f"r.{col} AS reg_{col}" for col in shown)
            + " FROM match_candidates c LEFT JOIN voter_roll r ON r.voter_id = c.voter_id "
            + "WHERE "
            + " AND ".join(f"c.{col} = :{col}" for col in key.as_dict())
            + f" ORDER BY c.match_probability DESC, c.voter_id LIMIT {int(limit)}",
            **key.as_dict(),
        )
        out = []
        for row in rows:
            registration = {col: row.pop(f"reg_{col}") for col in shown}
            on_roll = any(v is not None for v in registration.values())
            out.append({**row, "registration": {"voter_id": row["voter_id"], **registration}})
            if not on_roll:
                out[-1]["registration"] = None
        return out

    def published_challenge(self, petition_id: str, challenge_id: str) -> dict[str, Any] | None:
        if not self._has("challenges"):
            return None
        rows = self._rows(
            "SELECT * FROM challenges WHERE petition_id = :p AND challenge_id = :c",
            p=petition_id,
            c=challenge_id,
        )
        return rows[0] if rows else None

    def ruled_by_file(self, petition_id: str, challenge_id: str) -> bool:
        if not self._has("challenge_rulings"):
            return False
        return bool(
            self._rows(
                "SELECT 1 AS ruled FROM challenge_rulings "
                "WHERE petition_id = :p AND challenge_id = :c",
                p=petition_id,
                c=challenge_id,
            )
        )

    def _unruled_by_file(self, select: str, petition_id: str) -> str:
        """Challenges filed by file (the room's own are counted from its tables) ruled on
        neither by a published rulings file nor in the room."""
        by_file = (
            "AND challenge_id NOT IN (SELECT challenge_id FROM challenge_rulings "
            "WHERE petition_id = :p)"
            if self._has("challenge_rulings")
            else ""
        )
        return (
            f"SELECT {select} FROM challenges WHERE petition_id = :p AND challenge_id NOT LIKE "
            f":room {by_file} AND challenge_id NOT IN (SELECT challenge_id FROM room_rulings)"
        )

    def unruled_file_challenges(self, petition_id: str, limit: int) -> list[dict[str, Any]]:
        if not self._has("challenges"):
            return []
        columns = (
            "challenge_id, section_id, page, line, ground, claimed_voter_id, filed_by, filed_at"
        )
        return self._rows(
            self._unruled_by_file(columns, petition_id)
            + f" ORDER BY filed_at, challenge_id LIMIT {int(limit)}",
            p=petition_id,
            room=f"{ROOM_PREFIX}%",
        )

    def count_unruled_file_challenges(self, petition_id: str) -> int:
        if not self._has("challenges"):
            return 0
        sql = self._unruled_by_file("count(*) AS n", petition_id)
        return int(self._rows(sql, p=petition_id, room=f"{ROOM_PREFIX}%")[0]["n"])

    def room_entries_refused(self, petition_id: str) -> list[dict[str, Any]]:
        """The room's entries the last run did not take in, counted by reason: rows its checks
        quarantined (a claimed voter_id not on the roll, say) and challenges or rulings the
        verdict step set aside (a line no longer invalid). Reasons name rules, never values."""
        out: list[dict[str, Any]] = []
        if self._has("quarantined_rows"):
            out += self._rows(
                "SELECT input_name, reason, count(*) AS entries FROM quarantined_rows "
                "WHERE petition_id = :p AND input_name IN ('challenges', 'challenge_rulings') "
                "AND source_file LIKE :room GROUP BY input_name, reason",
                p=petition_id,
                room=f"petitions/{petition_id}/%/room-%",
            )
        if self._has("challenges_set_aside"):
            out += self._rows(
                "SELECT input_name, reason, count(*) AS entries FROM challenges_set_aside "
                "WHERE petition_id = :p AND source_file LIKE :room GROUP BY input_name, reason",
                p=petition_id,
                room=f"petitions/{petition_id}/%/room-%",
            )
        return sorted(out, key=lambda r: (-int(r["entries"]), r["input_name"], r["reason"]))

    def dashboard(self, petition_id: str) -> dict[str, Any]:
        one = {"p": petition_id}

        def first(table: str) -> dict[str, Any] | None:
            if not self._has(table):
                return None
            rows = self._rows(f"SELECT * FROM {table} WHERE petition_id = :p", **one)
            return rows[0] if rows else None

        def every(table: str, order: str) -> list[dict[str, Any]]:
            if not self._has(table):
                return []
            return self._rows(
                f"SELECT * FROM {table} WHERE petition_id = :p ORDER BY {order}", **one
            )

        return {
            "determination": first("sufficiency_determination"),
            "status": first("examination_status"),
            "reasons": every("examination_reasons", "invalid_lines DESC, reason_code"),
            "bases": every("requirement_bases", "position"),
            "refused": self.room_entries_refused(petition_id),
        }


# How long a line handed to a reviewer is kept from the others.
LEASE = dt.timedelta(minutes=15)
# How often the order is checked against the current publication.
_REFRESH_SECONDS = 30.0


@dataclass
class _Order:
    publication: str | None
    keys: list[Key]
    done: set[Key]
    leases: dict[Key, tuple[str, float]] = field(default_factory=dict)
    # Everything before it is done: the next search starts here.
    start: int = 0
    checked: float = 0.0
    examined: int = 0

    def __post_init__(self) -> None:
        self.examined = len(self.done.intersection(self.keys))


class ReviewOrder:
    """Hands each reviewer the highest-priority line of their petition no one has challenged
    or passed, and that no other reviewer holds. One room process keeps the order in memory
    (a few MB for LA's 195,783 lines); the tables stay the record of what was done."""

    def __init__(self, published: Published, done_in_room, clock=time.monotonic) -> None:
        self.published = published
        self.done_in_room = done_in_room
        self.clock = clock
        self._orders: dict[str, _Order] = {}
        self._lock = threading.Lock()

    def _order(self, petition_id: str) -> _Order:
        now = self.clock()
        order = self._orders.get(petition_id)
        if order is not None and now - order.checked < _REFRESH_SECONDS:
            return order
        publication = self.published.publication()
        if order is None or order.publication != publication:
            keys = self.published.ordered_keys(petition_id)
            done = self.done_in_room(petition_id) | self.published.challenged_by_file(petition_id)
            order = _Order(publication, keys, done)
            self._orders[petition_id] = order
        order.checked = now
        return order

    def next_line(self, petition_id: str, username: str) -> Key | None:
        with self._lock:
            order = self._order(petition_id)
            now = self.clock()
            # A line this reviewer holds and has not finished comes back first.
            for key, (holder, until) in order.leases.items():
                if holder == username and until > now and key not in order.done:
                    return key
            while order.start < len(order.keys) and order.keys[order.start] in order.done:
                order.start += 1
            # By position: a slice would copy the rest of the order (200,000 keys at LA's
            # scale) on every call.
            for position in range(order.start, len(order.keys)):
                key = order.keys[position]
                if key in order.done:
                    continue
                lease = order.leases.get(key)
                if lease is None or lease[1] <= now or lease[0] == username:
                    order.leases[key] = (username, now + LEASE.total_seconds())
                    return key
            return None

    def finished(self, petition_id: str, key: Key) -> None:
        with self._lock:
            order = self._order(petition_id)
            if key not in order.done:
                order.done.add(key)
                order.examined += 1
            order.leases.pop(key, None)

    def remaining(self, petition_id: str) -> tuple[int, int]:
        """Lines not yet examined, of all the petition's invalid lines."""
        with self._lock:
            order = self._order(petition_id)
            return len(order.keys) - order.examined, len(order.keys)
