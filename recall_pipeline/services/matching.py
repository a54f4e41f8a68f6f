"""Matching: each petition line linked to the registration behind it, with evidence, for every
scan batch or for some of them."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from recall_pipeline.ingest.batches import batch_files, departed_files
from recall_pipeline.services.io import Log, concat_rows, petition_configs
from recall_pipeline.verify import roll_cache
from recall_pipeline.verify.matching_run import (
    match_some_batches,
    match_whole_petition,
    petition_of,
)
from recall_pipeline.verify.model import default_model
from recall_pipeline.verify.pipeline import match_petition, prepare_petition_lines
from recall_pipeline.verify.schemas import LINE_MATCHES, MATCH_CANDIDATES, MATCH_MODELS
from recall_pipeline.versions import stage_version
from recall_pipeline.warehouse import Warehouse

# The code and settings that decide the matches, hashed: a change to either is a new version.
MATCHING_CODE_VERSION = stage_version("matching")

# What matching reads of a line: its key, what the signer wrote, and its file.
_LINE_COLUMNS = [
    "petition_id",
    "section_id",
    "page",
    "line",
    "printed_name",
    "residence_address",
    "city",
    "zip",
    "source_file",
]
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchingOutcome:
    """What a matching run published: the rows of its lines' matches and candidates."""

    match_rows: int
    lines_by_method: dict[str, int]
    lines_by_status: dict[str, int]
    # How each line's address was parsed; "no address" for a line without one.
    lines_parsed_by: dict[str, int]
    candidate_rows: int
    lines_for_review: int
    petitions_fitted: int


def match_lines(
    store: Warehouse, data_dir: Path, keys: list[str], every: bool, *, log: Log = _LOG
) -> MatchingOutcome:
    """Match the lines of the scan batches `keys` (every registered batch when `every`) and
    publish line_matches, match_candidates and match_models. Some batches only: their lines'
    rows are replaced (with those of scan files no longer delivered), the others' kept."""
    files = None if every else batch_files(data_dir, keys)
    where = None
    departed = departed_files(store, data_dir, LINE_MATCHES.name) if files else []
    if files:
        where = {"source_file": files + departed}
    configs = petition_configs(store)
    version = roll_cache.roll_version(store)
    current = roll_cache.current_jurisdictions(store, version)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Reading and preparing the roll and the lines are mostly DuckDB and Arrow work,
        # which release the GIL: on two cores they overlap. A run over every batch reaches
        # most of the roll: it prepares the whole roll (and keeps its keys unless they are
        # current), starting before the lines are read; a run for a few batches reads only
        # the registrations their lines can reach. The raw roll lives only inside that
        # call: gigabytes at a county's scale.
        if every:
            rolls = pool.submit(
                roll_cache.prepare_all, store, {c.jurisdiction_code for c in configs}
            )
        lines_all = store.read_frame(
            "petition_lines",
            columns=_LINE_COLUMNS,
            where={"source_file": files} if files else None,
        )
        if not every:
            present = set(lines_all["petition_id"])
            # A petition that lost a scan file is weighed again without its lines.
            shrunk = {petition_of(file) for file in departed} - present
            configs = [c for c in configs if c.petition_id in present | shrunk]
            codes = {config.jurisdiction_code for config in configs}
            rolls = pool.submit(roll_cache.prepare_all, store, codes - current)
        prepared_lines = {
            c.petition_id: prepare_petition_lines(
                lines_all[lines_all["petition_id"] == c.petition_id]
            )
            for c in configs
        }
        built = rolls.result()
        stale = {code: built[code] for code in built if code not in current}
        # The warehouse writes the keys on its own threads while the lines are matched;
        # the step ends only once they are kept.
        keeping = pool.submit(roll_cache.publish, store, stale, version) if stale else None
        matched, candidates, models = [], [], []
        for config in configs:
            code = config.jurisdiction_code
            lines, prepared = prepared_lines.pop(config.petition_id)
            if not every and config.petition_id not in present:
                run = match_whole_petition(
                    store, config.petition_id, code, _LINE_COLUMNS, built.get(code)
                )
                found, weighed, model, read = (
                    run.matches, run.candidates, run.models, run.registrations_read
                )  # fmt: skip
                where["source_file"] = sorted({*where["source_file"], *run.rematched_files})
            elif every:
                roll, history, stats = built[code]
                found, weighed, model = match_petition(
                    config.petition_id, lines, roll, history, stats, (lines, prepared),
                    model=default_model(),
                )  # fmt: skip
                read = len(roll)
            else:
                run = match_some_batches(
                    store, config.petition_id, code, lines, prepared, _LINE_COLUMNS,
                    whole=built.get(code), gone=departed,
                )  # fmt: skip
                found, weighed, model, read = (
                    run.matches, run.candidates, run.models, run.registrations_read
                )  # fmt: skip
                if run.rematched_files:
                    where["source_file"] = sorted({*where["source_file"], *run.rematched_files})
                    log.info(
                        f"{config.petition_id}: the model fitted with the new lines moved; "
                        f"the lines of {len(run.rematched_files)} earlier files matched again"
                    )
            matched.append(found)
            candidates.append(weighed)
            models.append(model)
            log.info(
                f"{config.petition_id}: {len(found)} lines, "
                f"{int((found['match_status'] == 'MATCHED').sum())} matched, "
                f"{int((found['match_status'] == 'REVIEW').sum())} for review, "
                f"{len(weighed)} candidates weighed, {read} registrations read"
            )
        # A batch whose every line was quarantined leaves nothing to match.
        matches = concat_rows(matched, LINE_MATCHES)
        weighed_all = concat_rows(candidates, MATCH_CANDIDATES)
        store.publish(LINE_MATCHES, matches, replace_where=where)
        store.publish(MATCH_CANDIDATES, weighed_all, replace_where=where)
        fitted = concat_rows(models, MATCH_MODELS)
        petitions = {"petition_id": [c.petition_id for c in configs]}
        store.publish(MATCH_MODELS, fitted, replace_where=None if every else petitions)
        if keeping is not None:
            keeping.result()
    by_method = matches["match_method"].value_counts().to_dict()
    return MatchingOutcome(
        match_rows=len(matches),
        lines_by_method={k: int(v) for k, v in by_method.items()},
        lines_by_status={
            k: int(v) for k, v in matches["match_status"].value_counts().to_dict().items()
        },
        lines_parsed_by={
            k or "no address": int(v)
            for k, v in matches["parsed_by"].value_counts().to_dict().items()
        },
        candidate_rows=len(weighed_all),
        lines_for_review=int((matches["match_status"] == "REVIEW").sum()),
        petitions_fitted=len(models),
    )
