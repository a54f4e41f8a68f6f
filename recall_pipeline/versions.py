"""Code versions derived from content, never bumped by hand.

A stage's version says whether what it published (a Dagster asset, the kept roll keys, the
verdicts' `code_version`) is still what its code and settings would produce now. It is a
SHA-256 over the bytes of:

- the stage's entry modules (`STAGES`) and every `recall_pipeline` module they import,
  transitively: imports are read with `ast`, anywhere in a file (inside functions too), and
  resolved to files of the package (`from recall_pipeline.verify import normalize` brings in
  `verify/normalize.py`); importing a module runs its packages' `__init__.py`, so those come
  too;
- the data files the modules of that closure read (`DATA_READ_BY`: reference tables, the
  match model's settings).

Files are hashed in the order of their path inside the package; only their bytes go in (not
their paths, modification times or anything of the machine), with Windows line ends read as
Unix ones, so every checkout of one commit gives one version. A change to a module outside a
stage's import closure leaves its version alone; a change anywhere inside it (even to a
function the stage does not call: the closure is of files) gives a new one.

Stage versions are computed once per process. Nothing here imports Dagster or the modules it
hashes.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

PACKAGE = "recall_pipeline"
PACKAGE_DIR = Path(__file__).resolve().parent
DIGITS = 12


# The data files a module reads: wherever the module is in a stage's import closure, they are
# part of the stage's version (a test checks that every reference file a module names is here).
DATA_READ_BY: dict[str, tuple[str, ...]] = {
    # Canonical forms of addresses and names, and the nickname pairs the comparator reads.
    "recall_pipeline.verify.normalize": (
        "reference/city_aliases.csv",
        "reference/directionals.csv",
        "reference/local_abbreviations.csv",
        "reference/nicknames.csv",
        "reference/nicknames_more.csv",
        "reference/ordinal_words.csv",
        "reference/street_suffixes.csv",
        "reference/unit_designators.csv",
    ),
    # The match model's levels, m priors and thresholds.
    "recall_pipeline.verify.model": ("reference/match_model.yaml",),
    "recall_pipeline.verify.reasons": ("reference/reason_codes.csv",),
    # The grounds a challenge may name per reason, and how an accepted ruling decides again.
    "recall_pipeline.verify.grounds": ("reference/challenge_grounds.csv",),
}
# Computes no stage's output: an edit here changes the versions only through what they hash.
NOT_HASHED = frozenset({"recall_pipeline.versions"})

# Each stage's entry modules: the plain modules that compute what it publishes, the service
# that reads, slices and publishes it (`recall_pipeline.services`), and the asset module that
# runs the service in Dagster. Their imports are followed.
STAGES: dict[str, tuple[str, ...]] = {
    # Reading, checking and publishing the input files and the petitions' settings.
    "ingest": (
        "recall_pipeline.defs.ingest.assets",
        "recall_pipeline.ingest.pipeline",
        "recall_pipeline.ingest.batches",
        "recall_pipeline.contract",
    ),
    # The roll's keys and statistics kept between runs (`verify.roll_cache`), prepared by
    # `verify.pipeline.prepare_rolls` with the matcher's normalizer, blocking passes and model.
    "keys": (
        "recall_pipeline.verify.roll_cache",
        "recall_pipeline.verify.pipeline",
        "recall_pipeline.verify.match",
        "recall_pipeline.verify.normalize",
        "recall_pipeline.verify.model",
        "recall_pipeline.verify.jurisdiction",
    ),
    # Each line's match, candidates and fitted model: whole runs and runs for some batches.
    "matching": (
        "recall_pipeline.defs.matching.assets",
        "recall_pipeline.services.matching",
        "recall_pipeline.verify.roll_cache",
        "recall_pipeline.verify.matching_run",
        "recall_pipeline.verify.pipeline",
    ),
    # A verdict per line, the per-reason tables, the summaries, the fingerprints, and which
    # lines a batch run decides again.
    "verdicts": (
        "recall_pipeline.defs.verdicts.assets",
        "recall_pipeline.services.verdicts",
        "recall_pipeline.verify.pipeline",
        "recall_pipeline.verify.verdicts",
        "recall_pipeline.verify.incremental",
        "recall_pipeline.verify.reconcile",
    ),
    # The raw count, the statutory sample and the result; the requirement under each basis.
    "determination": (
        "recall_pipeline.defs.determination.assets",
        "recall_pipeline.services.determination",
        "recall_pipeline.verify.sufficiency",
        "recall_pipeline.verify.determination",
        "recall_pipeline.verify.bases",
        # The examination's standing is arithmetic on the determination, versioned with it.
        "recall_pipeline.defs.examination.assets",
        "recall_pipeline.services.examination",
        "recall_pipeline.verify.examination",
    ),
    # The run manifest (which records the other stages' versions) and the certificates.
    "audit": (
        "recall_pipeline.defs.audit.assets",
        "recall_pipeline.services.audit",
        "recall_pipeline.audit.manifest",
        "recall_pipeline.audit.certificate",
    ),
}


def module_file(module: str, root: Path | None = None) -> Path | None:
    """The file of `module` (a dotted name inside the package) under `root`, or None."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = (root or PACKAGE_DIR).joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(module: str, root: Path | None = None) -> set[str]:
    """The package's modules that `module` imports anywhere in its text, with the packages
    that hold them (whose `__init__.py` runs first)."""
    path = module_file(module, root)
    if path is None:
        raise ValueError(f"no module {module!r} in {root or PACKAGE_DIR}")
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = _imported_names(path.read_bytes(), here)
    inside = {name for name in found if module_file(name, root) is not None}
    return inside | {parent for name in inside for parent in _parents(name)}


@lru_cache(maxsize=1024)
def _imported_names(source: bytes, here: str) -> frozenset[str]:
    """Every dotted name a module's text imports, or may import (`from a import b`: `a` and
    `a.b`), relative imports resolved against the package `here`. Kept by content."""
    found: set[str] = set()
    statements = list(ast.parse(source).body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        else:
            # Imports are statements: only the statements nested in this one can hold them.
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, None) or ():
                    if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                        statements.append(child)
    return frozenset(found)


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def import_closure(modules: Iterable[str], root: Path | None = None) -> set[str]:
    """`modules`, their packages and every package module they import, transitively (less
    `NOT_HASHED`)."""
    todo = [*modules]
    for module in todo:
        if module_file(module, root) is None:
            raise ValueError(f"no module {module!r} in {root or PACKAGE_DIR}")
    todo += [parent for module in todo for parent in _parents(module)]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(imported_modules(module, root) - seen)
    return seen - NOT_HASHED


def source_files(modules: Iterable[str], root: Path | None = None) -> list[Path]:
    """Every file a version of `modules` hashes: their import closure's files and the data
    files those modules read, in the order of their paths inside the package."""
    root = root or PACKAGE_DIR
    closure = import_closure(modules, root)
    files = {module_file(module, root) for module in closure}
    for module in closure:
        for name in DATA_READ_BY.get(module, ()):
            path = root / name
            if not path.is_file():
                raise FileNotFoundError(f"no data file {name!r} in {root}")
            files.add(path)
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def derive(prefix: str, modules: Iterable[str], root: Path | None = None) -> str:
    """`<prefix>-<12 hex>`: the hash of the bytes of `source_files(modules)`, computed now."""
    digest = hashlib.sha256()
    for path in source_files(modules, root):
        content = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(hashlib.sha256(content).digest())
    return f"{prefix}-{digest.hexdigest()[:DIGITS]}"


@cache
def stage_version(stage: str) -> str:
    """The version of a stage of `STAGES` (`"verdicts-1a2b3c4d5e6f"`), once per process."""
    return derive(stage, STAGES[stage])
