"""What changed in the data directory since the last look: new or changed scan batches and
review files, each named by its content hash so a file is processed once per content."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from recall_pipeline.ingest.batches import InputFile, review_files, scan_batches


@dataclass(frozen=True)
class Arrival:
    kind: str  # "scan_batch" or "review_file"
    file: InputFile
    new: bool  # False: a file seen before whose content changed

    @property
    def run_key(self) -> str:
        # Dagster never launches two runs with one run key from a sensor: the content hash
        # makes an unchanged file's key repeat, and a changed file's key new.
        return f"{self.kind}:{self.file.key}@{self.file.sha256}"

    @property
    def reason(self) -> str:
        what = "new" if self.new else "changed"
        noun = "scan batch" if self.kind == "scan_batch" else "review file"
        return f"{what} {noun} {self.file.relative_path}"


def arrivals(data_dir: Path, cursor: str | None) -> tuple[list[Arrival], str]:
    """Files whose content the cursor has not seen, and the cursor that has seen them all."""
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    found: list[Arrival] = []
    current: dict[str, str] = {}
    for kind, files in (
        ("scan_batch", scan_batches(data_dir)),
        ("review_file", review_files(data_dir)),
    ):
        for key, file in sorted(files.items()):
            slot = f"{kind}:{key}"
            current[slot] = file.sha256
            if seen.get(slot) != file.sha256:
                found.append(Arrival(kind, file, new=slot not in seen))
    return found, json.dumps(current, sort_keys=True)


def departed_batches(before: str | None, after: str) -> list[str]:
    """The scan batches the cursor `before` had seen that the cursor `after` no longer holds:
    files withdrawn from the data directory, or delivered again under another name."""
    seen = json.loads(before) if before else {}
    now = json.loads(after)
    prefix = "scan_batch:"
    return sorted(s[len(prefix) :] for s in seen if s.startswith(prefix) and s not in now)


def advance(before: str | None, after: str, handled: list[Arrival]) -> str:
    """The cursor that has seen the `handled` arrivals and every departure since `before`, and
    nothing else new: the arrivals left out are found again at the next look."""
    seen = json.loads(before) if before else {}
    now = json.loads(after)
    kept = {slot: sha for slot, sha in seen.items() if slot in now}
    for arrival in handled:
        kept[f"{arrival.kind}:{arrival.file.key}"] = arrival.file.sha256
    return json.dumps(kept, sort_keys=True)
