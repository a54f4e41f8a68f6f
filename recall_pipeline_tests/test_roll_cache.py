"""The prepared roll's keys kept between runs: versioned per jurisdiction, rebuilt when their
layout changes, and hashed so that equal text always meets equal text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from recall_pipeline import versions
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.verify import frames, roll_cache
from recall_pipeline.verify import match as m
from recall_pipeline.verify.model import default_model, roll_statistics
from recall_pipeline.warehouse import Warehouse


def prepared(voters: list[tuple[str, str, str]]):
    """Voters at one dwelling, prepared as matching prepares a roll, with one past address."""
    raw = pd.DataFrame(
        {
            "voter_id": [v for v, _, _ in voters],
            "first_name": [f for _, f, _ in voters],
            "middle_name": "",
            "last_name": [last for _, _, last in voters],
            "house_number": "1",
            "street_predir": "",
            "street_name": "MAIN",
            "street_type": "ST",
            "street_postdir": "",
            "zip": "90001",
            "city": "LOS ANGELES",
        }
    ).astype("str")
    roll = m.prepare_roll(raw)
    history = m.with_names(
        m.history_addresses(
            raw.iloc[:1].assign(
                valid_from=dt.date(2020, 1, 1),
                valid_to=dt.date(2021, 1, 1),
                source_file="voter_roll/history.csv",
                source_row=1,
            )
        ),
        roll,
    )
    return roll, history, roll_statistics(roll, default_model())


def test_keys_are_kept_per_jurisdiction_with_their_version(tmp_path: Path) -> None:
    store = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE"), ("2", "ANA", "LEE")])}, "v1")
    roll_cache.publish(store, {"B": prepared([("3", "BO", "KIM")])}, "v1")
    assert roll_cache.current_jurisdictions(store, "v1") == {"A", "B"}
    assert roll_cache.current_jurisdictions(store, "v2") == set()
    roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE")])}, "v2")
    assert roll_cache.current_jurisdictions(store, "v2") == {"A"}
    keys = store.read("roll_match_keys").to_pandas().sort_values("voter_id")
    # A's slice was replaced; B's is untouched.
    assert keys["voter_id"].tolist() == ["1", "3"]
    assert sorted(store.read("history_match_keys")["jurisdiction_code"].to_pylist()) == ["A", "B"]
    ana, bo = keys["full_name_hash"].tolist()
    assert ana == frames.key_hashes(pa.array(["ANA\x1fLEE"]))[0] != bo
    # The statistics of each jurisdiction's roll are kept beside its keys, and read back whole.
    kept = roll_cache.kept_statistics(store, "A")
    assert kept.registrations == 1 and kept.first_name_share.to_dict() == {"ANA": 1.0}
    store.dispose()


def test_keys_kept_by_code_with_another_layout_are_rebuilt_not_reused(tmp_path: Path) -> None:
    store = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    roll_cache.publish(store, {"B": prepared([("3", "BO", "KIM")])}, "v1")
    older = TableSchema(
        "roll_match_keys", (Column("voter_id", "string"), Column("jurisdiction_code", "string"))
    )
    store.publish(older, pa.table({"voter_id": ["9"], "jurisdiction_code": ["B"]}))
    roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE")])}, "v1")
    assert store.column_names("roll_match_keys")[-1] == m.KEY_COLUMNS[-1]
    # B's keys went with the old layout, so B's version is forgotten too.
    assert roll_cache.current_jurisdictions(store, "v1") == {"A"}
    assert store.read("roll_match_keys", columns=["voter_id"]).column(0).to_pylist() == ["1"]
    store.dispose()


def test_key_hashes_are_one_signed_64_bit_value_per_text_whatever_its_container() -> None:
    text = ["1\x1fMAIN\x1f90001", "1\x1fMAIN\x1f90002", "", "1\x1fMAIN\x1f90001"]
    from_arrow = frames.key_hashes(pa.array(text))
    from_pandas = frames.key_hashes(pd.Series(text, dtype="str"))
    chunked = frames.key_hashes(pa.chunked_array([text[:1], text[1:]]))
    assert from_arrow.dtype == np.int64
    np.testing.assert_array_equal(from_arrow, from_pandas)
    np.testing.assert_array_equal(from_arrow, chunked)
    assert from_arrow[0] == from_arrow[3]
    assert len(set(from_arrow[:3].tolist())) == 3


def test_the_version_follows_the_code_and_settings_that_key_the_roll(monkeypatch) -> None:
    files = pd.DataFrame({"input_name": ["voter_roll"], "source_sha256": ["ab"]})
    monkeypatch.setattr(roll_cache, "ledger_files", lambda store, inputs: files)
    versions.stage_version.cache_clear()
    before = roll_cache.roll_version(None)
    versions.stage_version.cache_clear()
    monkeypatch.setattr(roll_cache, "KEY_HASH_FUNCTION", "another-hash")
    assert roll_cache.roll_version(None) != before
    versions.stage_version.cache_clear()
    monkeypatch.undo()
    monkeypatch.setattr(roll_cache, "ledger_files", lambda store, inputs: files)
    assert roll_cache.roll_version(None) == before
    # A source file of the matcher with one byte more is another version.
    real = Path.read_bytes
    monkeypatch.setattr(
        Path,
        "read_bytes",
        lambda self: real(self) + (b"#" if self.name == "compare.py" else b""),
    )
    versions.stage_version.cache_clear()
    assert roll_cache.roll_version(None) != before
    versions.stage_version.cache_clear()
