"""The table declarations: the registry of the published tables, the shared fields, the keys."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import recall_pipeline
from recall_pipeline import tables as t
from recall_pipeline.contract import INPUTS
from recall_pipeline.schema import published_table, published_tables
from recall_pipeline.tables import Column, TableSchema

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
        "from recall_pipeline.schema import published_tables\n"
        "published_tables()\n"
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
