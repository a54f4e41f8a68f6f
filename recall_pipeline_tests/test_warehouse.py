"""Tests of recall_pipeline.warehouse, each run on DuckDB and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import math
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.warehouse import Warehouse, Within
from recall_pipeline_tests.faults import fail_writes

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC

ALL_TYPES = TableSchema(
    name="all_types",
    columns=(
        Column("id", "integer", nullable=False),
        Column("name", "string", nullable=False),
        Column("note", "string"),
        Column("amount", "float"),
        Column("flag", "boolean"),
        Column("day", "date"),
        Column("at", "timestamp"),
        Column("count", "integer"),
    ),
    primary_key=("id",),
)

TRICKY_STRINGS = [
    "plain",
    "comma, inside",
    'double "quotes" inside',
    "'single' quotes",
    "line\nbreak",
    "crlf\r\nbreak",
    "tab\there",
    "back\\slash",
    "\\.",
    "\\N",
    "NULL",
    "",
    "ünïcödé — ✓ 漢字 😀",
    ' ,"\n',
]


def all_types_data() -> pa.Table:
    n = len(TRICKY_STRINGS) + 4
    notes: list[str | None] = [*TRICKY_STRINGS, None, None, None, None]
    ts = [
        dt.datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC),
        None,
        dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    days = [
        dt.date(2024, 2, 29),
        None,
        dt.date(1, 1, 1),
        dt.date(9999, 12, 31),
        dt.date(1970, 1, 1),
    ]
    floats = [0.1, None, math.inf, -math.inf, math.nan, 1e-300, -0.0, 123456789.123456789]
    ints = [0, None, -(2**63), 2**63 - 1, 42]
    bools = [True, False, None]
    return pa.table(
        {
            "id": list(range(n)),
            "name": [f"name {i}: {TRICKY_STRINGS[i % len(TRICKY_STRINGS)]}" for i in range(n)],
            "note": notes,
            "amount": [floats[i % len(floats)] for i in range(n)],
            "flag": [bools[i % len(bools)] for i in range(n)],
            "day": [days[i % len(days)] for i in range(n)],
            "at": pa.array([ts[i % len(ts)] for i in range(n)], pa.timestamp("us", tz="UTC")),
            "count": [ints[i % len(ints)] for i in range(n)],
        }
    )


def rows(table: pa.Table, sort_by: str | list[str] | None = "id") -> list[dict]:
    """Comparable rows: NaN made equal to itself, optionally sorted."""
    if sort_by:
        keys = [sort_by] if isinstance(sort_by, str) else sort_by
        table = table.sort_by([(k, "ascending") for k in keys])
    out = table.to_pylist()
    for row in out:
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                row[key] = "NaN"
    return out


def staging_tables(wh: Warehouse) -> list[str]:
    return [n for n in wh.table_names(include_staging=True) if n.startswith("_stage_")]


SMALL = TableSchema(
    name="people",
    columns=(
        Column("id", "integer", nullable=False),
        Column("name", "string", nullable=False),
        Column("score", "float"),
    ),
    primary_key=("id",),
)


def small_data(ids: range, tag: str) -> pa.Table:
    return pa.table(
        {
            "id": list(ids),
            "name": [f"{tag}-{i}" for i in ids],
            "score": [i / 7 for i in ids],
        }
    )


# --- round trips ------------------------------------------------------------------------------


def test_round_trip_every_type(warehouse: Warehouse) -> None:
    data = all_types_data()
    assert warehouse.publish(ALL_TYPES, data) == data.num_rows

    back = warehouse.read(ALL_TYPES.name)
    expected = ALL_TYPES.conform(data)
    assert back.schema.names == ALL_TYPES.column_names
    assert back.schema.types == expected.schema.types
    assert rows(back) == rows(expected)
    # empty string and NULL stay distinct
    notes = dict(zip(back["id"].to_pylist(), back["note"].to_pylist(), strict=True))
    assert notes[TRICKY_STRINGS.index("")] == ""
    assert notes[len(TRICKY_STRINGS)] is None

    # conformed read, column subset and order
    assert rows(warehouse.read(ALL_TYPES)) == rows(expected)
    subset = warehouse.read(ALL_TYPES.name, columns=["day", "id"])
    assert subset.column_names == ["day", "id"]
    assert rows(subset) == rows(expected.select(["day", "id"]))

    assert warehouse.table_exists(ALL_TYPES.name)
    assert not warehouse.table_exists("nope")
    assert warehouse.table_names() == [ALL_TYPES.name]
    assert warehouse.row_count(ALL_TYPES.name) == data.num_rows


def test_read_frame_is_read_into_pandas(warehouse: Warehouse) -> None:
    data = all_types_data()
    warehouse.publish(ALL_TYPES, data)
    expected = warehouse.read(ALL_TYPES.name).to_pandas()
    pd.testing.assert_frame_equal(warehouse.read_frame(ALL_TYPES.name), expected)
    subset = warehouse.read_frame(ALL_TYPES.name, columns=["day", "id"], date_as_object=False)
    assert subset["day"].dtype.kind == "M"
    assert subset["day"].isna().tolist() == expected["day"].isna().tolist()
    assert list(subset["day"].dropna().dt.date) == list(expected["day"].dropna())
    # The setting that hands DuckDB's text over as large strings does not outlive the read.
    assert warehouse.read(ALL_TYPES.name).schema.field("note").type == pa.string()


def test_round_trip_from_pandas_and_empty(warehouse: Warehouse) -> None:
    df = pd.DataFrame(
        {
            "score": [1.5, None],
            "name": ['a,"b"\n', "ç"],
            "id": [1, 2],
            "ignored": ["x", "y"],
        }
    )
    assert warehouse.publish(SMALL, df) == 2
    assert rows(warehouse.read(SMALL)) == [
        {"id": 1, "name": 'a,"b"\n', "score": 1.5},
        {"id": 2, "name": "ç", "score": None},
    ]
    assert warehouse.publish(SMALL, SMALL.arrow_schema().empty_table()) == 0
    empty = warehouse.read(SMALL.name)
    assert empty.num_rows == 0
    assert empty.schema.names == SMALL.column_names


def test_a_table_of_many_batches_round_trips_whole(warehouse: Warehouse) -> None:
    # More rows than one load batch (DuckDB takes a table in slices of a row group each), with
    # missing values across the slice boundaries and a slice of a larger table as the input.
    n = 300_001
    ids = range(n + 5)
    data = pa.table(
        {
            "id": list(ids),
            "name": [f"n{i}" for i in ids],
            "score": [None if i % 9 == 0 else i / 3 for i in ids],
        }
    )
    sliced = data.slice(5)
    assert warehouse.publish(SMALL, sliced) == n
    assert rows(warehouse.read(SMALL)) == rows(sliced)


def test_query_and_execute_bind_parameters(warehouse: Warehouse) -> None:
    warehouse.publish(SMALL, small_data(range(10), "p"))
    hostile = "p-1'; DROP TABLE people; --"
    df = warehouse.query(
        "SELECT id, name FROM people WHERE name = :n OR id >= :k ORDER BY id",
        {"n": hostile, "k": 8},
    )
    assert df["id"].tolist() == [8, 9]
    assert warehouse.execute("DELETE FROM people WHERE id < :k", {"k": 3}) in (3, -1)
    assert warehouse.row_count("people") == 7


def test_odd_identifiers_are_quoted(warehouse: Warehouse) -> None:
    schema = TableSchema(
        name="Odd Table",
        columns=(
            Column("select", "integer", nullable=False),
            Column("Mixed Case", "string"),
            Column('with"quote', "date"),
        ),
        primary_key=("select",),
    )
    data = pa.table(
        {"select": [2, 1], "Mixed Case": ["x", None], 'with"quote': [dt.date(2020, 1, 1), None]}
    )
    warehouse.publish(schema, data)
    warehouse.publish(schema, data)
    assert warehouse.table_names() == ["Odd Table"]
    assert rows(warehouse.read(schema), "select") == rows(schema.conform(data), "select")
    assert warehouse.row_count("Odd Table") == 2
    warehouse.publish(schema, data.slice(0, 1), replace_where={"select": 2})
    assert warehouse.row_count("Odd Table") == 2


# --- DDL --------------------------------------------------------------------------------------


def test_ddl_enforces_not_null_and_primary_key(warehouse: Warehouse) -> None:
    warehouse.publish(SMALL, small_data(range(3), "p"))
    with pytest.raises(sa.exc.DBAPIError):
        warehouse.execute("INSERT INTO people (id, name) VALUES (:i, NULL)", {"i": 10})
    with pytest.raises(sa.exc.DBAPIError):
        warehouse.execute("INSERT INTO people (id, name) VALUES (NULL, 'x')")
    with pytest.raises(sa.exc.DBAPIError):
        warehouse.execute("INSERT INTO people (id, name) VALUES (1, 'duplicate')")
    warehouse.execute("INSERT INTO people (id, name) VALUES (10, 'fine')")  # score is nullable
    assert warehouse.row_count("people") == 4


def test_nulls_in_not_null_columns_are_rejected_before_writing(warehouse: Warehouse) -> None:
    warehouse.publish(SMALL, small_data(range(3), "old"))
    bad = pa.table({"id": [1, 2], "name": ["x", None], "score": [1.0, 2.0]})
    with pytest.raises(ValueError):
        warehouse.publish(SMALL, bad)
    assert rows(warehouse.read(SMALL)) == rows(small_data(range(3), "old"))


# --- replacing --------------------------------------------------------------------------------


def test_publishing_twice_replaces(warehouse: Warehouse) -> None:
    warehouse.publish(SMALL, small_data(range(100), "first"))
    warehouse.publish(SMALL, small_data(range(50, 120), "second"))
    assert warehouse.row_count("people") == 70
    assert rows(warehouse.read(SMALL)) == rows(small_data(range(50, 120), "second"))
    assert staging_tables(warehouse) == []


SHARED = TableSchema(
    name="checks",
    columns=(
        Column("input_name", "string", nullable=False),
        Column("check", "string", nullable=False),
        Column("passed", "boolean"),
        Column("checked_on", "date"),
    ),
    primary_key=("input_name", "check"),
)


def checks(input_name: str, names: list[str], passed: bool) -> pa.Table:
    return pa.table(
        {
            "input_name": [input_name] * len(names),
            "check": names,
            "passed": [passed] * len(names),
            "checked_on": [dt.date(2024, 5, 1)] * len(names),
        }
    )


def test_replace_where_replaces_only_its_slice(warehouse: Warehouse) -> None:
    assert not warehouse.table_exists("checks")
    roll = checks("voter_roll", ["a", "b", "c"], True)
    pet = checks("petitions", ["a", "x"], False)
    assert warehouse.publish(SHARED, roll, replace_where={"input_name": "voter_roll"}) == 3
    assert warehouse.publish(SHARED, pet, replace_where={"input_name": "petitions"}) == 2
    assert warehouse.row_count("checks") == 5

    roll2 = checks("voter_roll", ["a", "d"], False)  # same key "a" again, "b"/"c" gone
    warehouse.publish(SHARED, roll2, replace_where={"input_name": "voter_roll"})
    keys = ["input_name", "check"]
    assert rows(warehouse.read(SHARED), keys) == rows(pa.concat_tables([roll2, pet]), keys)
    # an empty slice publish deletes the slice
    warehouse.publish(
        SHARED, checks("voter_roll", [], True), replace_where={"input_name": "voter_roll"}
    )
    assert rows(warehouse.read(SHARED), "check") == rows(pet, "check")

    # rows outside the slice, or unknown columns, are refused and change nothing
    with pytest.raises(ValueError, match="outside the replace_where slice"):
        warehouse.publish(SHARED, roll, replace_where={"input_name": "petitions"})
    with pytest.raises(ValueError):
        warehouse.publish(SHARED, pet, replace_where={"nope": 1})
    assert rows(warehouse.read(SHARED), "check") == rows(pet, "check")
    assert staging_tables(warehouse) == []


def test_slices_and_reads_by_a_list_of_values(warehouse: Warehouse) -> None:
    """Scan batches replace their own files' rows: `replace_where` and `read(where=)` take a
    list of values as well as one value."""
    first = checks("batch", ["f1", "f2", "f3"], True)
    warehouse.publish(SHARED, first, replace_where={"input_name": "batch"})
    again = checks("batch", ["f2", "f4"], False)
    warehouse.publish(SHARED, again, replace_where={"input_name": "batch", "check": ["f2", "f4"]})
    assert rows(warehouse.read(SHARED), "check") == rows(
        pa.concat_tables([first.slice(0, 1), again.slice(0, 1), first.slice(2), again.slice(1)]),
        "check",
    )
    picked = warehouse.read("checks", columns=["check", "passed"], where={"check": ["f1", "f4"]})
    assert sorted(picked.to_pylist(), key=lambda r: r["check"]) == [
        {"check": "f1", "passed": True},
        {"check": "f4", "passed": False},
    ]
    assert warehouse.read(SHARED, where={"check": "it's"}).num_rows == 0
    with pytest.raises(ValueError, match="outside the replace_where slice"):
        warehouse.publish(SHARED, again, replace_where={"check": ["f2"]})


def test_reads_rows_whose_value_another_table_holds(warehouse: Warehouse) -> None:
    """`Within`: a semi-join in the warehouse, for value sets too large to send as a list."""
    warehouse.publish(SMALL, small_data(range(10), "p"))
    warehouse.publish(SHARED, checks("people", ["p-2", "p-7", "p-99"], True))
    picked = warehouse.read("people", columns=["id"], where={"name": Within("checks", "check")})
    assert sorted(picked["id"].to_pylist()) == [2, 7]
    both = {"name": Within("checks", "check"), "id": [7, 8]}
    assert warehouse.read("people", columns=["id"], where=both)["id"].to_pylist() == [7]
    # The other table's rows matching a condition, or any of several.
    named = Within("checks", "check", {"check": "p-7"})
    assert warehouse.read("people", columns=["id"], where={"name": named})["id"].to_pylist() == [7]
    either = Within("checks", "check", [{"check": "p-7"}, {"check": ["p-2", "p-5"]}])
    assert sorted(
        warehouse.read("people", columns=["id"], where={"name": either})["id"].to_pylist()
    ) == [2, 7]
    with pytest.raises(ValueError, match="reads only"):
        warehouse.publish(SMALL, small_data(range(2), "p"), replace_where={"name": both["name"]})


def test_replace_keys_updates_scattered_rows_and_a_slice_in_one_publish(
    warehouse: Warehouse,
) -> None:
    """A batch run re-decides its own file's lines plus scattered lines of other files."""
    warehouse.publish(SHARED, checks("f1", ["a", "b", "c"], True))
    warehouse.publish(SHARED, checks("f2", ["a", "b"], True), replace_where={"input_name": "f2"})
    # f2 now holds only "x"; f1's "b" is decided again; f1's "a" and "c" stay as they were.
    update = pa.concat_tables([checks("f2", ["x"], False), checks("f1", ["b"], False)])
    written = warehouse.publish(
        SHARED, update, replace_where={"input_name": "f2"}, replace_keys=["input_name", "check"]
    )
    assert written == 2
    got = {(r["input_name"], r["check"]): r["passed"] for r in warehouse.read(SHARED).to_pylist()}
    assert got == {("f1", "a"): True, ("f1", "b"): False, ("f1", "c"): True, ("f2", "x"): False}
    # Keys alone, without a slice: only those rows change.
    warehouse.publish(SHARED, checks("f1", ["c"], False), replace_keys=["input_name", "check"])
    assert warehouse.row_count("checks") == 4
    with pytest.raises(ValueError):
        warehouse.publish(SHARED, update, replace_keys=["nope"])
    with pytest.raises(ValueError, match="at least one column"):
        warehouse.publish(SHARED, update, replace_where={})
    assert staging_tables(warehouse) == []


def test_publish_selection_copies_matching_rows_inside_the_warehouse(
    warehouse: Warehouse,
) -> None:
    warehouse.publish(SHARED, checks("f1", ["a", "b", "c"], True))
    picked = TableSchema(name="picked", columns=SHARED.columns, primary_key=SHARED.primary_key)
    assert warehouse.publish_selection(picked, "checks", {"check": ["a", "c"]}) == 2
    assert [r["check"] for r in rows(warehouse.read(picked), "check")] == ["a", "c"]
    # Replaces the whole table each time, like publish.
    assert warehouse.publish_selection(picked, "checks", {"check": "b"}) == 1
    assert [r["check"] for r in rows(warehouse.read(picked), "check")] == ["b"]
    assert staging_tables(warehouse) == []


def test_publish_selection_replaces_only_its_slice(warehouse: Warehouse) -> None:
    warehouse.publish(SHARED, checks("f1", ["a", "b"], True))
    warehouse.publish(SHARED, checks("f2", ["a", "b"], False), replace_where={"input_name": "f2"})
    picked = TableSchema(name="picked", columns=SHARED.columns, primary_key=SHARED.primary_key)
    # Created when absent; only the source's rows in both `where` and the slice are copied.
    copied = warehouse.publish_selection(
        picked, "checks", {"check": "a"}, replace_where={"input_name": "f1"}
    )
    assert copied == 1
    warehouse.publish_selection(
        picked, "checks", {"check": ["a", "b"]}, replace_where={"input_name": ["f2"]}
    )
    got = {(r["input_name"], r["check"]) for r in warehouse.read(picked).to_pylist()}
    assert got == {("f1", "a"), ("f2", "a"), ("f2", "b")}
    # A slice replaced again: the other slice's rows stay, this one's are the source's now.
    warehouse.publish_selection(
        picked, "checks", {"check": "b"}, replace_where={"input_name": "f1"}
    )
    got = {(r["input_name"], r["check"]) for r in warehouse.read(picked).to_pylist()}
    assert got == {("f1", "b"), ("f2", "a"), ("f2", "b")}
    with pytest.raises(ValueError, match="at least one column"):
        warehouse.publish_selection(picked, "checks", {"check": "a"}, replace_where={})


def test_incompressible_columns_are_stored_as_they_are_on_duckdb(warehouse: Warehouse) -> None:
    keyed = TableSchema(
        name="keyed",
        columns=(
            Column("key", "string", False, compressible=False),
            Column("kind", "string", False),
        ),
    )
    data = pa.table({"key": [f"k{i:07d}" for i in range(300_000)], "kind": ["a", "b"] * 150_000})
    # Whole-table and slice publishes both create the table from the schema's DDL.
    for where in (None, {"kind": ["a", "b"]}):
        warehouse.execute("DROP TABLE IF EXISTS keyed")
        warehouse.publish(keyed, data, replace_where=where)
        assert warehouse.read(keyed).sort_by("key").to_pydict() == data.sort_by("key").to_pydict()
        if warehouse.dialect != "duckdb":
            continue
        stored = warehouse.query(
            "SELECT column_name, compression FROM pragma_storage_info('keyed') "
            "WHERE segment_type = 'VARCHAR' GROUP BY ALL"
        )
        by_column: dict[str, set[str]] = {}
        for column, compression in stored.itertuples(index=False):
            by_column.setdefault(column, set()).add(compression)
        assert by_column["key"] == {"Uncompressed"}
        assert by_column["kind"] == {"DICT_FSST"}


def test_a_file_in_an_older_storage_format_keeps_duckdbs_own_compression(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path), config={"storage_compatibility_version": "v0.10.2"}).close()
    older = Warehouse(f"duckdb:///{path}")
    try:
        older.publish(SMALL, small_data(range(1000), "old format"))
        assert rows(older.read(SMALL)) == rows(small_data(range(1000), "old format"))
        stored = older.query("SELECT DISTINCT compression FROM pragma_storage_info('people')")
        assert "DICT_FSST" not in set(stored["compression"])
    finally:
        older.dispose()


def test_replace_where_then_full_publish(warehouse: Warehouse) -> None:
    warehouse.publish(
        SHARED, checks("voter_roll", ["a"], True), replace_where={"input_name": "voter_roll"}
    )
    warehouse.publish(SHARED, checks("petitions", ["b"], True))
    assert warehouse.read(SHARED)["input_name"].to_pylist() == ["petitions"]


# --- failures ---------------------------------------------------------------------------------


def test_failure_mid_load_leaves_previous_table(warehouse: Warehouse) -> None:
    old = small_data(range(1000), "old")
    warehouse.publish(SMALL, old)
    # 200k valid rows, then a duplicate primary key at the very end
    new = small_data(range(200_000), "new")
    new = pa.concat_tables([new, small_data(range(5, 6), "dup")])
    with pytest.raises(sa.exc.DBAPIError):
        warehouse.publish(SMALL, new)
    assert rows(warehouse.read(SMALL)) == rows(old)
    assert staging_tables(warehouse) == []


def test_failure_between_staging_and_swap_leaves_previous_table(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = small_data(range(1000), "old")
    warehouse.publish(SMALL, old)
    warehouse.publish(
        SHARED, checks("voter_roll", ["a", "b"], True), replace_where={"input_name": "voter_roll"}
    )
    calls: list[tuple[str, str]] = []
    fail_writes(monkeypatch, RuntimeError("injected failure after staging"), calls=calls)
    with pytest.raises(RuntimeError, match="injected"):
        warehouse.publish(SMALL, small_data(range(5000), "new"))
    with pytest.raises(RuntimeError, match="injected"):
        warehouse.publish(
            SHARED, checks("voter_roll", ["z"], False), replace_where={"input_name": "voter_roll"}
        )
    assert calls[0][0] == "people" and calls[0][1].startswith('"_stage_people_')
    monkeypatch.undo()

    assert rows(warehouse.read(SMALL)) == rows(old)
    assert rows(warehouse.read(SHARED), "check") == rows(
        checks("voter_roll", ["a", "b"], True), "check"
    )
    assert staging_tables(warehouse) == []
    warehouse.publish(SMALL, small_data(range(3), "after"))
    assert rows(warehouse.read(SMALL)) == rows(small_data(range(3), "after"))


def test_leftover_staging_tables_are_removed_on_next_publish(warehouse: Warehouse) -> None:
    warehouse.publish(SMALL, small_data(range(3), "old"))
    other = TableSchema("people_archive", SMALL.columns, primary_key=("id",))
    warehouse.publish(other, small_data(range(2), "arch"))
    # what a crashed writer that committed its staging table would have left behind
    for leftover in ("_stage_people_0123abcd", "_stage_people_archive_0123abcd"):
        warehouse.execute(f'CREATE TABLE "{leftover}" (id BIGINT)')
    warehouse.publish(SMALL, small_data(range(4), "new"))
    assert staging_tables(warehouse) == ["_stage_people_archive_0123abcd"]  # not ours: kept
    warehouse.publish(other, small_data(range(2), "arch"))
    assert staging_tables(warehouse) == []
    assert warehouse.table_names() == ["people", "people_archive"]


# --- a writer killed with SIGKILL -------------------------------------------------------------

KILL_ROWS = 2_000_000

WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from recall_pipeline import warehouse as wm
    from recall_pipeline.tables import Column, TableSchema

    url, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    schema = TableSchema(
        "people",
        (Column("id", "integer", nullable=False), Column("name", "string", nullable=False),
         Column("score", "float")),
        primary_key=("id",),
    )
    ids = pa.array(np.arange(n, dtype=np.int64))
    data = pa.table({
        "id": ids,
        "name": pc.binary_join_element_wise("new-", pc.cast(ids, pa.string()), ""),
        "score": pa.array(np.arange(n) / 7.0),
    })
    if mode == "before_swap":
        fill = wm.Warehouse._fill
        def pause(self, conn, target, schema, rows):
            fill(self, conn, target, schema, rows)
            print("STAGED", target, flush=True)
            time.sleep(600)
        wm.Warehouse._fill = pause
    wh = wm.Warehouse(url)
    wh.table_exists("people")  # connect (and open the file) before announcing
    print("PUBLISHING", flush=True)
    wh.publish(schema, data)
    print("DONE", flush=True)
    """
)


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(marker):
                return line
            if not line and proc.poll() is not None:
                break
    proc.kill()
    _, err = proc.communicate()
    pytest.fail(f"writer never printed {marker!r}; stderr:\n{err}")


@pytest.mark.parametrize("kill_at", ["mid_load", "before_swap"])
def test_writer_killed_mid_publish_leaves_previous_version(
    warehouse: Warehouse, warehouse_url: str, kill_at: str
) -> None:
    old = small_data(range(5000), "old")
    warehouse.publish(SMALL, old)
    warehouse.dispose()  # DuckDB: release the file for the writer process

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, warehouse_url, kill_at, str(KILL_ROWS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )
    try:
        _wait_for(proc, "PUBLISHING", timeout=120)
        if kill_at == "before_swap":
            _wait_for(proc, "STAGED", timeout=300)  # fully staged, swap not yet done
        else:
            time.sleep(0.4)  # well inside the multi-second load of 2M rows
        assert proc.poll() is None, "writer finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert "DONE" not in out

    # the previous version is whole and readable
    assert warehouse.row_count("people") == len(old)
    assert rows(warehouse.read(SMALL)) == rows(old)
    # and the next publish works and leaves no staging table behind
    warehouse.publish(SMALL, small_data(range(7), "next"))
    assert rows(warehouse.read(SMALL)) == rows(small_data(range(7), "next"))
    assert staging_tables(warehouse) == []
    assert warehouse.table_names() == ["people"]


# --- configuration ----------------------------------------------------------------------------


def test_fresh_machine_creates_database_or_directory(warehouse_url: str, tmp_path: Path) -> None:
    url = sa.make_url(warehouse_url)
    if url.get_backend_name() == "duckdb":
        target = tmp_path / "not" / "yet" / "there.duckdb"
        fresh = f"duckdb:///{target}"
    else:
        fresh = url.set(database=f"{url.database}_fresh").render_as_string(hide_password=False)
    wh = Warehouse(fresh)
    try:
        wh.publish(SMALL, small_data(range(2), "x"))
        assert wh.row_count("people") == 2
        wh.dispose()
        if url.get_backend_name() == "duckdb":
            assert target.exists()
    finally:
        wh.dispose()
        if url.get_backend_name() != "duckdb":
            admin = sa.create_engine(
                url.set(database="postgres"),
                isolation_level="AUTOCOMMIT",
                poolclass=sa.pool.NullPool,
            )
            with admin.connect() as conn:
                conn.execute(
                    sa.text(f'DROP DATABASE IF EXISTS "{url.database}_fresh" WITH (FORCE)')
                )
            admin.dispose()


def test_url_dialect_and_masked_password() -> None:
    wh = Warehouse("postgresql://alice:s3cret@db.example:5432/recall")
    assert wh.dialect == "postgresql"
    assert wh.url.drivername == "postgresql+psycopg"
    assert "s3cret" not in repr(wh) and "s3cret" not in str(wh) and "s3cret" not in str(wh.url)
    assert wh.url.password == "s3cret"
    assert Warehouse("duckdb:////tmp/x/w.duckdb").dialect == "duckdb"
    with pytest.raises(ValueError):
        Warehouse("sqlite:///x.db")


def test_a_held_duckdb_file_stays_attached_until_disposed(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    probe = [
        sys.executable,
        "-c",
        "import duckdb, sys\ntry:\n    duckdb.connect(sys.argv[1]).close()\n"
        "except duckdb.IOException:\n    sys.exit(3)",
        str(tmp_path / "w.duckdb"),
    ]
    step = Warehouse(url).hold()
    # Each call opens and closes its own connection, as usual; the file stays this
    # process's between them until the step disposes of the warehouse.
    for i in range(3):
        step.publish(SMALL, small_data(range(i + 1), "x"))
        assert step.row_count("people") == i + 1
    assert subprocess.run(probe, check=False).returncode == 3
    step.dispose()
    assert subprocess.run(probe, check=False).returncode == 0
    # Still usable afterwards, no longer held.
    assert step.row_count("people") == 3
    assert subprocess.run(probe, check=False).returncode == 0
    step.dispose()


def test_duckdb_waits_for_a_writer_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('HELD', flush=True); time.sleep(1.5); c.close()",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("HELD")
        wh = Warehouse(f"duckdb:///{path}", lock_timeout=30)
        wh.publish(SMALL, small_data(range(3), "x"))  # waits for the holder to let go
        assert wh.row_count("people") == 3
        wh.dispose()
    finally:
        holder.wait(timeout=30)
    short = Warehouse(f"duckdb:///{path}", lock_timeout=0.2)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('HELD', flush=True); time.sleep(3)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("HELD")
        with pytest.raises(sa.exc.DBAPIError, match="lock"):
            short.row_count("people")
    finally:
        holder.kill()
        holder.wait()


def test_threads_of_one_process_open_and_close_a_duckdb_file_concurrently(
    tmp_path: Path,
) -> None:
    """Matching writes the prepared roll on one thread while another reads and publishes;
    DuckDB refuses to attach a file a closing connection has not yet detached, so the
    warehouse opens and closes connections one at a time ("Unique file handle conflict")."""
    store = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    store.publish(SMALL, small_data(range(10), "x"))
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(300):
                if i % 2:
                    store.read(SMALL)
                else:
                    store.publish(
                        SHARED, checks(f"t{i}", ["a"], True), replace_where={"input_name": f"t{i}"}
                    )
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.dispose()
    assert not errors, errors[:2]


def test_a_read_only_warehouse_reads_and_refuses_writes(warehouse_url: str) -> None:
    with Warehouse(warehouse_url) as store:
        store.publish(TableSchema("t", (Column("a", "integer", False),)), pa.table({"a": [1, 2]}))
    with Warehouse(warehouse_url, read_only=True) as reader:
        assert reader.row_count("t") == 2
        with pytest.raises(sa.exc.DBAPIError):
            reader.execute("CREATE TABLE u (a INTEGER)")
    with Warehouse(warehouse_url) as store:
        assert "u" not in store.table_names()


def test_the_publishing_logic_is_written_once_over_the_backends() -> None:
    """Neither the warehouse's reads and writes nor the publications compare dialects: what
    differs between the databases lives in the backends alone."""
    import ast
    import inspect

    from recall_pipeline import publication
    from recall_pipeline.warehouse import store

    for module in (store, publication):
        tree = ast.parse(inspect.getsource(module))
        compared = [
            node.value
            for compare in ast.walk(tree)
            if isinstance(compare, ast.Compare)
            for node in [compare.left, *compare.comparators]
            if isinstance(node, ast.Constant) and node.value in ("duckdb", "postgresql")
        ]
        dialect_reads = [
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("_dialect", "do_close")
        ]
        assert not compared and not dialect_reads, module.__name__
