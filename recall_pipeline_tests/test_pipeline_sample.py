"""The whole pipeline on the committed sample scenario reproduces its ground truth exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import settings
from recall_pipeline.publication import current
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.datadir import SAMPLE, copy_sample
from recall_pipeline_tests.room_server import run_pipeline

PROJECT = Path(__file__).resolve().parents[1]
TRUTH = PROJECT / "recall_pipeline_tests" / "fixtures" / "sample_truth"
KEY = ["petition_id", "section_id", "page", "line"]


def _run_sample(url: str) -> Warehouse:
    run_pipeline(SAMPLE, url)
    return Warehouse(url)


# One run per backend serves every test that only reads what it published.
@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with fresh_warehouse_url(request.param, tmp_path_factory.mktemp("sample")) as url:
        store = _run_sample(url)
        try:
            yield store
        finally:
            store.dispose()


@pytest.fixture
def published_to_change(warehouse_url: str) -> Iterator[Warehouse]:
    """A run of its own, for a test that changes what was published."""
    store = _run_sample(warehouse_url)
    try:
        yield store
    finally:
        store.dispose()


def test_every_line_gets_its_true_verdict(published: Warehouse) -> None:
    truth = pd.read_csv(TRUTH / "line_truth.csv", dtype=str, keep_default_na=False)
    truth[["page", "line"]] = truth[["page", "line"]].astype("int64")
    verdicts = published.read("line_verdicts").to_pandas()
    joined = truth.merge(verdicts, on=KEY, how="outer", validate="one_to_one", indicator=True)
    assert (joined["_merge"] == "both").all()
    assert (joined["status"] == joined["true_status"]).all()
    got = joined["reason_code"].fillna("")
    wrong = joined[got != joined["true_reason_code"]]
    assert wrong.empty, wrong[[*KEY, "true_reason_code", "reason_code"]].head()
    wanted_voter = joined["true_voter_id"].where(joined["true_voter_id"] != "", None)
    registered = joined["true_reason_code"].isin(["", "DUPLICATE", "CANCELLED", "ADDRESS_MISMATCH"])
    assert (joined.loc[registered, "voter_id"] == wanted_voter[registered]).all()


def test_determination_equals_the_expected_one(published: Warehouse) -> None:
    expected = json.loads((TRUTH / "expected_determination.json").read_text())
    report = load_determination(published, expected["petition_id"])
    for figure in ("raw_count", "valid", "invalid", "pending", "required", "result", "margin"):
        assert report[figure] == expected[figure], figure
    assert report["by_reason"] == expected["by_reason"]
    assert report["by_registrar_category"] == expected["by_registrar_category"]
    assert report["registered_voters_basis"] == expected["registered_voters_basis"]


def test_auto_samples_then_counts_in_full(published: Warehouse) -> None:
    report = load_determination(published, "la-2022-da-recall")
    assert report["method"] == "random_sample_then_full_count"
    assert report["sample_result"] == "FULL_COUNT_REQUIRED"
    assert report["sample_size"] == 500  # 5 % of 1,432 is under the statutory minimum
    assert 90 <= report["projected_percent_of_required"] <= 110
    sample = published.read("sample_lines").to_pandas()
    assert len(sample) == 500 and not sample.duplicated(KEY).any()
    valid_in_sample = int(sample["counts_as_valid_in_sample"].sum())
    assert valid_in_sample == report["sample_valid"]


def test_per_reason_tables_partition_the_invalid_lines(published: Warehouse) -> None:
    verdicts = published.read("line_verdicts").to_pandas()
    total = 0
    for code, count in verdicts["reason_code"].value_counts().items():
        table = published.read(f"invalid_{code.lower()}").to_pandas()
        assert len(table) == count
        assert set(table["reason_code"]) == {code}
        total += len(table)
    assert total == (verdicts["status"] == "INVALID").sum()
    valid_per_voter = verdicts[verdicts["status"] == "VALID"].groupby("voter_id").size()
    assert (valid_per_voter == 1).all()
    duplicated_voters = set(verdicts.loc[verdicts["reason_code"] == "DUPLICATE", "voter_id"])
    assert duplicated_voters <= set(valid_per_voter.index)


def test_reconciliation_checks_catch_tampering(published_to_change: Warehouse) -> None:
    from recall_pipeline.verify import reconcile

    # The published names are views; the rows are in the publication's own tables, and that
    # is where someone tampering would change them.
    published = Warehouse(published_to_change.url, publication=current(published_to_change))
    assert reconcile.one_verdict_per_line(published).passed
    published.execute(
        "DELETE FROM line_verdicts WHERE section_id = 'S000001' AND page = 1 AND line = 1"
    )
    assert not reconcile.one_verdict_per_line(published).passed
    assert not reconcile.determination_adds_up(published).passed

    assert reconcile.reasons_partition_invalid(published).passed
    published.execute("DELETE FROM invalid_not_registered WHERE line = 2")
    assert not reconcile.reasons_partition_invalid(published).passed

    assert reconcile.one_valid_line_per_voter(published).passed
    published.execute(
        "UPDATE line_verdicts SET status = 'VALID', reason_code = NULL"
        " WHERE reason_code = 'DUPLICATE'"
    )
    assert not reconcile.one_valid_line_per_voter(published).passed


def test_requirement_bases_hold_the_official_figures_and_the_rolls_own_counts(
    published: Warehouse,
) -> None:
    report = load_determination(published, "la-2022-da-recall")
    bases = published.read("requirement_bases").to_pandas().sort_values("position")
    assert list(bases["kind"]) == ["official", "roll", "roll"]
    official = bases.iloc[0]
    # The official basis's row is the determination's own figures (a full count was done).
    for figure in ("required", "margin", "result", "threshold_percent"):
        assert official[figure] == report[figure], figure
    assert official["registered_voters"] == report["registered_voters_basis"]
    verdicts = published.read("line_verdicts", columns=["status"]).to_pandas()
    assert set(bases["valid"]) == {(verdicts["status"] == "VALID").sum()} == {report["valid"]}

    # The roll counted here from the published table, apart from the pipeline's code.
    roll = published.read("voter_roll", columns=["jurisdiction_code", "zip", "status"])
    roll = roll.to_pandas()
    zips = published.read("jurisdiction_zips").to_pandas()
    listed = set(zips.loc[zips["jurisdiction_code"] == "19", "zip5"])
    inside = roll[(roll["jurisdiction_code"] == "19") | roll["zip"].str[:5].isin(listed)]
    active = int((inside["status"] == "ACTIVE").sum())
    registered = int(inside["status"].isin(["ACTIVE", "INACTIVE"]).sum())
    assert 0 < active < registered < len(roll)  # the sample has inactive and cancelled voters
    counted = dict(zip(bases["basis"], bases["registered_voters"], strict=True))
    assert counted["roll: active registrations"] == active
    assert counted["roll: all registrations (active and inactive)"] == registered
    latest = max(
        published.query("SELECT max(registration_date) AS d FROM voter_roll")["d"].iloc[0],
        published.query("SELECT max(status_date) AS d FROM voter_roll")["d"].iloc[0],
    )
    assert set(bases.loc[bases["kind"] == "roll", "as_of"]) == {latest}
    assert all(
        "voter_roll/roll_part_01.csv" in s for s in bases.loc[bases["kind"] == "roll", "source"]
    )


def test_determination_command(published: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    from recall_pipeline.cli import main

    url = published.url.render_as_string(hide_password=False)
    assert main(["determination", "la-2022-da-recall", "--warehouse", url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = json.loads((TRUTH / "expected_determination.json").read_text())
    assert (report["valid"], report["result"]) == (expected["valid"], expected["result"])
    assert report["by_registrar_category"] == expected["by_registrar_category"]
    bases = {b["basis"]: b for b in report["requirement_bases"]}
    official = bases["registered voters (official basis)"]
    assert (official["required"], official["margin"]) == (expected["required"], expected["margin"])
    assert official["as_of"] == "2021-12-31"
    assert [b["kind"] for b in report["requirement_bases"]] == ["official", "roll", "roll"]

    assert main(["determination", "la-2022-da-recall", "--warehouse", url]) == 0
    text = capsys.readouterr().out
    assert "Petition la-2022-da-recall: INSUFFICIENT" in text
    assert "Not Registered" in text and "sample size n" in text
    lines = text.splitlines()
    at = lines.index(
        "  under each basis (full-count rule on the 1,040 valid lines; the result above uses the"
        " official basis)"
    )
    # After the official result and its sample, before the breakdown by reason.
    assert lines.index("    sample result         FULL_COUNT_REQUIRED") < at
    assert at < lines.index("  invalid by reason")
    shown = {line[4:50].strip(): line[50:].split() for line in lines[at + 2 : at + 8 : 2]}
    assert shown["registered voters (official basis)"] == [
        f"{expected['registered_voters_basis']:,}",
        "10%",
        f"{expected['required']:,}",
        f"{expected['margin']:+,}",
        # greater_than: reinstating the shortfall would only tie.
        f"{-expected['margin'] + 1:,}",
        "INSUFFICIENT",
    ]
    active = bases["roll: active registrations"]
    assert shown["roll: active registrations"][0] == f"{active['registered_voters']:,}"
    assert shown["roll: active registrations"][3] == f"{active['margin']:+,}"
    assert lines[at + 3].startswith(
        "      official, as of 2021-12-31: petitions/la-2022-da-recall/"
    )

    assert main(["determination", "no-such-petition", "--warehouse", url]) == 2
    assert "no determination for 'no-such-petition'" in capsys.readouterr().err


def test_a_sampled_petition_beside_a_counted_one_verifies(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A petition decided by its sample alone leaves no sample figures on the counted one's row:
    # read back together, those missing figures must not count as a sample that disagrees.
    import shutil

    data = tmp_path / "data"
    copy_sample(data)
    counted = data / "petitions" / "la-2022-da-recall" / "petition.yaml"
    sampled = data / "petitions" / "la-2022-sampled"
    shutil.copytree(counted.parent, sampled)
    counted.write_text(counted.read_text().replace("method: auto", "method: full_count"))
    settings_file = sampled / "petition.yaml"
    settings_file.write_text(
        settings_file.read_text()
        .replace("petition_id: la-2022-da-recall", "petition_id: la-2022-sampled")
        .replace("method: auto", "method: random_sample")
        + "alternative_bases:\n"
        "  - name: active voters\n"
        "    registered_voters: 10877\n"
        "    as_of: 2021-12-31\n"
        "    source: county public-records response, 2022-10\n"
        "examination:\n"
        "  started: 2022-09-06\n"
    )
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)

    outcome = materialize_all()

    assert outcome.success, outcome.errors
    assert all(c.passed for c in outcome.checks), [c for c in outcome.checks if not c.passed]
    with Warehouse(warehouse_url) as store:
        full = load_determination(store, "la-2022-da-recall")
        sample = load_determination(store, "la-2022-sampled")
        drawn = store.query("SELECT petition_id, count(*) AS n FROM sample_lines GROUP BY 1")
        bases = store.read("requirement_bases").to_pandas()
        petitions = store.read("petitions").to_pandas().set_index("petition_id")
        valid = store.query(
            "SELECT count(*) AS n FROM line_verdicts"
            " WHERE petition_id = 'la-2022-sampled' AND status = 'VALID'"
        )["n"].iloc[0]
    assert (full["method"], full["sample_size"]) == ("full_count", None)
    assert (sample["method"], sample["sample_size"]) == ("random_sample", 500)
    assert sample["valid"] + sample["invalid"] + sample["pending"] == 500
    assert drawn.to_dict("records") == [{"petition_id": "la-2022-sampled", "n": 500}]
    # The sampled petition's alternative basis, against every line's verdict (its official
    # result came from the sample alone).
    alternative = bases[bases["kind"] == "alternative"]
    assert list(alternative["petition_id"]) == ["la-2022-sampled"]
    row = alternative.iloc[0]
    assert (row["basis"], row["registered_voters"], row["required"]) == (
        "active voters",
        10877,
        1088,
    )
    assert str(row["as_of"]) == "2021-12-31"
    assert row["source"] == "county public-records response, 2022-10"
    assert (row["valid"], row["margin"]) == (valid, valid - 1088)
    assert valid != sample["valid"]
    assert str(petitions.loc["la-2022-sampled", "examination_started"]) == "2022-09-06"
    assert pd.isna(petitions.loc["la-2022-da-recall", "examination_started"])
    assert petitions.loc["la-2022-da-recall", "alternative_bases"] == "[]"


def test_a_table_breaking_its_declared_key_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recall_pipeline.defs.audit import assets as audit_assets
    from recall_pipeline.schema import published_table

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(SAMPLE))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, url)
    first = materialize_all()
    assert first.success, first.errors
    checked = [c for c in first.checks if c.name == audit_assets.KEYS_CHECK]
    assert [c.passed for c in checked] == [True]
    before = load_determination(Warehouse(url), "la-2022-da-recall")

    # The registrar summary declared as one row per petition: it holds one per category.
    summary = published_table("registrar_summary")
    one_per_petition = type(summary)(
        summary.name, summary.columns, primary_key=("petition_id",), key_constraint=False
    )
    monkeypatch.setitem(audit_assets.DECLARED, summary.name, one_per_petition)
    second = materialize_all()
    assert not second.success and second.publication is None
    assert any("registrar_summary" in e and "nothing was published" in e for e in second.errors)
    assert [c.passed for c in second.checks if c.name == audit_assets.KEYS_CHECK] == [False]
    with Warehouse(url) as store:
        assert current(store) == first.publication
        assert load_determination(store, "la-2022-da-recall") == before


def test_the_examination_standing_and_set_follow_the_determination(
    published: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from recall_pipeline.cli import main

    report = load_determination(published, "la-2022-da-recall")
    status = published.read_frame("examination_status").iloc[0]
    verdicts = published.read_frame("line_verdicts")
    invalid = verdicts[verdicts["status"] == "INVALID"]
    shortfall = report["required"] - report["valid"]
    extra = 1 if report["sufficient_when"] == "greater_than" else 0
    assert (status["lines_to_flip"], status["flip_direction"]) == (shortfall + extra, "reinstate")
    assert status["invalid_lines"] == len(invalid)
    reasons = published.read_frame("examination_reasons").set_index("reason_code")
    assert reasons["invalid_lines"].to_dict() == invalid["reason_code"].value_counts().to_dict()

    examined = published.read_frame("examination_set")
    assert len(examined) == len(invalid)
    assert set(examined["voter_id"].dropna()) <= set(invalid["voter_id"].dropna())
    assert not any("birth" in column for column in examined.columns)

    url = published.url.render_as_string(hide_password=False)
    assert main(["examination", "status", "la-2022-da-recall", "--warehouse", url]) == 0
    assert f"reinstate {shortfall + extra:,} of the {len(invalid):,}" in capsys.readouterr().out
    assert main(["examination", "status", "la-2022-da-recall", "--warehouse", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines_to_flip"] == shortfall + extra
    for name in ("set.csv", "set.parquet"):
        out = tmp_path / name
        args = ["examination", "export", "la-2022-da-recall", "--out", str(out)]
        assert main([*args, "--warehouse", url]) == 0
        capsys.readouterr()
        read = pq.read_table(out) if name.endswith("parquet") else pacsv.read_csv(out)
        assert read.num_rows == len(invalid)
        assert read.column_names == list(examined.columns)
    assert main(["examination", "status", "no-such", "--warehouse", url]) == 2
