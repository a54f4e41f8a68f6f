"""Which runs verify what: the one plan `recall-audit run` and the sensors share.

Verification takes two runs (see defs/jobs.py): one over scan batches, then one over the
petitions of those batches, both writing into one publication (recall_pipeline.publication)
that the second commits. The partitions each covers and the tags it carries are decided here.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from recall_pipeline.defs.common import (
    CHANGED_LINES_TAG,
    PETITION_TAG,
    PETITIONS,
    SCAN_BATCHES,
    petition_of,
    range_tags,
)
from recall_pipeline.ingest.batches import scan_batches
from recall_pipeline.ingest.errors import StructuralError
from recall_pipeline.ingest.pipeline import petition_folders


def register_partitions(instance: dg.DagsterInstance, data_dir: Path) -> None:
    """Make the instance's scan-batch and petition partitions exactly those of `data_dir`."""
    _register(instance, SCAN_BATCHES.name, list(scan_batches(data_dir, hashed=False)))
    _register(instance, PETITIONS.name, [folder.name for folder in petition_folders(data_dir)])


def lines_run_tags(registered: list[str], batches: list[str] | None = None) -> dict[str, str]:
    """The tags that make one run cover `batches` (or every `registered` scan batch)."""
    wanted = batches if batches is not None else registered
    unknown = sorted(set(wanted) - set(registered))
    if unknown:
        raise StructuralError("petitions/", f"no scan file for batch(es) {', '.join(unknown)}")
    if not wanted:
        raise StructuralError("petitions/*/scans/", "no scan batch files found")
    return range_tags(registered, wanted)


def petition_run_tags(
    petitions: list[str],
    batches: list[str],
    covered: list[str],
    decide: list[str] | None = None,
) -> dict[str, str]:
    """The tags of the one `verify_petitions` run after a lines run that covered the scan
    batches `covered` (of all registered `batches`): over every registered petition when it
    covered every batch; otherwise over the petitions of its batches (or `decide`), deciding
    again only what their lines can change.

    One run, so that one commit publishes the lines and the verdicts together. Petitions that
    are not contiguous in the registered order are covered by the range between them: the
    petitions in between have no changed lines, so nothing of theirs is decided again.
    """
    if not petitions:
        raise StructuralError("petitions/", "no petition folders found")
    if set(covered) >= set(batches):
        return range_tags(petitions, petitions)
    wanted = sorted(decide or {petition_of(key) for key in covered})
    unknown = sorted(set(wanted) - set(petitions))
    if unknown:
        raise StructuralError("petitions/", f"no petition folder for {', '.join(unknown)}")
    positions = sorted(petitions.index(p) for p in wanted)
    span = petitions[positions[0] : positions[-1] + 1]
    tags = {**range_tags(petitions, span), CHANGED_LINES_TAG: "true"}
    if len(span) == 1:
        tags[PETITION_TAG] = span[0]
    return tags


def _register(instance: dg.DagsterInstance, partitions: str, present: list[str]) -> None:
    known = instance.get_dynamic_partitions(partitions)
    for gone in set(known) - set(present):
        instance.delete_dynamic_partition(partitions, gone)
    instance.add_dynamic_partitions(partitions, [k for k in present if k not in known])
