"""Code versions derived from content: the same for every checkout of one commit, and new when
anything a stage imports or reads changes — the kept roll keys with them."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import versions
from recall_pipeline.reference import REFERENCE_DIR
from recall_pipeline.verify import roll_cache
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.test_roll_cache import prepared

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_versions() -> Iterator[None]:
    """No test leaves a version computed from a changed copy in the process's cache."""
    versions.stage_version.cache_clear()
    yield
    versions.stage_version.cache_clear()


def copy_package(tmp_path: Path) -> Path:
    root = tmp_path / "copy" / versions.PACKAGE
    shutil.copytree(versions.PACKAGE_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def flip_one_byte(path: Path) -> None:
    """One byte of the module's docstring changed: the module still parses."""
    content = bytearray(path.read_bytes())
    at = content.index(b'"""') + 3
    content[at] = ord("X") if content[at] != ord("X") else ord("Y")
    path.write_bytes(bytes(content))


def all_versions(root: Path | None = None) -> dict[str, str]:
    return {
        stage: versions.derive(stage, modules, root) for stage, modules in versions.STAGES.items()
    }


def test_a_version_is_the_same_on_every_computation_checkout_and_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = all_versions()
    for stage, version in here.items():
        assert re.fullmatch(rf"{stage}-[0-9a-f]{{12}}", version), version
        assert versions.stage_version(stage) == version
    assert all_versions() == here
    monkeypatch.chdir(tmp_path)
    assert all_versions() == here
    # Another checkout: other paths and modification times, Windows line ends.
    root = copy_package(tmp_path)
    for path in root.rglob("*"):
        if path.suffix in (".py", ".csv", ".yaml"):
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert all_versions(root) == here


def test_the_import_closure_follows_every_kind_of_import(tmp_path: Path) -> None:
    root = tmp_path / versions.PACKAGE
    files = {
        "__init__.py": "",
        "entry.py": "import os\nfrom recall_pipeline.sub import deep\n",
        "sub/__init__.py": "",
        # A submodule named in `from package import name`, inside a function.
        "sub/deep.py": "def f():\n    from recall_pipeline import lazy\n",
        "lazy.py": "try:\n    from .sub.relative import x\nexcept ImportError:\n    pass\n",
        "sub/relative.py": "x = 1\n",
        "outside.py": '"""Not imported by the entry."""\nimport recall_pipeline.entry\n',
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert versions.import_closure(["recall_pipeline.entry"], root) == {
        "recall_pipeline",
        "recall_pipeline.entry",
        "recall_pipeline.sub",
        "recall_pipeline.sub.deep",
        "recall_pipeline.lazy",
        "recall_pipeline.sub.relative",
    }
    before = versions.derive("x", ["recall_pipeline.entry"], root)
    flip_one_byte(root / "outside.py")
    assert versions.derive("x", ["recall_pipeline.entry"], root) == before
    (root / "sub/relative.py").write_text("x = 2\n")
    assert versions.derive("x", ["recall_pipeline.entry"], root) != before
    with pytest.raises(ValueError, match="no module"):
        versions.derive("x", ["recall_pipeline.missing"], root)


@pytest.mark.parametrize("stage", sorted(versions.STAGES))
def test_the_closure_is_every_package_module_the_stage_loads(stage: str) -> None:
    """Checked against Python itself: importing the entry modules in a fresh process loads
    exactly the modules whose files the version hashes."""
    script = (
        "import importlib, sys\n"
        "from recall_pipeline import versions\n"
        f"for name in versions.STAGES[{stage!r}]:\n"
        "    importlib.import_module(name)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'recall_pipeline')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(done.stdout.split()) - versions.NOT_HASHED
    assert versions.import_closure(versions.STAGES[stage]) == loaded


def test_one_byte_of_a_module_a_stage_imports_changes_its_version_and_no_other(
    tmp_path: Path,
) -> None:
    before = all_versions()
    closures = {s: versions.import_closure(m) for s, m in versions.STAGES.items()}
    # verify/reviews.py reaches the verdicts only through verify/match_reviews.py, which
    # verify/pipeline.py imports; ingestion does not import it at all.
    reviews = "recall_pipeline.verify.reviews"
    assert reviews not in versions.STAGES["verdicts"] and reviews in closures["verdicts"]
    assert reviews not in closures["ingest"]
    root = copy_package(tmp_path)
    flip_one_byte(root / "verify" / "reviews.py")
    after = all_versions(root)
    for stage in versions.STAGES:
        assert (after[stage] != before[stage]) == (reviews in closures[stage]), stage
    # A module outside every closure (the scenario generator) changes no version.
    assert not any(
        name.startswith("recall_pipeline.scenario") for c in closures.values() for name in c
    )
    flip_one_byte(root / "scenario" / "noise.py")
    assert all_versions(root) == after


@pytest.mark.parametrize(
    ("module", "moved"),
    [
        # The audit stage records the verdicts' version and imports the verdicts' assets.
        ("verdicts", {"verdicts", "audit"}),
        ("matching", {"matching", "audit"}),
        ("determination", {"determination", "audit"}),
        ("audit", {"audit"}),
        # Every stage after ingestion reads and publishes through it.
        ("io", {"matching", "verdicts", "determination", "audit"}),
    ],
)
def test_one_byte_of_a_service_changes_the_versions_of_the_stages_it_serves(
    tmp_path: Path, module: str, moved: set[str]
) -> None:
    name = f"recall_pipeline.services.{module}"
    if module != "io":
        assert name in versions.STAGES[module]
    before = all_versions()
    root = copy_package(tmp_path)
    flip_one_byte(root / "services" / f"{module}.py")
    after = all_versions(root)
    assert {stage for stage in versions.STAGES if after[stage] != before[stage]} == moved


def test_a_reference_table_of_the_normalizer_changes_the_keys_version(tmp_path: Path) -> None:
    before = all_versions()
    root = copy_package(tmp_path)
    suffixes = root / "reference" / "street_suffixes.csv"
    suffixes.write_bytes(suffixes.read_bytes() + b"AVENOO,AVE,AVENUE\n")
    after = all_versions(root)
    assert after["keys"] != before["keys"]
    assert after["matching"] != before["matching"]
    assert after["verdicts"] != before["verdicts"]
    # Ingestion neither imports the normalizer nor reads its tables.
    assert after["ingest"] == before["ingest"]
    model = root / "reference" / "match_model.yaml"
    model.write_bytes(model.read_bytes() + b"\n")
    assert versions.derive("keys", versions.STAGES["keys"], root) != after["keys"]


def test_every_reference_file_a_hashed_module_names_is_hashed_with_it() -> None:
    """A module that starts reading a reference table must list it in `DATA_READ_BY`, or its
    stages would keep their version when the table changes."""
    tables = {path.name for path in REFERENCE_DIR.iterdir() if path.suffix != ".py"}
    hashed = set().union(*(versions.import_closure(m) for m in versions.STAGES.values()))
    for module in sorted(hashed):
        tree = ast.parse(versions.module_file(module).read_bytes())
        named = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in tables
        }
        listed = {Path(name).name for name in versions.DATA_READ_BY.get(module, ())}
        assert named <= listed, module
    assert {"street_suffixes.csv", "match_model.yaml", "reason_codes.csv"} <= {
        Path(name).name for files in versions.DATA_READ_BY.values() for name in files
    }


def test_the_assets_carry_their_stage_versions() -> None:
    from recall_pipeline.defs.audit.assets import AUDIT_CODE_VERSION
    from recall_pipeline.defs.determination.assets import DETERMINATION_CODE_VERSION
    from recall_pipeline.defs.ingest.assets import INGEST_CODE_VERSION
    from recall_pipeline.defs.matching.assets import MATCHING_CODE_VERSION
    from recall_pipeline.defs.verdicts.assets import VERDICTS_CODE_VERSION
    from recall_pipeline.runner import load_definitions

    published = {
        "ingest": INGEST_CODE_VERSION,
        "matching": MATCHING_CODE_VERSION,
        "verdicts": VERDICTS_CODE_VERSION,
        "determination": DETERMINATION_CODE_VERSION,
        "audit": AUDIT_CODE_VERSION,
    }
    for stage, version in published.items():
        assert version == versions.stage_version(stage)
    assert roll_cache.keys_code_version() == versions.stage_version("keys")
    graph = load_definitions().resolve_asset_graph()
    derived = {versions.stage_version(stage) for stage in versions.STAGES}
    for key in graph.get_all_asset_keys():
        assert graph.get(key).code_version in derived, key


def test_the_kept_roll_keys_are_rebuilt_when_the_keys_version_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = pd.DataFrame({"input_name": ["voter_roll"], "source_sha256": ["ab"]})
    monkeypatch.setattr(roll_cache, "ledger_files", lambda store, inputs: files)
    store = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    try:
        kept = roll_cache.roll_version(store)
        roll_cache.publish(store, {"A": prepared([("1", "ANA", "LEE")])}, kept)
        assert roll_cache.current_jurisdictions(store, roll_cache.roll_version(store)) == {"A"}
        # The same commit checked out elsewhere: the keys are still current.
        root = copy_package(tmp_path)
        monkeypatch.setattr(versions, "PACKAGE_DIR", root)
        versions.stage_version.cache_clear()
        assert roll_cache.roll_version(store) == kept
        # One byte of the normalizer changed: the kept keys are not current any more.
        flip_one_byte(root / "verify" / "normalize.py")
        versions.stage_version.cache_clear()
        assert roll_cache.roll_version(store) != kept
        assert roll_cache.current_jurisdictions(store, roll_cache.roll_version(store)) == set()
    finally:
        store.dispose()
