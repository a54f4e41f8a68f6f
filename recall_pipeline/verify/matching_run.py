"""Matching one petition's lines in a run, whole or for some of its scan batches.

A run over every batch matches every line and fits the petition's model on them all. A run
for some batches must end where a run over every batch would: it fits the model on the new
lines' candidates together with the candidates published for the petition's other lines
(`match.FitSample`). When that fit keeps the models the published matches were weighed with,
only the new lines are matched; when it moves them, every line of the petition is matched
again, since every line's weights moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from recall_pipeline.verify import roll_cache
from recall_pipeline.verify.model import default_model
from recall_pipeline.verify.pipeline import (
    match_petition,
    models_from_rows,
    prepare_petition_lines,
    same_models,
    stored_models,
)
from recall_pipeline.verify.schemas import MATCH_CANDIDATES
from recall_pipeline.warehouse import Warehouse


@dataclass
class PetitionMatches:
    matches: pd.DataFrame
    candidates: pd.DataFrame
    models: pd.DataFrame
    # Scan files of the petition's earlier lines matched again (their rows are replaced).
    rematched_files: list[str]
    registrations_read: int


def match_some_batches(
    store: Warehouse,
    petition_id: str,
    code: str,
    lines: pd.DataFrame,
    prepared: pd.DataFrame,
    line_columns: list[str],
    whole: tuple | None = None,
    gone: list[str] = (),
) -> PetitionMatches:
    """The petition's new `lines` matched as a run over every batch would match them
    (against the `whole` prepared roll when the run prepared it, else against the
    registrations the lines can reach); `gone` are scan files no longer delivered."""

    def roll_for(these: pd.DataFrame) -> tuple:
        return whole if whole is not None else roll_cache.reachable(store, code, these)

    roll, history, stats = roll_for(prepared)
    files = sorted(set(lines["source_file"]))
    total = int(
        store.query(
            "SELECT count(*) AS n FROM petition_lines WHERE petition_id = :pid",
            {"pid": petition_id},
        )["n"].iloc[0]
    )
    earlier = _earlier_candidates(store, petition_id, [*files, *gone])
    found, weighed, models = match_petition(
        petition_id, lines, roll, history, stats, (lines, prepared),
        model=default_model(), total_lines=total, earlier=earlier,
    )  # fmt: skip
    if same_models(models_from_rows(models, default_model()), stored_models(store, petition_id)):
        return PetitionMatches(found, weighed, models, [], len(roll))
    # The fit moved: every line of the petition is weighed anew.
    return match_whole_petition(store, petition_id, code, line_columns, whole, files)


def match_whole_petition(
    store: Warehouse,
    petition_id: str,
    code: str,
    line_columns: list[str],
    whole: tuple | None = None,
    files: list[str] = (),
) -> PetitionMatches:
    """Every line of the petition matched again (its files other than `files` listed as
    matched again), as a run over every batch matches it."""
    every_line = store.read_frame(
        "petition_lines", columns=line_columns, where={"petition_id": petition_id}
    )
    all_lines, all_prepared = prepare_petition_lines(every_line)
    roll, history, stats = whole or roll_cache.reachable(store, code, all_prepared)
    found, weighed, models = match_petition(
        petition_id, all_lines, roll, history, stats, (all_lines, all_prepared),
        model=default_model(), total_lines=len(all_lines),
    )  # fmt: skip
    others = sorted(set(all_lines["source_file"]) - set(files))
    return PetitionMatches(found, weighed, models, others, len(roll))


def petition_of(scan_file: str) -> str:
    """The petition a scan file (`petitions/<petition>/scans/...`) belongs to."""
    return scan_file.split("/")[1]


def _earlier_candidates(store: Warehouse, petition_id: str, files: list[str]) -> pd.DataFrame:
    """The published candidates of the petition's lines outside `files`."""
    if MATCH_CANDIDATES.name not in store.table_names():
        return pd.DataFrame(columns=MATCH_CANDIDATES.column_names)
    rows = store.read_frame(MATCH_CANDIDATES.name, where={"petition_id": petition_id})
    return rows[~rows["source_file"].isin(files)].reset_index(drop=True)
