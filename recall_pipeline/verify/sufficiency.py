"""From line verdicts to the determination: raw count, random sample, full count.

The procedure of EC §§11222–11225, as the petition's `verification.method` asks:

- `full_count`: every line's verdict counts; sufficient per `sufficient_when`.
- `random_sample`: a seeded uniform sample of the lines (sorted by line key, so the draw depends
  only on the lines and the seed); within the sample a line is valid when its only fault, if
  any, is being a voter's second line — duplicates are the projection's job (2 CCR §20532),
  counted as d = sampled valid lines beyond the first of each voter. The projection decides
  sufficient, insufficient, or that a full count is required.
- `auto`: the sample first, the full count only when the projection falls in the band — what
  Los Angeles did in 2022.

A raw count below the requirement ends verification at once (EC §11222).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.verify import determination as law
from recall_pipeline.verify.reasons import INVALID, PENDING, VALID

LINE_KEY = ["section_id", "page", "line"]


@dataclass
class Sufficiency:
    determination: dict
    sample_lines: pd.DataFrame


def determine(config: PetitionConfig, verdicts: pd.DataFrame) -> Sufficiency:
    raw_count = len(verdicts)
    percent = law.threshold_percent(config.registered_voters_basis, config.threshold_percent)
    required = law.required_signatures(config.registered_voters_basis, percent)
    row: dict = {
        "petition_id": config.petition_id,
        "raw_count": raw_count,
        "registered_voters_basis": config.registered_voters_basis,
        "threshold_percent": float(percent),
        "required": required,
        "sufficient_when": config.sufficient_when,
    }
    sample = _empty_sample(config.petition_id)
    if raw_count < required:
        counts = _counts(verdicts)
        row.update(counts, method="raw_count", result=law.INSUFFICIENT)
        row["margin"] = raw_count - required
        row.update(pending_could_change=False, pending_needed_to_change=None)
        return Sufficiency(_with_sample_fields(row, None, required, config), sample)

    projection = None
    if config.verification_method in ("random_sample", "auto"):
        sample, projection, sample_counts = _sample(config, verdicts)
        sample_outcome = law.sample_result(projection.projected_valid, required, config.kind)
        row["sample_result"] = sample_outcome
        if (
            config.verification_method == "random_sample"
            or sample_outcome != law.FULL_COUNT_REQUIRED
        ):
            row.update(sample_counts, method="random_sample", result=sample_outcome)
            row["margin"] = projection.projected_valid - required
            row.update(_pending_in_sample(config, sample, projection, required))
            return Sufficiency(_with_sample_fields(row, projection, required, config), sample)

    counts = _counts(verdicts)
    result = law.full_count_result(counts["valid"], required, config.sufficient_when)
    method = "full_count" if projection is None else "random_sample_then_full_count"
    row.update(counts, method=method, result=result, margin=counts["valid"] - required)
    row.update(_pending_in_full_count(config, counts, required, result))
    return Sufficiency(_with_sample_fields(row, projection, required, config), sample)


def _pending_in_full_count(config: PetitionConfig, counts: dict, required: int, result: str):
    """Whether the PENDING lines, once an examiner decides them, could change the result, and
    how many of them would have to be valid for it. Pending lines are counted neither valid
    nor invalid: they can only add valid lines, so only an insufficient result can turn."""
    if result == law.SUFFICIENT or counts["pending"] == 0:
        return {"pending_could_change": False, "pending_needed_to_change": None}
    enough = required + 1 if config.sufficient_when == "greater_than" else required
    needed = enough - counts["valid"]
    return {"pending_could_change": counts["pending"] >= needed, "pending_needed_to_change": needed}


def _pending_in_sample(config: PetitionConfig, sample: pd.DataFrame, projection, required: int):
    """The same for a sample's result: how many of the sample's pending lines would have to be
    valid for the projection to cross into another result."""
    pending = int((sample["status"] == PENDING).sum())
    outcome = law.sample_result(projection.projected_valid, required, config.kind)
    for needed in range(1, pending + 1):
        moved = law.project(
            projection.raw_count,
            projection.sample_size,
            projection.sample_valid + needed,
            projection.sample_duplicates,
        )
        if law.sample_result(moved.projected_valid, required, config.kind) != outcome:
            return {"pending_could_change": True, "pending_needed_to_change": needed}
    return {"pending_could_change": False, "pending_needed_to_change": None}


def _counts(verdicts: pd.DataFrame) -> dict:
    status = verdicts["status"]
    return {
        "valid": int((status == VALID).sum()),
        "invalid": int((status == INVALID).sum()),
        "pending": int((status == PENDING).sum()),
    }


def _sample(config: PetitionConfig, verdicts: pd.DataFrame):
    ordered = verdicts.sort_values(LINE_KEY, kind="stable").reset_index(drop=True)
    size = law.sample_size(len(ordered), config.kind)
    positions = law.draw_sample(len(ordered), size, config.sample_seed)
    drawn = ordered.iloc[positions].copy()
    counts_valid = (drawn["status"] == VALID) | (drawn["reason_code"] == "DUPLICATE")
    per_voter = drawn.loc[counts_valid, "voter_id"].value_counts()
    duplicates = int((per_voter[per_voter > 1] - 1).sum())
    valid = int(counts_valid.sum())
    projection = law.project(len(ordered), size, valid, duplicates)
    sample = pd.DataFrame(
        {
            "petition_id": config.petition_id,
            "draw_position": positions.astype(np.int64),
            "section_id": drawn["section_id"].to_numpy(),
            "page": drawn["page"].to_numpy(),
            "line": drawn["line"].to_numpy(),
            "status": drawn["status"].to_numpy(),
            "reason_code": drawn["reason_code"].to_numpy(),
            "counts_as_valid_in_sample": counts_valid.to_numpy(),
            "voter_id": drawn["voter_id"].to_numpy(),
        }
    )
    sample_counts = {
        "valid": valid,
        "invalid": int(size - valid - (drawn["status"] == PENDING).sum()),
        "pending": int((drawn["status"] == PENDING).sum()),
    }
    return sample, projection, sample_counts


def _empty_sample(petition_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "petition_id": pd.Series([], dtype="str"),
            "draw_position": pd.Series([], dtype="int64"),
            "section_id": pd.Series([], dtype="str"),
            "page": pd.Series([], dtype="int64"),
            "line": pd.Series([], dtype="int64"),
            "status": pd.Series([], dtype="str"),
            "reason_code": pd.Series([], dtype="str"),
            "counts_as_valid_in_sample": pd.Series([], dtype="bool"),
            "voter_id": pd.Series([], dtype="str"),
        }
    )


SAMPLE_FIELDS = (
    "sample_seed",
    "sample_size",
    "sample_valid",
    "sample_duplicates",
    "sample_validity_rate",
    "projected_uncorrected",
    "sample_line_value",
    "sample_duplicate_weight",
    "projected_duplicates",
    "projected_valid",
    "projected_percent_of_required",
    "sample_upper_cutoff",
    "sample_lower_cutoff",
    "sample_result",
)


def _with_sample_fields(
    row: dict, projection: law.Projection | None, required: int, config: PetitionConfig
) -> dict:
    """Every sample column present (None when no sample was drawn), filled from `projection`."""
    for name in SAMPLE_FIELDS:
        row.setdefault(name, None)
    if projection is None:
        return row
    upper, lower = law.sample_cutoffs(
        required, projection.sample_size, projection.raw_count, config.kind
    )
    row.update(
        sample_seed=config.sample_seed,
        sample_size=projection.sample_size,
        sample_valid=projection.sample_valid,
        sample_duplicates=projection.sample_duplicates,
        sample_validity_rate=float(projection.validity_rate),
        projected_uncorrected=projection.uncorrected,
        sample_line_value=float(projection.line_value),
        sample_duplicate_weight=float(projection.duplicate_weight),
        projected_duplicates=projection.estimated_duplicates,
        projected_valid=projection.projected_valid,
        projected_percent_of_required=round(100 * projection.projected_valid / required, 2),
        sample_upper_cutoff=upper,
        sample_lower_cutoff=lower,
    )
    return row
