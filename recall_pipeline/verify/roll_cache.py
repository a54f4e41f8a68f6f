"""The prepared roll's lookup keys and statistics, kept in the warehouse between runs.

Matching a line needs only the registrations its blocking passes reach, but finding those
means normalizing the whole roll: millions of rows, most of a run's matching time. A run that
normalizes the whole roll therefore keeps, for every registration and past address, the 64-bit
hash of its key in every blocking pass (`roll_match_keys`, `history_match_keys`), and what the
model measures on the roll (`roll_statistics`, `roll_name_shares`). A run for a few new scan
batches hashes its lines' keys the same way, reads just the registrations whose hashes are
among them, and normalizes those rows again. Hashes only narrow the read: matching compares the
normalized fields themselves, so a collision brings in a row that is then weighed and left
out, never a wrong match. The keys carry the version of the roll and address-history files
and of the ZIP lists (which say who belongs to a city inside a county), of the code and settings
that prepare and key the roll (`versions.stage_version("keys")`: derived from their content) and
of the hash function they were built with, and are rebuilt whenever that version is not the
current one.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa

from recall_pipeline.ingest.ledger import ledger_files
from recall_pipeline.verify import match as m
from recall_pipeline.verify.frames import KEY_HASH_FUNCTION, strings
from recall_pipeline.verify.jurisdiction import zips_by_code
from recall_pipeline.verify.model import RollStatistics
from recall_pipeline.verify.pipeline import prepare_rolls
from recall_pipeline.verify.schemas import (
    HISTORY_MATCH_KEYS,
    MATCH_KEY_VERSIONS,
    ROLL_MATCH_KEYS,
    ROLL_NAME_SHARES,
    ROLL_STATISTICS,
)
from recall_pipeline.versions import stage_version
from recall_pipeline.warehouse import Warehouse, Within

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
    "city",
]
Prepared = dict[str, tuple[pd.DataFrame, pd.DataFrame, RollStatistics]]


def keys_code_version() -> str:
    """The version of the code and reference tables that prepare, key and measure the roll
    (`"keys-<12 hex>"`): a hash of this module, every module it imports and the data they
    read (`versions`). When any of it changes, keys built by other code are not used."""
    return stage_version("keys")


def roll_version(store: Warehouse) -> str:
    """The version of the roll as ingested: the hash of its files' hashes and the ZIP lists'
    (from the ledger), of the code that keys it and of the hash function it keys with."""
    files = ledger_files(store, KEY_INPUTS).to_numpy().tolist()
    keyed_by = [keys_code_version(), KEY_HASH_FUNCTION]
    return hashlib.sha256(json.dumps([*keyed_by, files]).encode()).hexdigest()


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
    """Keep the keys and statistics of each jurisdiction's prepared roll, then record the
    version they were built from (last: a run that stops in between leaves a version that does
    not match, not stale keys marked current)."""
    schemas = (ROLL_MATCH_KEYS, HISTORY_MATCH_KEYS, ROLL_STATISTICS, ROLL_NAME_SHARES)
    # Keys kept by code with other columns cannot take a slice: start the tables afresh, and
    # forget every kept version, since the other jurisdictions' keys go too.
    afresh = any(store.column_names(s.name) not in ([], s.column_names) for s in schemas)
    if afresh:
        store.publish(MATCH_KEY_VERSIONS, MATCH_KEY_VERSIONS.arrow_schema().empty_table())
    for code, (roll, history, stats) in prepared.items():
        where = None if afresh else {"jurisdiction_code": code}
        store.publish(ROLL_MATCH_KEYS, _keys_table(roll, code, m.KEY_COLUMNS), replace_where=where)
        store.publish(
            HISTORY_MATCH_KEYS,
            _keys_table(history, code, m.HISTORY_KEY_COLUMNS),
            replace_where=where,
        )
        store.publish(ROLL_STATISTICS, stats.frame(code), replace_where=where)
        store.publish(ROLL_NAME_SHARES, _shares_table(stats, code), replace_where=where)
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
) -> tuple[pd.DataFrame, pd.DataFrame, RollStatistics]:
    """The registrations (and past addresses) of `code` that prepared `lines` can reach in any
    blocking pass, prepared as `prepare_all` prepares the whole roll, and the whole roll's
    statistics as kept.

    Matching these lines against these gives exactly what matching them against the whole
    roll gives: every pass's blocks are complete, and so is the count of the holders of each
    full name (the full-name pass's key)."""
    addressed = lines[lines["has_address"].to_numpy()]
    here = {"jurisdiction_code": code}
    at, named = [], []
    for blocking in m.PASSES:
        _, probes = m.probe_keys(addressed, blocking)
        if blocking is m.PASSES[-1]:
            # The name count reads every line's name, with an address or not.
            _, probes = m.probe_keys(lines, blocking)
        wanted = _distinct(probes)
        for column in blocking.hash_columns:
            (at if blocking.history else named).append({**here, column: wanted})
    moved = Within(HISTORY_MATCH_KEYS.name, "voter_id", at)
    # Voters found by a past address come with their registration too: it holds their names.
    roll = _rows_of(
        store,
        "voter_roll",
        ROLL_COLUMNS,
        [Within(ROLL_MATCH_KEYS.name, "voter_id", [*at, *named]), moved],
    )
    history = _rows_of(store, "voter_address_history", None, [moved])
    # Found by the keys kept for `code`, these are its voters; without its ZIPs the filter would
    # drop a city's voters, whose rows carry their county's code.
    prepared_roll, prepared_history, _ = prepare_rolls(
        roll, history, {code}, jurisdiction_zips(store), measure=False
    )[code]
    return prepared_roll, prepared_history, kept_statistics(store, code)


def kept_statistics(store: Warehouse, code: str) -> RollStatistics:
    """The statistics `publish` kept for the jurisdiction's whole roll."""
    rows = store.read_frame(ROLL_STATISTICS.name, where={"jurisdiction_code": code})
    shares = store.read_frame(ROLL_NAME_SHARES.name, where={"jurisdiction_code": code})
    return RollStatistics.from_frames(rows, shares)


def _distinct(hashes) -> list[int]:
    values = np.unique(np.asarray(hashes))
    return values[values != 0].tolist()


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


def _keys_table(prepared: pd.DataFrame, code: str, columns: list[str]) -> pa.Table:
    return pa.table(
        {
            "voter_id": strings(prepared["voter_id"]),
            "jurisdiction_code": pa.repeat(pa.scalar(code, pa.string()), len(prepared)),
            **{column: prepared[column].to_numpy() for column in columns},
        }
    )


def _shares_table(stats: RollStatistics, code: str) -> pd.DataFrame:
    parts = []
    for part, shares in (("first", stats.first_name_share), ("last", stats.last_name_share)):
        parts.append(
            pd.DataFrame(
                {
                    "jurisdiction_code": code,
                    "part": part,
                    "name": shares.index.astype("str"),
                    "share": shares.to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
