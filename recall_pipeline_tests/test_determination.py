"""The statutory arithmetic, checked against the law's own worked examples and edges."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from recall_pipeline.verify.determination import (
    FULL_COUNT_REQUIRED,
    INSUFFICIENT,
    SUFFICIENT,
    draw_sample,
    full_count_result,
    project,
    required_signatures,
    sample_cutoffs,
    sample_result,
    sample_size,
    statutory_percent,
    threshold_percent,
)


def test_regulation_worked_example_2_ccr_20540() -> None:
    p = project(raw_count=24_034, size=722, valid=516, duplicates=2)
    assert p.validity_rate == Decimal("0.7147")
    assert p.uncorrected == 17_178
    assert p.line_value == Decimal("33.2881")
    assert p.duplicate_weight == Decimal("1074.8095")
    assert p.estimated_duplicates == 2_150
    assert p.projected_valid == 15_028


def test_second_published_example() -> None:
    p = project(raw_count=25_000, size=1_250, valid=900, duplicates=1)
    assert (p.uncorrected, p.line_value, p.duplicate_weight) == (18_000, 20, 380)
    assert (p.estimated_duplicates, p.projected_valid) == (380, 17_620)


def test_no_duplicates_no_correction() -> None:
    p = project(raw_count=1_000, size=500, valid=250, duplicates=0)
    assert (p.uncorrected, p.estimated_duplicates, p.projected_valid) == (500, 0, 500)


@pytest.mark.parametrize(
    ("registered", "percent"),
    [
        (1, 30),
        (999, 30),
        (1_000, 25),
        (9_999, 25),
        (10_000, 20),
        (49_999, 20),
        (50_000, 15),
        (99_999, 15),
        (100_000, 10),
        (5_668_569, 10),
    ],
)
def test_threshold_table_edges(registered: int, percent: int) -> None:
    assert statutory_percent(registered) == percent


def test_la_2022_requirement() -> None:
    assert required_signatures(5_668_569, threshold_percent(5_668_569, None)) == 566_857
    # the proponents' denominator: active voters only
    assert required_signatures(5_438_400, threshold_percent(5_438_400, None)) == 543_840


def test_requirement_rounds_up_and_override_applies() -> None:
    assert required_signatures(1_001, Decimal(25)) == 251  # 250.25
    assert required_signatures(1_000, Decimal(25)) == 250
    assert threshold_percent(500_000, 15) == Decimal(15)
    assert required_signatures(500_000, threshold_percent(500_000, 15)) == 75_000
    assert required_signatures(3, Decimal("12.5")) == 1


def test_full_count_tie_follows_the_setting() -> None:
    assert full_count_result(566_857, 566_857, "greater_than") == INSUFFICIENT
    assert full_count_result(566_857, 566_857, "at_least") == SUFFICIENT
    assert full_count_result(566_858, 566_857, "greater_than") == SUFFICIENT
    assert full_count_result(520_050, 566_857, "at_least") == INSUFFICIENT
    with pytest.raises(ValueError):
        full_count_result(1, 1, "sometimes")


def test_sample_size_is_five_percent_or_500() -> None:
    assert sample_size(715_860, "local_recall") == 35_793
    assert sample_size(9_000, "local_recall") == 500
    assert sample_size(300, "local_recall") == 300
    assert sample_size(100_001, "initiative") == 3_001


def test_sample_band_edges() -> None:
    required = 1_000
    assert sample_result(1_101, required, "local_recall") == SUFFICIENT
    assert sample_result(1_100, required, "local_recall") == FULL_COUNT_REQUIRED
    assert sample_result(900, required, "local_recall") == FULL_COUNT_REQUIRED
    assert sample_result(899, required, "local_recall") == INSUFFICIENT
    assert sample_result(949, required, "initiative") == INSUFFICIENT
    assert sample_result(950, required, "initiative") == FULL_COUNT_REQUIRED


def test_la_published_sample_cutoffs() -> None:
    assert sample_cutoffs(566_857, 35_793, 715_833, "local_recall") == (31_179, 25_510)


def test_sample_draw_is_seeded_uniform_and_without_repeats() -> None:
    first = draw_sample(10_000, 500, seed=20220709)
    assert np.array_equal(first, draw_sample(10_000, 500, seed=20220709))
    assert not np.array_equal(first, draw_sample(10_000, 500, seed=1))
    assert len(np.unique(first)) == 500 and first.min() >= 0 and first.max() < 10_000
    counts = np.bincount(
        np.concatenate([draw_sample(100, 10, seed=s) for s in range(2_000)]), minlength=100
    )
    assert counts.min() > 140 and counts.max() < 260  # each position drawn about 200 times


def _verdicts(valid: int, invalid: int, pending: int):
    import pandas as pd

    status = ["VALID"] * valid + ["INVALID"] * invalid + ["PENDING"] * pending
    return pd.DataFrame(
        {
            "section_id": "S1",
            "page": 1,
            "line": range(len(status)),
            "status": status,
            "reason_code": [None] * valid + ["NOT_REGISTERED"] * invalid + [None] * pending,
            "voter_id": [f"V{i}" for i in range(len(status))],
        }
    )


@pytest.mark.parametrize(
    ("valid", "pending", "rule", "could", "needed"),
    [
        # 100 required; greater_than needs 101 valid.
        (95, 10, "greater_than", True, 6),
        (95, 5, "greater_than", False, 6),
        (95, 5, "at_least", True, 5),
        (101, 7, "greater_than", False, None),  # sufficient already: pending only add
        (95, 0, "greater_than", False, None),
    ],
)
def test_the_determination_says_what_pending_lines_could_do(valid, pending, rule, could, needed):
    import datetime as dt

    from recall_pipeline.ingest.petition_config import PetitionConfig
    from recall_pipeline.verify.sufficiency import determine

    config = PetitionConfig(
        petition_id="p",
        kind="local_recall",
        jurisdiction_code="19",
        target="x",
        approved_for_circulation=dt.date(2022, 1, 1),
        filed_date=dt.date(2022, 7, 1),
        registered_voters_basis=1000,
        basis_report_date=dt.date(2021, 12, 31),
        threshold_percent=10.0,
        verification_method="full_count",
        sample_seed=1,
        sufficient_when=rule,
        registration_cutoff="filed_date",
        duplicates_keep="earliest",
        unreviewed_signatures="presume_valid",
    )
    row = determine(config, _verdicts(valid, 200 - valid - pending, pending)).determination
    assert (row["pending_could_change"], row["pending_needed_to_change"]) == (could, needed)
