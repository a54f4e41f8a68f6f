"""The determination: raw count, statutory random sample, full count, result — decided and
published for a run's petitions, then checked to add up; beside it, the requirement under each
basis (`verify.bases`)."""

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
from recall_pipeline.verify.bases import (
    RollExtract,
    requirement_bases,
    roll_counts,
    valid_lines,
)
from recall_pipeline.verify.jurisdiction import zips_by_code
from recall_pipeline.verify.reconcile import determination_adds_up
from recall_pipeline.verify.schemas import (
    REQUIREMENT_BASES,
    SAMPLE_LINES,
    SUFFICIENCY_DETERMINATION,
)
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
    bases_rows: int = 0


def determine_sufficiency(
    store: Warehouse, scope: list[str], every: bool, *, log: Log = _LOG
) -> DeterminationOutcome:
    """Count, sample and decide each petition in `scope` (every registered one when `every`)
    from its published verdicts; publish sufficiency_determination and sample_lines, and the
    requirement under each basis (requirement_bases)."""
    configs = petition_configs(store, scope)
    verdicts = read_frame(
        store,
        "line_verdicts",
        ["petition_id", "section_id", "page", "line", "status", "reason_code", "voter_id"],
        where={"petition_id": [config.petition_id for config in configs]},
    )
    roll = read_roll(store)
    zips = zips_by_code(read_frame(store, "jurisdiction_zips"))
    rows, samples, bases = [], [], []
    for config in configs:
        mine = verdicts[verdicts["petition_id"] == config.petition_id]
        outcome = determine(config, mine)
        rows.append(outcome.determination)
        samples.append(outcome.sample_lines)
        d = outcome.determination
        log.info(
            f"{config.petition_id}: {d['method']} → {d['result']} "
            f"(valid {d['valid']}, required {d['required']}, margin {d['margin']})"
        )
        code = config.jurisdiction_code
        counted = roll_counts(roll, code, zips.get(code, frozenset()))
        if counted.registered == 0:
            log.warning(
                f"{config.petition_id}: the roll counts no registration in jurisdiction {code}, "
                "so requirement_bases has no roll rows for it"
            )
        petition_bases = requirement_bases(config, valid_lines(mine), counted)
        bases += petition_bases
        log.info(
            f"{config.petition_id}: under each basis "
            + "; ".join(
                f"{b['basis']}: required {b['required']}, margin {b['margin']:+}"
                for b in petition_bases
            )
        )
    table = concat_rows([pd.DataFrame(rows)] if rows else [], SUFFICIENCY_DETERMINATION)
    sample = concat_rows(samples, SAMPLE_LINES)
    by_basis = concat_rows([pd.DataFrame(bases)] if bases else [], REQUIREMENT_BASES)
    publish_petitions(store, SUFFICIENCY_DETERMINATION, table, scope, every)
    publish_petitions(store, SAMPLE_LINES, sample, scope, every)
    publish_petitions(store, REQUIREMENT_BASES, by_basis, scope, every)
    adds_up = determination_adds_up(store, scope)
    return DeterminationOutcome(
        determination_rows=len(table),
        data_version=hashlib.sha256(table.to_json(orient="records").encode()).hexdigest(),
        results=dict(zip(table["petition_id"], table["result"], strict=True)),
        sample_rows=len(sample),
        counts_add_up=adds_up,
        bases_rows=len(by_basis),
    )


def read_roll(store: Warehouse) -> RollExtract:
    """The published roll counted in the warehouse by county code, residence ZIP and status:
    the jurisdiction rule reads only the ZIP's first five characters, so grouping by them hands
    it a few thousand rows instead of the roll."""
    groups = store.query(
        "SELECT jurisdiction_code, substr(zip, 1, 5) AS zip, status,"
        " count(*) AS registrations,"
        " max(registration_date) AS latest_registration, max(status_date) AS latest_status"
        " FROM voter_roll GROUP BY jurisdiction_code, substr(zip, 1, 5), status"
    )
    dates = [
        d for column in ("latest_registration", "latest_status") for d in groups[column].dropna()
    ]
    files = store.query("SELECT DISTINCT source_file FROM voter_roll ORDER BY source_file")
    return RollExtract(
        groups=groups[["jurisdiction_code", "zip", "status", "registrations"]],
        latest_date=pd.Timestamp(max(dates)).date() if dates else None,
        files=tuple(files["source_file"]),
    )
