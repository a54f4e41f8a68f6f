"""petition.yaml validation: every wrong or missing field gets its own clear message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from recall_pipeline.ingest.errors import PetitionConfigError
from recall_pipeline.ingest.petition_config import load_petition_config
from recall_pipeline_tests.datadir import PETITION_YAML


def load(tmp_path: Path, text: str, folder: str = "test-recall"):
    path = tmp_path / "petition.yaml"
    path.write_text(text, encoding="utf-8")
    return load_petition_config(path, f"petitions/{folder}/petition.yaml", folder)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PetitionConfigError) as caught:
        load(tmp_path, text)
    assert str(caught.value).startswith("petitions/test-recall/petition.yaml: ")
    return caught.value.problems


def test_valid_settings_are_typed(tmp_path: Path) -> None:
    config = load(tmp_path, PETITION_YAML)
    assert config.petition_id == "test-recall"
    assert config.jurisdiction_code == "19"
    assert config.approved_for_circulation == dt.date(2022, 1, 27)
    assert config.registered_voters_basis == 5668569
    assert config.threshold_percent is None
    assert (config.verification_method, config.sample_seed) == ("auto", 20220709)
    assert len(config.settings_sha256()) == 64


def test_settings_hash_changes_with_any_setting(tmp_path: Path) -> None:
    before = load(tmp_path, PETITION_YAML).settings_sha256()
    after = load(tmp_path, PETITION_YAML.replace("20220709", "20220710")).settings_sha256()
    assert before != after


def test_threshold_override_is_accepted(tmp_path: Path) -> None:
    config = load(
        tmp_path, PETITION_YAML.replace("threshold_percent: null", "threshold_percent: 15")
    )
    assert config.threshold_percent == 15.0


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        PETITION_YAML.replace("kind: local_recall", "kind: referendum")
        .replace("filed_date: 2022-07-06", "filed_date: 2022-13-06")
        .replace("registered_voters_basis: 5668569", "registered_voters_basis: lots")
        .replace("method: auto", "method: guess")
        .replace("threshold_percent: null", "threshold_percent: 250")
        .replace('jurisdiction_code: "19"\n', "")
    )
    assert problems(tmp_path, text) == [
        "kind: 'referendum' is not one of local_recall, state_recall, initiative",
        "jurisdiction_code: missing",
        "filed_date: '2022-13-06' is not a date (YYYY-MM-DD)",
        "registered_voters_basis: 'lots' is not a whole number",
        "threshold_percent: 250 is not a percent in (0, 100] or null",
        "verification.method: 'guess' is not one of full_count, random_sample, auto",
    ]


def test_dates_out_of_order_are_reported(tmp_path: Path) -> None:
    text = PETITION_YAML.replace("filed_date: 2022-07-06", "filed_date: 2021-07-06").replace(
        "basis_report_date: 2021-12-31", "basis_report_date: 2022-02-01"
    )
    assert problems(tmp_path, text) == [
        "filed_date: 2021-07-06 is before approved_for_circulation 2022-01-27",
        "basis_report_date: 2022-02-01 is after approved_for_circulation 2022-01-27 "
        "(the basis is the last report before approval)",
    ]


def test_petition_id_must_match_its_folder(tmp_path: Path) -> None:
    with pytest.raises(PetitionConfigError, match="does not match its folder name 'other'"):
        load(tmp_path, PETITION_YAML, folder="other")


def test_missing_verification_block(tmp_path: Path) -> None:
    text = PETITION_YAML.split("verification:")[0] + "registration_cutoff: filed_date\n"
    assert problems(tmp_path, text) == [
        "verification.method: missing (one of full_count, random_sample, auto)",
        "verification.sample_seed: missing (a whole number)",
    ]


def test_not_yaml(tmp_path: Path) -> None:
    assert problems(tmp_path, "petition_id: [unclosed\n") == ["not valid YAML at line 2"]
    assert problems(tmp_path, "- a list\n") == ["expected a mapping of settings"]
