"""The prepared roll kept between runs: versioned, rebuilt when its layout changes, and counted
in the warehouse for the name-alone rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa

from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.verify import roll_cache
from recall_pipeline.warehouse import Warehouse


def prepared(voters: list[tuple[str, str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    roll = pd.DataFrame(
        {
            "voter_id": [v for v, _, _ in voters],
            "dwelling": ["1\x1fMAIN\x1f90001"] * len(voters),
            "loose_dwelling": ["1\x1fMAIN\x1f90001"] * len(voters),
            "first": [f for _, f, _ in voters],
            "middle": [""] * len(voters),
            "last": [last for _, _, last in voters],
        }
    )
    history = roll.iloc[:1].assign(
        valid_from=dt.date(2020, 1, 1),
        valid_to=dt.date(2021, 1, 1),
        history_source_file="voter_roll/history.csv",
        history_source_row=1,
    )
    return roll, history


def test_keys_are_kept_per_jurisdiction_with_their_version(tmp_path: Path) -> None:
    store = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE"), ("2", "ANA", "LEE")])}, "v1")
    roll_cache.publish(store, {"B": prepared([("3", "BO", "KIM")])}, "v1")
    assert roll_cache.current_jurisdictions(store, "v1") == {"A", "B"}
    assert roll_cache.current_jurisdictions(store, "v2") == set()
    roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE")])}, "v2")
    assert roll_cache.current_jurisdictions(store, "v2") == {"A"}
    roll, history = roll_cache.kept(store, "A")
    assert roll["voter_id"].tolist() == ["1"] and len(history) == 1
    assert len(roll_cache.kept(store, "B")[0]) == 1  # another jurisdiction's slice is untouched

    counts = store.count_by(
        "roll_match_keys", ["first", "last"], {"name_key": ["ANA\x1fLEE", "BO\x1fKIM"]}, "voter_id"
    )
    assert sorted(map(tuple, counts.to_numpy().tolist())) == [
        ("ANA", "LEE", 1, "1"),
        ("BO", "KIM", 1, "3"),
    ]
    store.dispose()


def test_keys_kept_by_code_with_another_layout_are_rebuilt_not_reused(tmp_path: Path) -> None:
    store = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    roll_cache.publish(store, {"B": prepared([("3", "BO", "KIM")])}, "v1")
    older = TableSchema(
        "roll_match_keys", (Column("voter_id", "string"), Column("jurisdiction_code", "string"))
    )
    store.publish(older, pa.table({"voter_id": ["9"], "jurisdiction_code": ["B"]}))
    roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE")])}, "v1")
    assert store.column_names("roll_match_keys")[-1] == "name_key"
    # B's keys went with the old layout, so B's version is forgotten too.
    assert roll_cache.current_jurisdictions(store, "v1") == {"A"}
    assert store.read("roll_match_keys", columns=["voter_id"]).column(0).to_pylist() == ["1"]
    store.dispose()
