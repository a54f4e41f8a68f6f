"""Scan batches: one file under `petitions/<petition_id>/scans/` is one batch of keyed lines.

A batch is named `<petition_id>/<file stem>` — the key of its partition in Dagster and the unit
a newly arrived file is verified in. Files are identified by their SHA-256, so a file is
processed again only when its content changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from recall_pipeline.contract import (
    CHALLENGE_RULINGS,
    CHALLENGES,
    MATCH_REVIEWS,
    PETITION_LINES,
    SIGNATURE_REVIEWS,
    InputSpec,
)
from recall_pipeline.ingest.files import list_input_files, relative_to
from recall_pipeline.ingest.pipeline import petition_folders


@dataclass(frozen=True)
class InputFile:
    key: str  # batch key for scans; the relative path for other inputs
    petition_id: str
    relative_path: str
    sha256: str


def batch_key(petition_id: str, path: Path) -> str:
    return f"{petition_id}/{path.stem}"


def _files(spec: InputSpec, data_dir: Path, keyed, hashed: bool) -> dict[str, InputFile]:
    found: dict[str, InputFile] = {}
    for folder in petition_folders(data_dir):
        for path in list_input_files(folder, spec.pattern, data_dir).files:
            relative = relative_to(path, data_dir)
            key = keyed(folder.name, path, relative)
            if key in found:
                raise ValueError(
                    f"{relative}: batch {key} is also {found[key].relative_path}; "
                    "one batch name, one file"
                )
            # Only what notices changed content needs the hash; listing needs names.
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if hashed else ""
            found[key] = InputFile(key, folder.name, relative, digest)
    return found


def scan_batches(data_dir: Path, hashed: bool = True) -> dict[str, InputFile]:
    """Every scan batch in the data directory, by batch key (`hashed=False`: sha256 empty)."""
    return _files(PETITION_LINES, data_dir, lambda pid, path, _: batch_key(pid, path), hashed)


def review_files(data_dir: Path) -> dict[str, InputFile]:
    """Every examiners' review file (signature findings and match decisions), and every file
    of the examination (challenges, rulings): what decides verdicts again, by relative path."""
    found = {}
    for spec in (SIGNATURE_REVIEWS, MATCH_REVIEWS, CHALLENGES, CHALLENGE_RULINGS):
        found.update(_files(spec, data_dir, lambda _pid, _path, relative: relative, True))
    return found


def batch_files(data_dir: Path, keys: list[str]) -> list[str]:
    """The relative paths of the files behind `keys` (each must exist)."""
    batches = scan_batches(data_dir, hashed=False)
    missing = [k for k in keys if k not in batches]
    if missing:
        raise ValueError(f"no scan file for batch(es) {', '.join(missing)} in {data_dir}")
    return [batches[k].relative_path for k in keys]


def departed_files(store, data_dir: Path, table: str, where: dict | None = None) -> list[str]:
    """The scan files `table` still holds rows of (those matching `where`) that are no longer
    in the data directory: a batch withdrawn, or delivered again under another name. A run over
    some batches drops their rows with its own, so no count rests on a file that is gone."""
    if not store.table_exists(table):
        return []
    held = store.count_by(table, ["source_file"], where)["source_file"]
    present = {f.relative_path for f in scan_batches(data_dir, hashed=False).values()}
    return sorted(set(held) - present)
