"""The determination: raw count, statutory random sample, full count, result — decided and
published for a run's petitions, then checked to add up."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import pandas as pd

from recall_pipeline.checks import CheckOutcome
from recall_pipeline.services.io import (
    Log,
    concat_rows,
    petition_configs,
    publish_petitions,
    read_frame,
)
from recall_pipeline.verify.reconcile import determination_adds_up
from recall_pipeline.verify.schemas import SAMPLE_LINES, SUFFICIENCY_DETERMINATION
from recall_pipeline.verify.sufficiency import determine
from recall_pipeline.versions import stage_version
from recall_pipeline.warehouse import Warehouse

# A hash of the code that counts, samples and decides (`versions`).
DETERMINATION_CODE_VERSION = stage_version("determination")
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeterminationOutcome:
    """What a determination run published for its petitions, and its check."""

    determination_rows: int
    # SHA-256 of the published determination rows: a new one whenever a figure moves.
    data_version: str
    results: dict[str, str]
    sample_rows: int
    counts_add_up: CheckOutcome


def determine_sufficiency(
    store: Warehouse, scope: list[str], every: bool, *, log: Log = _LOG
) -> DeterminationOutcome:
    """Count, sample and decide each petition in `scope` (every registered one when `every`)
    from its published verdicts; publish sufficiency_determination and sample_lines."""
    configs = petition_configs(store, scope)
    verdicts = read_frame(
        store,
        "line_verdicts",
        ["petition_id", "section_id", "page", "line", "status", "reason_code", "voter_id"],
        where={"petition_id": [config.petition_id for config in configs]},
    )
    rows, samples = [], []
    for config in configs:
        outcome = determine(config, verdicts[verdicts["petition_id"] == config.petition_id])
        rows.append(outcome.determination)
        samples.append(outcome.sample_lines)
        d = outcome.determination
        log.info(
            f"{config.petition_id}: {d['method']} → {d['result']} "
            f"(valid {d['valid']}, required {d['required']}, margin {d['margin']})"
        )
    table = concat_rows([pd.DataFrame(rows)] if rows else [], SUFFICIENCY_DETERMINATION)
    sample = concat_rows(samples, SAMPLE_LINES)
    publish_petitions(store, SUFFICIENCY_DETERMINATION, table, scope, every)
    publish_petitions(store, SAMPLE_LINES, sample, scope, every)
    adds_up = determination_adds_up(store, scope)
    return DeterminationOutcome(
        determination_rows=len(table),
        data_version=hashlib.sha256(table.to_json(orient="records").encode()).hexdigest(),
        results=dict(zip(table["petition_id"], table["result"], strict=True)),
        sample_rows=len(sample),
        counts_add_up=adds_up,
    )
