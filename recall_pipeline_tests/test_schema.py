"""The table declarations and what is derived from them: the registry, the shared fields, the
data dictionary, the warehouse comments and the key check (each on DuckDB and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import recall_pipeline
from recall_pipeline import tables as t
from recall_pipeline.checks import key_check
from recall_pipeline.contract import INPUTS
from recall_pipeline.schema import (
    REGENERATE,
    comment_statements,
    data_dictionary,
    published_table,
    published_tables,
    sql_literal,
)
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.warehouse import Warehouse

PROJECT = Path(__file__).resolve().parents[1]
DICTIONARY = PROJECT / "docs" / "data-dictionary.md"


def _declared_in_modules() -> dict[str, str]:
    """Every TableSchema a module of the package holds at its top level (name -> module)."""
    found = {}
    for info in pkgutil.walk_packages(recall_pipeline.__path__, "recall_pipeline."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            values = value.values() if isinstance(value, dict) else [value]
            for item in values:
                if isinstance(item, TableSchema):
                    found.setdefault(item.name, info.name)
    return found


# --- the registry -------------------------------------------------------------------------------


def test_the_registry_holds_every_table_declared_in_the_package() -> None:
    registered = {table.name for table in published_tables()}
    declared = _declared_in_modules() | {spec.name: "contract" for spec in INPUTS}
    missing = {name: module for name, module in declared.items() if name not in registered}
    assert not missing, f"declared but not in schema.published_tables(): {missing}"
    assert len(registered) == len(published_tables())


def test_the_registry_needs_no_dagster() -> None:
    code = (
        "import sys\n"
        "from recall_pipeline.schema import data_dictionary, published_tables\n"
        "published_tables(); data_dictionary()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'dagster'], 'dagster imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_every_table_and_column_is_described_and_every_table_keyed_or_says_why() -> None:
    for table in published_tables():
        assert table.description, table.name
        assert all(c.description for c in table.columns), (
            table.name,
            [c.name for c in table.columns if not c.description],
        )
        if not table.primary_key:
            assert "No key" in table.description, table.name
        assert set(table.primary_key) <= set(table.required_columns), table.name


def test_a_key_must_name_columns_never_empty() -> None:
    columns = (Column("a", "string", False), Column("b", "string", True))
    with pytest.raises(ValueError, match="not declared"):
        TableSchema("x", columns, primary_key=("c",))
    with pytest.raises(ValueError, match="may not be empty"):
        TableSchema("x", columns, primary_key=("b",))
    with pytest.raises(ValueError, match="declared twice"):
        TableSchema("x", (*columns, Column("a")))


# The shared fields, and the tables whose column of that name is another field.
SHARED = {
    "petition_id": (t.PETITION_ID, t.PETITION_ID_OF_FILE),
    "section_id": (t.SECTION_ID,),
    "page": (t.PAGE,),
    "line": (t.LINE,),
    "source_file": (t.SOURCE_FILE,),
    "source_row": (t.SOURCE_ROW,),
    "source_sha256": (t.SOURCE_SHA256,),
    "input_name": (t.INPUT_NAME,),
    "jurisdiction_code": (t.JURISDICTION_CODE,),
    "run_id": (t.RUN_ID,),
    "voter_id": (t.VOTER_ID, t.MATCHED_VOTER_ID),
}
OTHER_FIELDS = {
    # What a petition's verdicts were decided from: files, but also settings, models, code.
    ("verdict_inputs", "input_name"),
    ("verdict_inputs", "source_file"),
    ("verdict_inputs", "source_sha256"),
    # An examiner's decision: the registration found, or none.
    ("match_reviews", "voter_id"),
}


def _same(a: Column, b: Column) -> bool:
    # Whether a value is required is the table's (a section's jurisdiction_code is optional in
    # the contract), and so is `compressible` (a key's column is stored as it is).
    return (a.name, a.type, a.description) == (b.name, b.type, b.description)


def test_shared_fields_are_declared_once_and_read_the_same_everywhere() -> None:
    for table in published_tables():
        for column in table.columns:
            if column.name not in SHARED or (table.name, column.name) in OTHER_FIELDS:
                continue
            assert any(_same(column, shared) for shared in SHARED[column.name]), (
                f"{table.name}.{column.name} is not the shared field: declare it with the "
                "constant of recall_pipeline.tables"
            )


def test_the_line_key_is_the_key_of_every_table_of_lines() -> None:
    line_tables = ["petition_lines", "line_matches", "line_verdicts"] + [
        table.name for table in published_tables() if table.name.startswith("invalid_")
    ]
    for name in line_tables:
        assert list(published_table(name).primary_key) == t.LINE_KEY_COLUMNS, name


# --- the data dictionary ------------------------------------------------------------------------


def test_the_committed_data_dictionary_is_what_the_declarations_generate() -> None:
    committed = DICTIONARY.read_text(encoding="utf-8") if DICTIONARY.is_file() else ""
    assert committed == data_dictionary(), (
        f"docs/data-dictionary.md is out of date with the table declarations; regenerate it: "
        f"{REGENERATE}"
    )


def test_the_dictionary_has_a_section_per_table_with_its_key_and_columns() -> None:
    table = TableSchema(
        "odd",
        (Column("a|b", "integer", False, "pipe | inside"), Column("c", "date", True, "a date")),
        description="Odd rows.",
        primary_key=("a|b",),
    )
    text = data_dictionary([table])
    assert "## odd" in text and "Odd rows." in text
    assert "Primary key: `a|b`." in text
    assert "| `a\\|b` | integer | never | pipe \\| inside |" in text
    assert "| `c` | date | may be empty | a date |" in text
    assert REGENERATE in text


# --- comments -----------------------------------------------------------------------------------

TRICKY = 'it\'s 100% "quoted", a\\b; :name -- not a comment\nsecond line ✓'
COMMENTED = TableSchema(
    name="commented",
    columns=(
        Column("id", "integer", False, "the id"),
        Column('we"ird', "string", True, TRICKY),
        Column("bare", "string", True),
    ),
    description="A table's own comment: " + TRICKY,
    primary_key=("id",),
)


def test_comment_statements_quote_the_text_and_the_column() -> None:
    statements = comment_statements(COMMENTED, "postgresql", '"s"."commented"')
    assert statements == [
        f'COMMENT ON TABLE "s"."commented" IS {sql_literal(COMMENTED.description)}',
        'COMMENT ON COLUMN "s"."commented"."id" IS \'the id\'',
        f'COMMENT ON COLUMN "s"."commented"."we""ird" IS {sql_literal(TRICKY)}',
    ]
    assert sql_literal("it's") == "'it''s'"
    assert comment_statements(COMMENTED, "duckdb", '"commented"')[0].startswith(
        'COMMENT ON TABLE "commented" IS'
    )
    with pytest.raises(ValueError):
        comment_statements(COMMENTED, "sqlite", '"commented"')  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sql_literal("nul \x00 inside")


def _comments(store: Warehouse, table: str) -> tuple[str | None, dict[str, str | None]]:
    if store.dialect == "postgresql":
        own = store.query(
            "SELECT obj_description(CAST(:t AS regclass), 'pg_class') AS c",
            {"t": f'"{table}"'},
        )["c"].iloc[0]
        columns = store.query(
            "SELECT attname AS name, col_description(attrelid, attnum) AS c FROM pg_attribute"
            " WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped",
            {"t": f'"{table}"'},
        )
    else:
        own = store.query(
            "SELECT comment AS c FROM duckdb_tables() WHERE table_name = :t", {"t": table}
        )["c"].iloc[0]
        columns = store.query(
            "SELECT column_name AS name, comment AS c FROM duckdb_columns() WHERE table_name = :t",
            {"t": table},
        )
    return own, {
        r["name"]: (r["c"] if isinstance(r["c"], str) else None) for _, r in columns.iterrows()
    }


def test_publishing_comments_the_table_and_its_columns(warehouse: Warehouse) -> None:
    data = pa.table({"id": [1, 2], 'we"ird': ["x", None], "bare": ["y", "z"]})
    # A whole table (staged, renamed into place), then published again.
    for _ in range(2):
        warehouse.publish(COMMENTED, data)
        own, columns = _comments(warehouse, "commented")
        assert own == COMMENTED.description
        assert columns == {"id": "the id", 'we"ird': TRICKY, "bare": None}
    # A table created by its first slice.
    sliced = dataclasses.replace(COMMENTED, name="commented_slices")
    warehouse.publish(sliced, data.slice(0, 1), replace_where={"id": 1})
    assert _comments(warehouse, "commented_slices") == _comments(warehouse, "commented")


def test_a_published_table_carries_its_declared_descriptions(warehouse: Warehouse) -> None:
    schema = published_table("line_verdicts")
    warehouse.publish(schema, schema.arrow_schema().empty_table())
    own, columns = _comments(warehouse, schema.name)
    assert own == schema.description
    assert columns == {c.name: c.description for c in schema.columns}


# --- the key check ------------------------------------------------------------------------------

STRICT = TableSchema(
    name="keyed",
    columns=(
        Column("petition_id", "string", False, "p"),
        Column("n", "integer", False, "n"),
        Column("name", "string", False, "a name"),
        Column("note", "string", True, "a note"),
    ),
    description="Keyed rows.",
    primary_key=("petition_id", "n"),
)
# The same table as a warehouse may hold it: created before its constraints.
LOOSE = TableSchema(
    name="keyed",
    columns=tuple(dataclasses.replace(c, nullable=True) for c in STRICT.columns),
)


def test_the_key_check_counts_repeated_keys_and_empty_required_values(
    warehouse: Warehouse,
) -> None:
    warehouse.publish(
        LOOSE,
        pa.table(
            {
                "petition_id": ["a", "a", "a", "a", "b", "b", None],
                "n": [1, 1, 1, 2, 1, 2, 3],
                "name": ["MARIA GARCIA", "JOHN DOE", None, "X", "Y", None, "Z"],
                "note": [None] * 7,
            }
        ),
    )
    found = key_check(warehouse, STRICT)
    assert not found.passed
    assert (found.rows, found.duplicate_keys, found.duplicate_rows) == (7, 1, 2)
    assert found.null_counts == {"petition_id": 1, "n": 0, "name": 2}
    metadata = found.metadata
    assert metadata["duplicate_keys"] == 1
    assert metadata["empty_required_values"] == {"petition_id": 1, "name": 2}
    assert metadata["primary_key"] == ["petition_id", "n"]
    # Counts and column names only: never a value of the table.
    assert "MARIA" not in repr(metadata) and "'a'" not in repr(metadata)

    one = key_check(warehouse, STRICT, where={"petition_id": "b"})
    assert (one.rows, one.duplicate_keys, one.null_counts["name"]) == (2, 0, 1)
    assert one.metadata["slice_columns"] == ["petition_id"]
    # A value that looks like a bound parameter or a format string stays a value.
    odd_values = [":n", "%s", "it's", "100%"]
    warehouse.publish(
        LOOSE,
        pa.table(
            {"petition_id": odd_values, "n": [1, 1, 1, 1], "name": ["x"] * 4, "note": [None] * 4}
        ),
        replace_where={"petition_id": odd_values},
    )
    odd = key_check(warehouse, STRICT, where={"petition_id": odd_values})
    assert (odd.rows, odd.passed) == (4, True)


def test_the_key_check_passes_a_sound_table_and_fails_a_missing_one(warehouse: Warehouse) -> None:
    warehouse.publish(
        STRICT,
        pa.table({"petition_id": ["a", "a"], "n": [1, 2], "name": ["x", "y"], "note": [None, "z"]}),
    )
    found = key_check(warehouse, STRICT)
    assert found.passed and found.rows == 2
    gone = key_check(warehouse, dataclasses.replace(STRICT, name="never_published"))
    assert not gone.passed and gone.metadata["published"] is False


def test_a_table_without_a_key_is_checked_for_empty_values_only(warehouse: Warehouse) -> None:
    log = TableSchema("log", (Column("at", "string", False, "when"),), description="No key: a log.")
    warehouse.publish(log, pa.table({"at": ["x", "x"]}))
    found = key_check(warehouse, log)
    assert found.passed and found.duplicate_keys == 0
    assert found.metadata["primary_key"] == "none declared"
