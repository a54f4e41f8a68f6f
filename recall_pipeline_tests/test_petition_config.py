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
        "kind: 'referendum' is not one of local_recall, state_recall, initiative (line 2)",
        "jurisdiction_code: missing",
        "filed_date: '2022-13-06' is not a date (YYYY-MM-DD) (line 5)",
        "registered_voters_basis: 'lots' is not a whole number (line 6)",
        "threshold_percent: 250 is not a percent in (0, 100] or null (line 8)",
        "verification.method: 'guess' is not one of full_count, random_sample, auto (line 10)",
    ]


def test_dates_out_of_order_are_reported(tmp_path: Path) -> None:
    text = PETITION_YAML.replace("filed_date: 2022-07-06", "filed_date: 2021-07-06").replace(
        "basis_report_date: 2021-12-31", "basis_report_date: 2022-02-01"
    )
    assert problems(tmp_path, text) == [
        "filed_date: 2021-07-06 is before approved_for_circulation 2022-01-27 (line 6)",
        "basis_report_date: 2022-02-01 is after approved_for_circulation 2022-01-27 "
        "(the basis is the last report before approval) (line 8)",
    ]


def test_petition_id_must_match_its_folder(tmp_path: Path) -> None:
    with pytest.raises(PetitionConfigError, match="does not match its folder name 'other'"):
        load(tmp_path, PETITION_YAML, folder="other")


def test_missing_verification_block(tmp_path: Path) -> None:
    text = PETITION_YAML.split("verification:")[0] + "registration_cutoff: filed_date\n"
    assert problems(tmp_path, text) == [
        "verification: missing (a mapping: method, sample_seed, sufficient_when)"
    ]
    text = PETITION_YAML.replace("  method: auto\n", "").replace("  sample_seed: 20220709\n", "")
    assert problems(tmp_path, text) == [
        "verification.method: missing (one of full_count, random_sample, auto)",
        "verification.sample_seed: missing (a whole number)",
    ]


def test_not_yaml(tmp_path: Path) -> None:
    assert problems(tmp_path, "petition_id: [unclosed\n") == ["not valid YAML at line 2"]
    assert problems(tmp_path, "- a list\n") == ["expected a mapping of settings"]


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    # YAML loaders keep the last value: threshold 10 then 1 would turn INSUFFICIENT into
    # SUFFICIENT without a word.
    text = PETITION_YAML.replace(
        "threshold_percent: null", "threshold_percent: 10\nthreshold_percent: 1"
    )
    assert problems(tmp_path, text) == ["threshold_percent: given twice (lines 9 and 10)"]
    text = PETITION_YAML.replace("  method: auto", "  method: auto\n  method: full_count")
    assert problems(tmp_path, text) == ["verification.method: given twice (lines 11 and 12)"]


def test_a_key_the_schema_does_not_know_is_refused(tmp_path: Path) -> None:
    text = PETITION_YAML.replace("verification:", "verification_typo:")
    assert problems(tmp_path, text) == [
        "verification: missing (a mapping: method, sample_seed, sufficient_when)",
        "verification_typo: not a setting petition.yaml has (misspelt, or in the wrong block?)"
        " (line 10)",
    ]
    text = PETITION_YAML.replace("  sufficient_when:", "  sufficent_when:")
    assert problems(tmp_path, text) == [
        "verification.sufficent_when: not a setting petition.yaml has (misspelt, or in the wrong"
        " block?) (line 13)"
    ]


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("filed_date: 20220706", "filed_date: 20220706 is not a date (YYYY-MM-DD) (line 6)"),
        ("threshold_percent: true", "threshold_percent: True is not a percent"),
        ("registered_voters_basis: '5668569'", "registered_voters_basis: '5668569' is not a whole"),
        ("registered_voters_basis: 0", "registered_voters_basis: 0 is below 1 (line 7)"),
        ("registered_voters_basis: 5.5", "registered_voters_basis: 5.5 is not a whole number"),
        ("target: ''", "target: missing"),
    ],
    ids=["date-as-number", "bool-percent", "quoted-number", "zero-basis", "fraction", "blank"],
)
def test_a_value_of_the_wrong_kind_is_refused(tmp_path: Path, setting: str, problem: str) -> None:
    key = setting.split(":")[0]
    lines = [setting if line.startswith(f"{key}:") else line for line in PETITION_YAML.split("\n")]
    (found,) = problems(tmp_path, "\n".join(lines))
    assert found.startswith(problem)


def test_the_contracts_optional_blocks_are_validated(tmp_path: Path) -> None:
    extra = (
        "alternative_bases:\n"
        "  - name: active voters\n"
        "    registered_voters: 5438400\n"
        "    as_of: 2021-12-31\n"
        "    source: county public-records response, 2022-10\n"
        "examination:\n"
        "  started: 2022-09-06\n"
    )
    assert load(tmp_path, PETITION_YAML + extra).petition_id == "test-recall"
    broken = extra.replace("5438400", "many").replace("started:", "begun:")
    assert problems(tmp_path, PETITION_YAML + broken) == [
        "alternative_bases.0.registered_voters: 'many' is not a whole number (line 19)",
        "examination.started: missing (a date, YYYY-MM-DD)",
        "examination.begun: not a setting petition.yaml has (misspelt, or in the wrong block?)"
        " (line 23)",
    ]


BASES = (
    "alternative_bases:\n"
    "  - name: active voters\n"
    "    registered_voters: 5438400\n"
    "    as_of: 2021-12-31\n"
    "    source: county public-records response, 2022-10\n"
)


def test_alternative_bases_and_the_examination_are_kept(tmp_path: Path) -> None:
    from recall_pipeline.ingest.petition_config import Basis

    config = load(tmp_path, PETITION_YAML + BASES + "examination:\n  started: 2022-09-06\n")
    assert config.alternative_bases == (
        Basis(
            "active voters",
            5438400,
            dt.date(2021, 12, 31),
            "county public-records response, 2022-10",
        ),
    )
    assert config.examination_started == dt.date(2022, 9, 6)
    assert config.examination_ends == dt.date(2022, 11, 5)
    plain = load(tmp_path, PETITION_YAML)
    assert (plain.alternative_bases, plain.examination_started) == ((), None)
    assert plain.examination_ends is None
    # A basis is a setting like the others: the settings' hash moves with it.
    assert config.settings_sha256() != plain.settings_sha256()
    other = load(tmp_path, PETITION_YAML + BASES.replace("5438400", "5438401"))
    assert other.settings_sha256() != load(tmp_path, PETITION_YAML + BASES).settings_sha256()


def test_the_petitions_table_keeps_the_bases_and_the_examination(tmp_path: Path) -> None:
    from recall_pipeline.ingest.pipeline import petitions_table
    from recall_pipeline.verify.pipeline import config_from_row

    with_all = load(tmp_path, PETITION_YAML + BASES + "examination:\n  started: 2022-09-06\n")
    plain = load(tmp_path, PETITION_YAML)
    table = petitions_table([(with_all, "a.yaml", "0" * 64), (plain, "b.yaml", "1" * 64)])
    rows = table.to_pandas().to_dict("records")
    assert rows[0]["examination_started"] == dt.date(2022, 9, 6)
    assert [config_from_row(row) for row in rows] == [with_all, plain]


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (
            BASES.replace("    source: county public-records response, 2022-10\n", ""),
            "alternative_bases.0.source: missing (every basis names where its figure comes from)",
        ),
        (
            BASES.replace("source: county public-records response, 2022-10", "source: ''"),
            "alternative_bases.0.source: missing (every basis names where its figure comes from)"
            " (line 21)",
        ),
        (
            BASES.replace("5438400", "-5438400"),
            "alternative_bases.0.registered_voters: -5438400 is below 1 (line 19)",
        ),
        (
            BASES.replace("2021-12-31", "2021-12-32"),
            "alternative_bases.0.as_of: '2021-12-32' is not a date (YYYY-MM-DD) (line 20)",
        ),
        (
            BASES.replace("    as_of: 2021-12-31\n", ""),
            "alternative_bases.0.as_of: missing (a date, YYYY-MM-DD)",
        ),
        (
            BASES + BASES.split("\n", 1)[1].replace("active voters", "Active Voters"),
            "alternative_bases.1.name: 'Active Voters' is already the name of "
            "alternative_bases.0 (line 22)",
        ),
        (
            "examination:\n  started: 2022-07-05\n",
            "examination: started 2022-07-05 is before filed_date 2022-07-06 (the examination "
            "follows the finding on the filed petition) (line 17)",
        ),
    ],
    ids=["no-source", "blank-source", "negative", "bad-date", "no-date", "same-name", "early-exam"],
)
def test_a_bad_basis_or_examination_is_named_by_file_and_key(
    tmp_path: Path, broken: str, problem: str
) -> None:
    assert problems(tmp_path, PETITION_YAML + broken) == [problem]
