"""The prepared roll's lookup keys, kept in the warehouse between runs.

Matching a line needs only the registrations at its dwelling and every registration holding
its full name, but finding those means normalizing the whole roll: millions of rows, most of a
run's matching time. A run that normalizes the whole roll therefore keeps, for every
registration and past address, a 64-bit hash of its dwelling keys and of its full name
(`roll_match_keys`, `history_match_keys`). A run for a few new scan batches hashes its lines'
keys the same way, reads just the registrations whose hashes are among them, and normalizes
those rows again. Hashes only narrow the read: matching and the name count compare the
normalized text itself, so a collision brings in a row that is then left out, never a wrong
match. The keys carry the version of the roll and address-history files and of the ZIP lists
(which say who belongs to a city inside a county), of the normalization code and of the hash
function they were built with, and are rebuilt whenever that version is not the current one.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.ingest.ledger import ledger_files
from recall_pipeline.verify.frames import KEY_HASH_FUNCTION, key_hashes, strings
from recall_pipeline.verify.jurisdiction import zips_by_code
from recall_pipeline.verify.match import DWELLING_HASHES
from recall_pipeline.verify.pipeline import prepare_rolls
from recall_pipeline.verify.schemas import HISTORY_MATCH_KEYS, MATCH_KEY_VERSIONS, ROLL_MATCH_KEYS
from recall_pipeline.warehouse import Warehouse, Within

# Bump with any change to normalization (verify/normalize.py), to what prepare_roll and
# prepare_history produce, to who belongs to a jurisdiction or to how keys are hashed: keys
# built by other code must not be used.
KEYS_CODE_VERSION = "roll-keys-4"
ROLL_INPUTS = ("voter_roll", "voter_address_history")
# A jurisdiction's keys are those of its voters, and the ZIP lists say who belongs to a city
# inside a county (verify.jurisdiction).
KEY_INPUTS = (*ROLL_INPUTS, "jurisdiction_zips")
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
Prepared = dict[str, tuple[pd.DataFrame, pd.DataFrame]]


def roll_version(store: Warehouse) -> str:
    """The version of the roll as ingested: the hash of its files' hashes and the ZIP lists'
    (from the ledger), of the normalization code and of the hash function's library."""
    files = ledger_files(store, KEY_INPUTS).to_numpy().tolist()
    code = [KEYS_CODE_VERSION, KEY_HASH_FUNCTION]
    return hashlib.sha256(json.dumps([code, files]).encode()).hexdigest()


def prepare_all(store: Warehouse, jurisdictions: set[str]) -> Prepared:
    """Each jurisdiction's prepared roll and history, from the whole published roll."""
    if not jurisdictions:
        return {}
    return prepare_rolls(
        store.read_frame("voter_roll", columns=ROLL_COLUMNS),
        store.read_frame("voter_address_history"),
        jurisdictions,
        jurisdiction_zips(store),
    )


def jurisdiction_zips(store: Warehouse) -> dict[str, frozenset[str]]:
    """Each jurisdiction's ZIPs, as published."""
    return zips_by_code(
        store.read_frame("jurisdiction_zips", columns=["jurisdiction_code", "zip5"])
    )


def publish(store: Warehouse, prepared: Prepared, version: str) -> None:
    """Keep the keys of each jurisdiction's prepared roll, then record the version they were
    built from (last: a run that stops in between leaves a version that does not match, not
    stale keys marked current)."""
    schemas = (ROLL_MATCH_KEYS, HISTORY_MATCH_KEYS)
    # Keys kept by code with other columns cannot take a slice: start the tables afresh, and
    # forget every kept version, since the other jurisdictions' keys go too.
    afresh = any(store.column_names(s.name) not in ([], s.column_names) for s in schemas)
    if afresh:
        store.publish(MATCH_KEY_VERSIONS, MATCH_KEY_VERSIONS.arrow_schema().empty_table())
    for code, (roll, history) in prepared.items():
        where = None if afresh else {"jurisdiction_code": code}
        store.publish(ROLL_MATCH_KEYS, _keys_table(roll, code, named=True), replace_where=where)
        store.publish(HISTORY_MATCH_KEYS, _keys_table(history, code), replace_where=where)
        afresh = False
        row = {"jurisdiction_code": code, "roll_rows": len(roll), "history_rows": len(history)}
        store.publish(
            MATCH_KEY_VERSIONS,
            pa.Table.from_pylist([{**row, "roll_version": version}]),
            replace_where={"jurisdiction_code": code},
        )


def current_jurisdictions(store: Warehouse, version: str) -> set[str]:
    """The jurisdictions whose kept keys were built from the roll as it is now."""
    if MATCH_KEY_VERSIONS.name not in store.table_names():
        return set()
    rows = store.read(MATCH_KEY_VERSIONS).to_pylist()
    return {r["jurisdiction_code"] for r in rows if r["roll_version"] == version}


def reachable(
    store: Warehouse, code: str, lines: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registrations (and past addresses) of `code` that prepared `lines` can reach —
    everyone at one of their dwellings, exact or loose, now or before, and everyone holding
    one of their full names — prepared as `prepare_all` prepares the whole roll.

    Matching these lines against these gives exactly what matching them against the whole
    roll gives: every candidate block is complete, and so is the set of holders of each full
    name the name-alone rule counts.
    """
    addressed = lines[lines["has_address"]]
    here = {"jurisdiction_code": code}
    at = [{**here, hashed: _distinct(addressed[hashed])} for hashed in DWELLING_HASHES.values()]
    named = {**here, "name_hash": _distinct(key_hashes(_name_keys(lines, "name_")))}
    moved = Within(HISTORY_MATCH_KEYS.name, "voter_id", at)
    # Voters found by a past address come with their registration too: it holds their names.
    roll = _rows_of(
        store,
        "voter_roll",
        ROLL_COLUMNS,
        [Within(ROLL_MATCH_KEYS.name, "voter_id", [*at, named]), moved],
    )
    history = _rows_of(store, "voter_address_history", None, [moved])
    # Found by the keys kept for `code`, these are its voters; without its ZIPs the filter would
    # drop a city's voters, whose rows carry their county's code.
    return prepare_rolls(roll, history, {code}, jurisdiction_zips(store))[code]


def _distinct(hashes) -> list[int]:
    return np.unique(np.asarray(hashes)).tolist()


def _rows_of(
    store: Warehouse, table: str, columns: list[str] | None, voters: list[Within]
) -> pd.DataFrame:
    """The rows of `table` whose voter_id is in any of `voters`, once each, in one order."""
    frame = pd.concat(
        [store.read_frame(table, columns=columns, where={"voter_id": w}) for w in voters],
        ignore_index=True,
    )
    key = [c for c in ("voter_id", "source_file", "source_row") if c in frame]
    return frame.drop_duplicates(key).sort_values(key, kind="stable").reset_index(drop=True)


def _name_keys(prepared: pd.DataFrame, prefix: str = "") -> pa.Array:
    """Each row's normalized first and last name as one key (prepared lines name those
    columns `name_first` and `name_last`). The unit separator never occurs in a name."""
    first, last = (strings(prepared[f"{prefix}{part}"]) for part in ("first", "last"))
    return pc.binary_join_element_wise(first, last, "\x1f")


def _keys_table(prepared: pd.DataFrame, code: str, named: bool = False) -> pa.Table:
    columns = {
        "voter_id": strings(prepared["voter_id"]),
        "jurisdiction_code": pa.repeat(pa.scalar(code, pa.string()), len(prepared)),
        **{hashed: prepared[hashed].to_numpy() for hashed in DWELLING_HASHES.values()},
    }
    if named:
        columns["name_hash"] = key_hashes(_name_keys(prepared))
    return pa.table(columns)
