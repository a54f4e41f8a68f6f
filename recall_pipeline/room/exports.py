"""The room's entries become the pipeline's inputs: challenge and ruling files in the petition's
folder, written once and never changed, which the arrivals sensor then picks up.

Each file holds the entries no earlier file holds. Which entries a file holds is recorded
(room_exported) in the transaction that puts the file in place; a file put in place whose
transaction then failed is found by its name on the next export and recorded then, so that no
entry is ever written twice (two rows with one challenge_id would both be set aside).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from recall_pipeline.contract import CHALLENGE_RULINGS, CHALLENGES
from recall_pipeline.room.store import EXPORTED, EXPORTS, RoomStore, utcnow

PREFIX = "room-"
# Input folder and columns of each kind of entry: the data contract's own.
KINDS = {
    "challenges": ("challenges", CHALLENGES.field_names),
    "rulings": ("rulings", CHALLENGE_RULINGS.field_names),
}
_STAMP = "%Y-%m-%d %H:%M:%S"

_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class Written:
    file: str
    kind: str
    rows: int


def export_entries(room: RoomStore, data_dir: Path) -> list[Written]:
    """Write every entry not yet in a file, challenges before rulings (a ruling's challenge
    must be in the inputs first)."""
    written = []
    with _ONE_AT_A_TIME:
        for petition_id in room.petitions_with_entries():
            folder = data_dir / "petitions" / petition_id
            if not folder.is_dir():
                continue
            for kind in KINDS:
                _recover(room, folder, petition_id, kind)
                one = _export(room, folder, petition_id, kind)
                if one is not None:
                    written.append(one)
    return written


def _export(room: RoomStore, folder: Path, petition_id: str, kind: str) -> Written | None:
    entries = room.unexported(kind, petition_id)
    if entries.empty:
        return None
    sub, columns = KINDS[kind]
    text = _csv(entries, columns)
    name = f"{PREFIX}{utcnow():%Y%m%dT%H%M%S%f}.csv"
    target = folder / sub / name
    relative = f"petitions/{petition_id}/{sub}/{name}"
    scratch = folder / ".room-partial"
    scratch.mkdir(exist_ok=True)
    partial = scratch / name
    partial.write_text(text, encoding="utf-8")
    with room.store.begin() as conn:
        if room.store.dialect == "postgresql":
            # One exporter at a time across processes serving the same warehouse.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('room_exports'))"))
        _record(conn, relative, petition_id, kind, entries["challenge_id"], text)
        target.parent.mkdir(exist_ok=True)
        os.replace(partial, target)
    return Written(relative, kind, len(entries))


def _record(conn, relative: str, petition_id: str, kind: str, ids, text: str) -> None:
    conn.execute(EXPORTED.insert(), [{"kind": kind, "entry_id": i, "file": relative} for i in ids])
    conn.execute(
        EXPORTS.insert().values(
            file=relative,
            petition_id=petition_id,
            kind=kind,
            row_count=len(ids),
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            written_at=utcnow(),
        )
    )


def _recover(room: RoomStore, folder: Path, petition_id: str, kind: str) -> None:
    """Record the room's files in place whose transaction did not commit."""
    sub, _ = KINDS[kind]
    present = sorted((folder / sub).glob(f"{PREFIX}*.csv"))
    if not present:
        return
    with room.store.begin() as conn:
        known = {r[0] for r in conn.execute(sa.select(EXPORTS.c.file))}
        for path in present:
            relative = f"petitions/{petition_id}/{sub}/{path.name}"
            if relative in known:
                continue
            text = path.read_text(encoding="utf-8")
            ids = pd.read_csv(io.StringIO(text), dtype=str)["challenge_id"]
            _record(conn, relative, petition_id, kind, ids, text)


def _csv(entries: pd.DataFrame, columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in entries.to_dict("records"):
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if hasattr(value, "strftime"):
        return value.strftime(_STAMP)
    return str(value)
