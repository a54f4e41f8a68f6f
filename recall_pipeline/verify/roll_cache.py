"""The prepared roll, kept in the warehouse between runs.

Matching a line needs only the registrations at its dwelling and the count of registrations
holding its full name, but finding those means normalizing the whole roll: millions of rows,
most of a run's matching time. A full run publishes the prepared roll it built anyway
(`roll_match_keys`, `history_match_keys`); a run for a few new scan batches then reads just
the registrations its lines can reach. The keys carry the version of the roll and address
history files and of the normalization code they were built from, and are rebuilt whenever
that version is not the current one, so a stale key is never used.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.ingest.ledger import ledger_files
from recall_pipeline.verify.frames import strings
from recall_pipeline.verify.pipeline import prepare_rolls
from recall_pipeline.verify.schemas import HISTORY_MATCH_KEYS, MATCH_KEY_VERSIONS, ROLL_MATCH_KEYS
from recall_pipeline.warehouse import Warehouse

# Bump with any change to normalization (verify/normalize.py) or to what prepare_roll and
# prepare_history produce: keys built by other code must not be reused.
KEYS_CODE_VERSION = "roll-keys-2"
ROLL_INPUTS = ("voter_roll", "voter_address_history")
ROLL_COLUMNS = [
    "voter_id",
    "jurisdiction_code",
    "first_name",
    "middle_name",
    "last_name",
    "house_number",
    "street_predir",
    "street_name",
    "street_type",
    "street_postdir",
    "zip",
]
_NAME_COLUMNS = ["first", "middle", "last"]

Prepared = dict[str, tuple[pd.DataFrame, pd.DataFrame]]


def roll_version(store: Warehouse) -> str:
    """The version of the roll as ingested: the hash of its files' hashes (from the ledger)
    and of the normalization code."""
    files = ledger_files(store, ROLL_INPUTS).to_numpy().tolist()
    return hashlib.sha256(json.dumps([KEYS_CODE_VERSION, files]).encode()).hexdigest()


def prepare_all(store: Warehouse, jurisdictions: set[str]) -> Prepared:
    """Each jurisdiction's prepared roll and history, from the whole published roll."""
    if not jurisdictions:
        return {}
    return prepare_rolls(
        store.read("voter_roll", columns=ROLL_COLUMNS).to_pandas(),
        store.read("voter_address_history").to_pandas(),
        jurisdictions,
    )


def publish(store: Warehouse, prepared: Prepared, version: str) -> None:
    """Keep the prepared roll of each jurisdiction, then record the version it was built from
    (last: a run that stops in between leaves a version that does not match, not stale keys
    marked current)."""
    schemas = (ROLL_MATCH_KEYS, HISTORY_MATCH_KEYS)
    # Keys kept by code with other columns cannot take a slice: start the tables afresh, and
    # forget every kept version, since the other jurisdictions' keys go too.
    afresh = any(store.column_names(s.name) not in ([], s.column_names) for s in schemas)
    if afresh:
        store.publish(MATCH_KEY_VERSIONS, MATCH_KEY_VERSIONS.arrow_schema().empty_table())
    for code, (roll, history) in prepared.items():
        where = None if afresh else {"jurisdiction_code": code}
        store.publish(
            ROLL_MATCH_KEYS, _keys_table(ROLL_MATCH_KEYS, roll, code), replace_where=where
        )
        store.publish(
            HISTORY_MATCH_KEYS, _keys_table(HISTORY_MATCH_KEYS, history, code), replace_where=where
        )
        afresh = False
        row = {"jurisdiction_code": code, "roll_rows": len(roll), "history_rows": len(history)}
        store.publish(
            MATCH_KEY_VERSIONS,
            pa.Table.from_pylist([{**row, "roll_version": version}]),
            replace_where={"jurisdiction_code": code},
        )


def kept(store: Warehouse, code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All kept keys of `code`: for a run over most lines, one narrow read beats many lookups."""
    where = {"jurisdiction_code": code}
    return _as_prepared(
        store.read(ROLL_MATCH_KEYS, where=where).to_pandas(),
        store.read(HISTORY_MATCH_KEYS, where=where).to_pandas(),
    )


def current_jurisdictions(store: Warehouse, version: str) -> set[str]:
    """The jurisdictions whose kept keys were built from the roll as it is now."""
    if MATCH_KEY_VERSIONS.name not in store.table_names():
        return set()
    rows = store.read(MATCH_KEY_VERSIONS).to_pylist()
    return {r["jurisdiction_code"] for r in rows if r["roll_version"] == version}


def reachable(
    store: Warehouse, code: str, lines: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The kept registrations (and past addresses) of `code` at the dwellings of prepared
    `lines`, exact or loose, and — for the name-alone rule — how many registrations of `code`
    hold each of their full names (`match.match_lines`'s `name_counts`).

    Matching these lines against these gives exactly what matching them against the whole roll
    gives: every candidate block is complete, and so is every name count.
    """
    addressed = lines[lines["has_address"]]
    dwellings = sorted(set(addressed["dwelling"]))
    loose = sorted(set(addressed["loose_dwelling"]))
    here = {"jurisdiction_code": code}

    def read(schema, where) -> pd.DataFrame | None:
        return store.read(schema, where={**here, **where}).to_pandas() if where else None

    def at(schema) -> list[pd.DataFrame]:
        found = [read(schema, {"dwelling": dwellings} if dwellings else {})]
        found.append(read(schema, {"loose_dwelling": loose} if loose else {}))
        return [f for f in found if f is not None]

    roll = _union(at(ROLL_MATCH_KEYS), ROLL_MATCH_KEYS, ["voter_id"])
    history = _union(
        at(HISTORY_MATCH_KEYS),
        HISTORY_MATCH_KEYS,
        ["history_source_file", "history_source_row", "voter_id"],
    )
    names = {
        "name_key": sorted(set(_name_keys(lines["name_first"], lines["name_last"]).to_pylist()))
    }
    counts = store.count_by(ROLL_MATCH_KEYS.name, ["first", "last"], {**here, **names}, "voter_id")
    return (*_as_prepared(roll, history), counts)


def _name_keys(first: pd.Series, last: pd.Series) -> pa.Array:
    # The unit separator never occurs in a normalized name.
    return pc.binary_join_element_wise(strings(first), strings(last), "\x1f")


def _union(parts: list[pd.DataFrame], schema, key: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in schema.column_names})
    frame = pd.concat(parts, ignore_index=True).drop_duplicates(key)
    # One order whatever order the reads came back in (matching itself breaks ties by key).
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _keys_table(schema, prepared: pd.DataFrame, code: str) -> pa.Table:
    frame = prepared.assign(jurisdiction_code=code)
    if "name_key" in schema.column_names:
        frame["name_key"] = pd.Series(
            _name_keys(frame["first"], frame["last"]), index=frame.index, dtype="str"
        )
    return pa.Table.from_pandas(frame[schema.column_names], preserve_index=False)


def _as_prepared(roll: pd.DataFrame, history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kept keys in the shape `prepare_roll` and `prepare_history` return."""
    roll = roll.drop(columns=["jurisdiction_code", "name_key"])
    history = history.drop(columns=["jurisdiction_code"])
    history_columns = ["voter_id", "dwelling", "loose_dwelling", "valid_from", "valid_to"]
    history_columns += ["history_source_file", "history_source_row", *_NAME_COLUMNS]
    return roll[["voter_id", "dwelling", "loose_dwelling", *_NAME_COLUMNS]], history[
        history_columns
    ]
