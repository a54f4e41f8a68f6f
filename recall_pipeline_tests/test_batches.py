"""Scan batches as they arrive: the sensor, incremental runs equal to full runs, idempotent
re-runs, and the nightly refresh against a new roll extract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from recall_pipeline import cli, settings
from recall_pipeline.definitions import defs
from recall_pipeline.defs.batches.automation import (
    BATCH_LINES,
    batch_run_assets,
    data_arrivals,
    nightly_roll_refresh,
    petition_runs,
)
from recall_pipeline.defs.common import CHANGED_LINES_TAG, PUBLICATION_TAG, tagged_partitions
from recall_pipeline.defs.planning import lines_run_tags, petition_run_tags, register_partitions
from recall_pipeline.defs.resources import InputDataResource, run_publication
from recall_pipeline.publication import new_publication_id, open_publication
from recall_pipeline.runner import (
    materialize_all,
    verify_lines_job,
    verify_petitions_job,
)
from recall_pipeline.services.io import petition_configs
from recall_pipeline.verify import match as m
from recall_pipeline.verify import roll_cache
from recall_pipeline.verify.pipeline import match_petition, prepare_petition_lines
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.datadir import copy_sample, write_lines
from recall_pipeline_tests.faults import fail_writes

PROJECT = Path(__file__).resolve().parents[1]
PETITION = "la-2022-da-recall"
SCANS = Path("petitions") / PETITION / "scans"
# Columns that name the run that wrote a row, not what the row says.
RUN_COLUMNS = {"run_id", "recorded_at"}
# Tables each run adds its own rows to, by design.
PER_RUN_TABLES = {
    "run_manifest",
    "determination_certificates",
    "publications",
    "publication_tables",
    "publication_current",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    copy_sample(target)
    return target


def use(monkeypatch: pytest.MonkeyPatch, data_dir: Path, url: str) -> None:
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, url)


def plan(instance, data_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The tags of a lines run over every batch and of the petition run after it, both in one
    new publication, as `recall-audit run` plans them."""
    register_partitions(instance, data_dir)
    batches = instance.get_dynamic_partitions("scan_batches")
    petitions = instance.get_dynamic_partitions("petitions")
    publication = {PUBLICATION_TAG: new_publication_id()}
    return (
        {**lines_run_tags(batches), **publication},
        {**petition_run_tags(petitions, batches, batches), **publication},
    )


def verify_all(monkeypatch: pytest.MonkeyPatch, data_dir: Path, url: str) -> None:
    use(monkeypatch, data_dir, url)
    outcome = materialize_all()
    assert outcome.success, outcome.errors


def batch_assets() -> list[str]:
    return batch_run_assets(defs().resolve_asset_graph())


def tables(url: str) -> dict[str, pd.DataFrame]:
    """Every published table, without run identifiers, in a canonical row order."""
    found = {}
    with Warehouse(url) as store:
        for name in store.table_names():
            if name in PER_RUN_TABLES:
                continue
            frame = store.read(name).to_pandas()
            frame = frame.drop(columns=[c for c in frame if c in RUN_COLUMNS])
            frame = frame.astype(str).sort_values(list(frame.columns)).reset_index(drop=True)
            found[name] = frame
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The tables of one clean full run of the sample: what every other way of getting there
    must equal."""
    root = tmp_path_factory.mktemp("reference")
    data = root / "data"
    copy_sample(data)
    url = f"duckdb:///{root / 'w.duckdb'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        patch.setenv(settings.REPORTS_DIR_ENV, str(root / "reports"))
        verify_all(patch, data, url)
    return tables(url)


def same_tables(url: str, reference: dict[str, pd.DataFrame], only=None) -> None:
    found = tables(url)
    assert set(found) == set(reference)
    for name in only or reference:
        pd.testing.assert_frame_equal(found[name], reference[name], obj=name)


def sensor_context(instance, data_dir: Path, cursor: str | None = None):
    return dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"input_data": InputDataResource(data_dir=str(data_dir))},
        repository_def=defs().get_repository_def(),
    )


def test_sensor_launches_one_run_per_new_file_and_none_for_a_file_seen(
    data_dir: Path, instance
) -> None:
    # Nothing verified yet: one run loads every input and matches every batch (its petitions
    # are decided after it, by `petition_runs`).
    first = data_arrivals(sensor_context(instance, data_dir))
    batches = [f"{PETITION}/batch_0001", f"{PETITION}/batch_0002", f"{PETITION}/batch_0003"]
    (initial,) = first.run_requests
    assert initial.job_name == "verify_lines" and initial.asset_selection is None
    assert initial.tags["dagster/asset_partition_range_start"] == batches[0]
    assert initial.tags["dagster/asset_partition_range_end"] == batches[-1]
    added, petitions = first.dynamic_partitions_requests
    assert sorted(added.partition_keys) == batches
    assert (petitions.partitions_def_name, petitions.partition_keys) == ("petitions", [PETITION])
    instance.add_dynamic_partitions("scan_batches", batches)
    instance.add_dynamic_partitions("petitions", [PETITION])
    instance.report_runless_asset_event(dg.AssetMaterialization("voter_roll"))
    keys = {initial.run_key}

    # The same files again: nothing to do.
    again = data_arrivals(sensor_context(instance, data_dir, first.cursor))
    assert again.run_requests == [] and again.dynamic_partitions_requests == []

    # A new batch: one run, for its partition only, with the batch's lines and matches.
    shutil.copy(data_dir / SCANS / "batch_0003.csv", data_dir / SCANS / "batch_0004.csv")
    new = data_arrivals(sensor_context(instance, data_dir, again.cursor))
    (request,) = new.run_requests
    assert request.job_name == "verify_lines"
    assert request.partition_key == f"{PETITION}/batch_0004"
    assert request.tags["recall/reason"] == f"new scan batch {SCANS.as_posix()}/batch_0004.csv"
    assert {k.to_user_string() for k in request.asset_selection} == {
        "petition_lines",
        "line_matches",
        "match_candidates",
        "match_models",
    }
    assert request.tags["recall/petition"] == PETITION
    assert new.dynamic_partitions_requests[0].partition_keys == [f"{PETITION}/batch_0004"]

    # A changed batch: a new content hash, a new run key, one run.
    path = data_dir / SCANS / "batch_0002.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = data_arrivals(sensor_context(instance, data_dir, new.cursor))
    (request,) = changed.run_requests
    assert request.partition_key == f"{PETITION}/batch_0002"
    assert request.tags["recall/reason"].startswith("changed scan batch")
    assert request.run_key not in keys
    assert changed.dynamic_partitions_requests == []

    # A new review file: its petition's verdicts are recomputed, no batch is matched again.
    reviews = data_dir / "petitions" / PETITION / "reviews"
    shutil.copy(reviews / "reviews_001.csv", reviews / "reviews_002.csv")
    reviewed = data_arrivals(sensor_context(instance, data_dir, changed.cursor))
    (request,) = reviewed.run_requests
    assert request.job_name == "verify_petitions"
    assert request.partition_key == PETITION
    assert request.tags["recall/reason"] == (
        f"new review file petitions/{PETITION}/reviews/reviews_002.csv"
    )
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"signature_reviews", "line_verdicts", "sufficiency_determination"} <= selected
    assert not selected & {"petition_lines", "line_matches"}

    # A new file of examiners' match decisions: the same, loading them.
    decisions = data_dir / "petitions" / PETITION / "match_reviews" / "decided_001.csv"
    decisions.parent.mkdir()
    decisions.write_text(
        "section_id,page,line,voter_id,examiner_id,reviewed_at\n"
        "S000001,1,1,,EX01,2022-07-21T09:00:00\n",
        encoding="utf-8",
    )
    decided = data_arrivals(sensor_context(instance, data_dir, reviewed.cursor))
    (request,) = decided.run_requests
    assert (request.job_name, request.partition_key) == ("verify_petitions", PETITION)
    assert request.tags["recall/reason"] == (
        f"new review file petitions/{PETITION}/match_reviews/decided_001.csv"
    )
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"match_reviews", "line_verdicts", "sufficiency_determination"} <= selected
    assert not selected & {"petition_lines", "line_matches"}

    # A batch withdrawn: its partition goes, and one batch run drops its lines.
    (data_dir / SCANS / "batch_0002.csv").unlink()
    withdrawn = data_arrivals(sensor_context(instance, data_dir, decided.cursor))
    (deleted,) = withdrawn.dynamic_partitions_requests
    assert isinstance(deleted, dg.DeleteDynamicPartitionsRequest)
    assert deleted.partition_keys == [f"{PETITION}/batch_0002"]
    (request,) = withdrawn.run_requests
    assert request.partition_key == f"{PETITION}/batch_0001"
    assert request.tags["recall/reason"] == (
        f"scan batch(es) no longer delivered: {PETITION}/batch_0002"
    )
    assert set(request.asset_selection) == BATCH_LINES.resolve(defs().resolve_asset_graph())
    assert request.tags["recall/petitions"] == PETITION
    instance.delete_dynamic_partition("scan_batches", f"{PETITION}/batch_0002")
    quiet = data_arrivals(sensor_context(instance, data_dir, withdrawn.cursor))
    assert quiet.run_requests == [] and quiet.dynamic_partitions_requests == []

    # A batch delivered again under another name: the new name's run drops the old lines.
    (data_dir / SCANS / "batch_0003.csv").rename(data_dir / SCANS / "batch_0009.csv")
    renamed = data_arrivals(sensor_context(instance, data_dir, quiet.cursor))
    (request,) = renamed.run_requests
    assert request.partition_key == f"{PETITION}/batch_0009"
    added, deleted = renamed.dynamic_partitions_requests
    assert added.partition_keys == [f"{PETITION}/batch_0009"]
    assert deleted.partition_keys == [f"{PETITION}/batch_0003"]


def test_the_sensor_starts_one_chain_of_runs_at_a_time(data_dir: Path, instance) -> None:
    first = data_arrivals(sensor_context(instance, data_dir))
    (added, petitions) = first.dynamic_partitions_requests
    instance.add_dynamic_partitions("scan_batches", list(added.partition_keys))
    instance.add_dynamic_partitions("petitions", list(petitions.partition_keys))
    instance.report_runless_asset_event(dg.AssetMaterialization("voter_roll"))

    # Two new batches in one look: a run for one now, for the other at the next look.
    for name in ("batch_0004.csv", "batch_0005.csv"):
        shutil.copy(data_dir / SCANS / "batch_0003.csv", data_dir / SCANS / name)
    now = data_arrivals(sensor_context(instance, data_dir, first.cursor))
    (request,) = now.run_requests
    assert request.partition_key == f"{PETITION}/batch_0004"
    later = data_arrivals(sensor_context(instance, data_dir, now.cursor))
    (request,) = later.run_requests
    assert request.partition_key == f"{PETITION}/batch_0005"

    # While a run of a chain is going, or its lines are matched and its petition run is still
    # to come, a new file waits: the two chains could not both publish.
    shutil.copy(data_dir / SCANS / "batch_0003.csv", data_dir / SCANS / "batch_0006.csv")
    going = dg.DagsterRun(
        job_name="verify_lines", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED
    )
    instance.add_run(going)
    waiting = data_arrivals(sensor_context(instance, data_dir, later.cursor))
    assert isinstance(waiting, dg.SkipReason) and going.run_id in waiting.skip_message
    instance.delete_run(going.run_id)
    matched = dg.DagsterRun(
        job_name="verify_lines", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.SUCCESS
    )
    instance.add_run(matched)
    assert isinstance(
        data_arrivals(sensor_context(instance, data_dir, later.cursor)), dg.SkipReason
    )
    instance.add_run(
        dg.DagsterRun(
            job_name="verify_petitions",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.SUCCESS,
            tags={PUBLICATION_TAG: run_publication(matched)},
        )
    )
    (request,) = data_arrivals(sensor_context(instance, data_dir, later.cursor)).run_requests
    assert request.partition_key == f"{PETITION}/batch_0006"


def test_adding_a_batch_incrementally_equals_a_full_run(
    data_dir: Path,
    tmp_path: Path,
    instance,
    reference,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    held_back = data_dir / SCANS / "batch_0003.csv"
    late = tmp_path / "batch_0003.csv"
    shutil.move(held_back, late)
    step_url = f"duckdb:///{tmp_path / 'incremental.duckdb'}"
    verify_all(monkeypatch, data_dir, step_url)
    shutil.move(late, held_back)
    # By hand, as the arrivals sensor would launch it.
    assert cli.main(["run", "--batch", f"{PETITION}/batch_0003"]) == 0
    printed = capsys.readouterr().out
    assert "✓ line_verdicts" in printed and "✓ voter_roll" not in printed

    same_tables(step_url, reference)
    with Warehouse(step_url) as store:
        duplicates = store.query(
            "SELECT count(*) AS n FROM line_verdicts WHERE reason_code = 'DUPLICATE'"
        )
        verdicts = store.read("line_verdicts", columns=["source_file", "voter_id", "run_id"])
    assert int(duplicates["n"].iloc[0]) > 0  # the duplicate rule ran across batches

    # Only the batch's lines and the lines of the voters they name were decided again; every
    # other verdict is the one the first run published.
    verdicts = verdicts.to_pandas()
    in_batch = verdicts["source_file"] == (SCANS / "batch_0003.csv").as_posix()
    batch_run = verdicts.loc[in_batch, "run_id"].unique()
    assert len(batch_run) == 1
    redone = verdicts["run_id"] == batch_run[0]
    assert in_batch.any() and redone[in_batch].all()
    assert redone.sum() < len(verdicts) / 2
    batch_voters = set(verdicts.loc[in_batch, "voter_id"].dropna())
    assert set(verdicts.loc[redone & ~in_batch, "voter_id"]) <= batch_voters
    assert (redone & ~in_batch).any()  # the sample has voters who signed in two batches


def test_a_corrected_batch_decides_its_quarantined_line_again(
    data_dir: Path,
    tmp_path: Path,
    instance,
    reference,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """A line quarantined at ingestion is PENDING (in the raw count) until its scan file is
    delivered corrected; the batch run for the corrected file ends as a clean full run."""
    batch = data_dir / SCANS / "batch_0003.csv"
    clean = batch.read_text(encoding="utf-8")
    lines = clean.splitlines()
    fields = lines[5].split(",")
    fields[2] = "five"  # the line number keyed as a word
    lines[5] = ",".join(fields)
    write_lines(batch, lines)
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))
    url = f"duckdb:///{tmp_path / 'corrected.duckdb'}"
    verify_all(monkeypatch, data_dir, url)
    with Warehouse(url) as store:
        pending = store.query(
            "SELECT source_row, input_problem FROM line_verdicts"
            " WHERE pending_reason = 'INPUT_NEEDS_CORRECTION'"
        ).to_dict("records")
        raw = store.query("SELECT raw_count FROM sufficiency_determination").iloc[0, 0]
    assert pending == [{"source_row": 6, "input_problem": "line: not a whole number"}]
    assert raw == len(reference["line_verdicts"])

    batch.write_text(clean, encoding="utf-8")
    assert cli.main(["run", "--batch", f"{PETITION}/batch_0003"]) == 0
    capsys.readouterr()
    same_tables(url, reference)


def test_a_batch_that_moves_the_fitted_model_ends_as_a_full_run_would(
    data_dir: Path, tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample fitted like a county's petition: the late batch moves the model, so every
    line is weighed and decided again, and the tables are those of one run over all."""
    monkeypatch.setattr(m, "FIT_MIN_LINES", 0)
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))
    whole_url = f"duckdb:///{tmp_path / 'whole.duckdb'}"
    verify_all(monkeypatch, data_dir, whole_url)
    held_back = data_dir / SCANS / "batch_0003.csv"
    late = tmp_path / "batch_0003.csv"
    shutil.move(held_back, late)
    step_url = f"duckdb:///{tmp_path / 'incremental.duckdb'}"
    verify_all(monkeypatch, data_dir, step_url)
    with Warehouse(step_url) as store:
        before = store.read_frame("match_models")
    shutil.move(late, held_back)
    assert cli.main(["run", "--batch", f"{PETITION}/batch_0003"]) == 0
    with Warehouse(step_url) as store:
        after = store.read_frame("match_models")
        fitted = store.read_frame("match_models", where={"stage": "final"})
    assert (fitted["fitted_pairs"] > 0).all()
    assert not before.equals(after)  # the late lines moved the fit
    same_tables(step_url, tables(whole_url))


# A renamed file is a withdrawn one plus a new one: `make long` runs it too.
@pytest.mark.parametrize(
    "departure", [pytest.param("renamed", marks=pytest.mark.long), "withdrawn"]
)
def test_a_batch_run_drops_the_rows_of_a_scan_file_no_longer_delivered(
    departure: str, tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # batch_0003 leaves the data directory after a full run: delivered again under another
    # name, or withdrawn (and batch_0001 re-delivered, which launches the batch run).
    data_dir = tmp_path / "data"
    copy_sample(data_dir)
    url = f"duckdb:///{tmp_path / 'incremental.duckdb'}"
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))
    verify_all(monkeypatch, data_dir, url)
    leaving = data_dir / SCANS / "batch_0003.csv"
    if departure == "renamed":
        leaving.rename(leaving.with_name("batch_0009.csv"))
        batch = f"{PETITION}/batch_0009"
    else:
        leaving.unlink()
        first = data_dir / SCANS / "batch_0001.csv"
        first.write_text(first.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        batch = f"{PETITION}/batch_0001"
    assert cli.main(["run", "--batch", batch]) == 0
    assert "✓ voter_roll" not in capsys.readouterr().out

    # What a full run over the data directory as it now is publishes.
    full_dir = tmp_path / "full"
    shutil.copytree(data_dir, full_dir / "data")
    full_url = f"duckdb:///{full_dir / 'w.duckdb'}"
    verify_all(monkeypatch, full_dir / "data", full_url)
    same_tables(url, tables(full_url))
    with Warehouse(url) as store:
        files = set(store.read("line_verdicts", columns=["source_file"])["source_file"].to_pylist())
    assert (SCANS / "batch_0003.csv").as_posix() not in files


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_a_batch_is_matched_against_only_the_registrations_its_lines_can_reach(
    backend: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_warehouse_url(backend, tmp_path) as url:
        verify_all(monkeypatch, data_dir, url)
        reached_the_same(url, monkeypatch)


def reached_the_same(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Warehouse(url) as store:
        config = petition_configs(store)[0]
        lines = store.read("petition_lines", where={"petition_id": PETITION}).to_pandas()
        batch = lines[lines["source_file"] == (SCANS / "batch_0003.csv").as_posix()]
        prepared = prepare_petition_lines(batch)
        code = config.jurisdiction_code
        version = roll_cache.roll_version(store)
        assert code in roll_cache.current_jurisdictions(store, version)
        whole = roll_cache.prepare_all(store, {code})[code]
        near = roll_cache.reachable(store, code, prepared[1])
        against_whole = match_petition(PETITION, *prepared[:1], *whole, prepared)
        against_near = match_petition(PETITION, *prepared[:1], *near, prepared)
        # Keys hashed into 1,024 values collide all the time (yet no block grows past what a
        # pass pairs): what is read and joined widens, the matches don't.
        true_hashes = m.key_hashes
        monkeypatch.setattr(m, "key_hashes", lambda values: true_hashes(values) % 1024 + 1)
        colliding_lines = prepare_petition_lines(batch)
        colliding_whole = roll_cache.prepare_all(store, {code})[code]
        # Kept as a run keeps them: in a publication of its own (read there, never committed).
        publication = new_publication_id()
        open_publication(url, publication)
        with Warehouse(url, publication=publication) as staged:
            roll_cache.publish(staged, {code: colliding_whole}, version)
            near_colliding = roll_cache.reachable(staged, code, colliding_lines[1])
    assert len(near[0]) < len(whole[0]) / 5 < len(near_colliding[0])
    # Every way of matching met: the current address, a past one, the name alone.
    methods = set(against_whole[0]["match_method"])
    assert {"CURRENT_ADDRESS", "HISTORY_ADDRESS", "UNIQUE_NAME"} <= methods
    # The name-alone rule met names held once and names held several times.
    assert {1} < set(against_whole[0]["roll_records_with_name"])
    for reached, these in ((near_colliding, colliding_lines), (colliding_whole, colliding_lines)):
        against = match_petition(PETITION, these[0], *reached, these)
        for got, expected in zip(against, against_whole, strict=True):
            pd.testing.assert_frame_equal(got, expected)
    for got, expected in zip(against_near, against_whole, strict=True):
        pd.testing.assert_frame_equal(got, expected)


@pytest.mark.long
def test_rerunning_gives_identical_tables_and_no_duplicated_rows(
    data_dir: Path, tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    use(monkeypatch, data_dir, url)
    first_run = materialize_all()
    assert first_run.success
    before = tables(url)
    # A batch re-run, then the whole run again.
    assets = batch_assets()
    assert materialize_all(selection=assets, batches=[f"{PETITION}/batch_0002"]).success
    second_run = materialize_all()
    assert second_run.success
    after = tables(url)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    with Warehouse(url) as store:
        runs = store.query("SELECT DISTINCT run_id FROM run_manifest")
        per_run = store.query(
            "SELECT run_id, count(*) AS n FROM run_manifest WHERE kind = 'input_file'"
            " GROUP BY run_id"
        )
    assert len(runs) == 3 and per_run["n"].nunique() == 1


def test_a_run_that_failed_midway_completes_the_same_when_run_again(
    data_dir: Path, tmp_path: Path, instance, reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    use(monkeypatch, data_dir, url)

    fail_writes(monkeypatch, RuntimeError("the machine went down"), table="line_verdicts")
    failed = materialize_all()
    assert not failed.success and any("machine went down" in e for e in failed.errors)
    monkeypatch.undo()
    use(monkeypatch, data_dir, url)
    monkeypatch.setenv("DAGSTER_HOME", str(instance.root_directory))
    again = materialize_all()
    assert again.success, again.errors
    same_tables(url, reference)


def verify_lines_in_one_process() -> dg.JobDefinition:
    """`verify_lines` on the in-process executor: faults are patched into this process, and
    the multiprocess executor's subprocesses cannot start inside pytest."""
    return verify_lines_job().with_executor_def(dg.in_process_executor)


def verify_petitions_in_one_process() -> dg.JobDefinition:
    return verify_petitions_job().with_executor_def(dg.in_process_executor)


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def step_events(instance, run_id: str, kind: str) -> set[str]:
    return {
        entry.dagster_event.step_key
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None and entry.dagster_event.event_type_value == kind
    }


@pytest.mark.parametrize(
    ("killed_at", "job", "failed_step", "left", "finished", "unfinished"),
    [
        # Killed inside line_matches after its first table was published, before its second.
        (
            "match_candidates",
            verify_lines_in_one_process,
            "line_matches",
            {"line_matches"},
            "line_matches",
            "line_verdicts",
        ),
        # Killed inside the determination, after its first table was published.
        (
            "sample_lines",
            verify_petitions_in_one_process,
            "sufficiency_determination",
            {
                "sufficiency_determination",
                "examination_status",
                "run_manifest",
                "determination_certificate",
                "publication",
            },
            "sufficiency_determination",
            "sample_lines",
        ),
    ],
)
def test_a_run_killed_midway_and_reexecuted_from_failure_completes_the_same(
    killed_at: str,
    job,
    failed_step: str,
    left: set[str],
    finished: str,
    unfinished: str,
    data_dir: Path,
    tmp_path: Path,
    instance,
    reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    use(monkeypatch, data_dir, url)
    lines_tags, petitions_tags = plan(instance, data_dir)
    tags = lines_tags if job is verify_lines_in_one_process else petitions_tags
    if job is verify_petitions_in_one_process:
        lines = dg.execute_job(
            dg.reconstructable(verify_lines_in_one_process), instance, QUIET, tags=lines_tags
        )
        assert lines.success

    recover = fail_writes(monkeypatch, RuntimeError("the machine went down"), table=killed_at)
    failed = dg.execute_job(dg.reconstructable(job), instance=instance, run_config=QUIET, tags=tags)
    assert not failed.success
    assert step_events(instance, failed.run_id, "STEP_FAILURE") == {failed_step}
    done_before = step_events(instance, failed.run_id, "STEP_SUCCESS")
    assert done_before and not done_before & left
    with Warehouse(url) as store:
        # Nothing of a failed run is visible, not even the tables it finished.
        assert not store.table_exists(finished) and not store.table_exists(unfinished)

    recover()
    # As the UI's re-execution does, the run keeps its parent's partitions.
    again = dg.execute_job(
        dg.reconstructable(job),
        instance=instance,
        tags=tags,
        reexecution_options=dg.ReexecutionOptions.from_failure(failed.run_id, instance),
    )
    assert again.success
    run = instance.get_run_by_id(again.run_id)
    assert run.parent_run_id == failed.run_id
    assert {k: run.tags.get(k) for k in tags} == tags
    assert step_events(instance, again.run_id, "STEP_START") == left
    assert step_events(instance, again.run_id, "STEP_SUCCESS") == left
    if job is verify_lines_in_one_process:
        after = dg.execute_job(
            dg.reconstructable(verify_petitions_in_one_process),
            instance,
            QUIET,
            tags=petitions_tags,
        )
        assert after.success
    same_tables(url, reference)


def lines_then_petitions(instance, tags: dict[str, str], selection=None) -> list[dg.RunRequest]:
    """A `verify_lines` run, then the runs `petition_runs` requests after it, executed as the
    daemon would launch them; returns those requests."""
    lines = dg.execute_job(
        dg.reconstructable(verify_lines_in_one_process),
        instance,
        QUIET,
        tags=tags,
        asset_selection=selection,
    )
    assert lines.success
    run = instance.get_run_by_id(lines.run_id)
    (succeeded,) = [
        entry.dagster_event
        for entry in instance.all_logs(run.run_id)
        if entry.dagster_event is not None
        and entry.dagster_event.event_type == dg.DagsterEventType.RUN_SUCCESS
    ]
    context = dg.build_run_status_sensor_context(
        sensor_name="petition_runs",
        dagster_event=succeeded,
        dagster_instance=instance,
        dagster_run=run,
        repository_def=defs().get_repository_def(),
    )
    requests = list(petition_runs(context) or [])
    for request in requests:
        assert request.run_key == f"{run.run_id}:petitions"
        assert request.tags[PUBLICATION_TAG] == run_publication(run)
        done = dg.execute_job(
            dg.reconstructable(verify_petitions_in_one_process),
            instance,
            QUIET,
            tags=request.tags,
            asset_selection=request.asset_selection,
        )
        assert done.success
    return requests


def test_a_lines_run_is_followed_by_one_petition_run_and_a_batch_run_decides_only_its_petition(
    data_dir: Path, tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second petition, signed by the same voters: duplicates are per petition, so neither
    # petition's verdicts depend on the other's.
    second = "la-2022-second-recall"
    folder = data_dir / "petitions" / second
    shutil.copytree(data_dir / "petitions" / PETITION, folder)
    config = folder / "petition.yaml"
    config.write_text(config.read_text().replace(PETITION, second), encoding="utf-8")
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))
    whole_url = f"duckdb:///{tmp_path / 'whole.duckdb'}"
    verify_all(monkeypatch, data_dir, whole_url)
    whole = tables(whole_url)
    assert set(whole["sufficiency_determination"]["petition_id"]) == {PETITION, second}

    # The daemon's way: the second petition's last batch arrives after the first load.
    late = folder / "scans" / "batch_0003.csv"
    held = tmp_path / "held.csv"
    shutil.move(late, held)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    use(monkeypatch, data_dir, url)
    register_partitions(instance, data_dir)  # as the arrivals sensor does
    batches = instance.get_dynamic_partitions("scan_batches")
    # One petition run after the lines run, over both petitions: one commit publishes the
    # lines and the verdicts together.
    (first,) = lines_then_petitions(instance, lines_run_tags(batches))
    petitions = instance.get_dynamic_partitions("petitions")
    assert tagged_partitions(first.tags, petitions) == sorted([PETITION, second])
    assert CHANGED_LINES_TAG not in first.tags

    with Warehouse(url) as store:
        untouched = store.query(
            "SELECT DISTINCT petition_id, run_id FROM line_verdicts WHERE petition_id = :p",
            {"p": PETITION},
        )
    shutil.move(held, late)
    batch = f"{second}/batch_0003"
    register_partitions(instance, data_dir)
    selection = list(BATCH_LINES.resolve(defs().resolve_asset_graph()))
    (after,) = lines_then_petitions(instance, {"dagster/partition": batch}, selection)
    assert after.tags["dagster/partition"] == second and after.tags[CHANGED_LINES_TAG] == "true"

    same_tables(url, whole)
    with Warehouse(url) as store:
        runs = store.query(
            "SELECT DISTINCT petition_id, run_id FROM line_verdicts ORDER BY petition_id"
        )
    # The first petition kept the verdicts of its first run; the second's batch run decided
    # some of its lines again, not all.
    pd.testing.assert_frame_equal(
        runs[runs["petition_id"] == PETITION].reset_index(drop=True), untouched
    )
    assert (runs["petition_id"] == second).sum() == 2


def test_nightly_refresh_records_the_new_roll_extract_as_the_reason(
    data_dir: Path, tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    verify_all(monkeypatch, data_dir, url)
    schedule_run = nightly_roll_refresh(
        dg.build_schedule_context(instance=instance, repository_def=defs().get_repository_def())
    )
    assert {k.to_user_string() for k in schedule_run.asset_selection} >= {
        "voter_roll",
        "line_matches",
    }
    assert "line_verdicts" not in {k.to_user_string() for k in schedule_run.asset_selection}
    assert schedule_run.tags["dagster/asset_partition_range_end"] == f"{PETITION}/batch_0003"
    assert nightly_roll_refresh.execution_timezone == "America/Los_Angeles"

    # The new extract cancels one voter who signed a valid line.
    with Warehouse(url) as store:
        signer = store.query(
            "SELECT voter_id FROM line_verdicts WHERE status = 'VALID' ORDER BY voter_id LIMIT 1"
        )["voter_id"].iloc[0]
    roll_file = next((data_dir / "voter_roll").glob("*.csv"))
    roll = pd.read_csv(roll_file, dtype=str, keep_default_na=False)
    at = roll["voter_id"] == signer
    roll.loc[at, ["status", "status_reason", "status_date"]] = ["CANCELLED", "MOVED", "2022-01-02"]
    roll.to_csv(roll_file, index=False)

    outcome = materialize_all(tags=schedule_run.tags)
    assert outcome.success, outcome.errors
    with Warehouse(url) as store:
        verdict = store.query(
            "SELECT reason_code FROM line_verdicts WHERE voter_id = :v", {"v": signer}
        )
        trigger = store.query(
            "SELECT item, detail FROM run_manifest WHERE run_id = :r AND kind = 'trigger'",
            {"r": outcome.run_id},
        )
    assert "CANCELLED" in set(verdict["reason_code"])
    (row,) = trigger.itertuples()
    assert row.item == "nightly refresh against the latest voter-roll extract"
    changes = json.loads(row.detail)
    assert changes["changed_files"] == [roll_file.relative_to(data_dir).as_posix()]
    assert changes["new_files"] == [] and changes["removed_files"] == []


def test_a_batch_repeating_another_batchs_line_keys_is_refused(
    data_dir: Path, tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    verify_all(monkeypatch, data_dir, url)
    with Warehouse(url) as store:
        before = store.row_count("petition_lines")
    shutil.copy(data_dir / SCANS / "batch_0002.csv", data_dir / SCANS / "batch_0009.csv")
    assets = batch_assets()
    outcome = materialize_all(selection=assets, batches=[f"{PETITION}/batch_0009"])
    assert not outcome.success
    (error,) = outcome.errors
    assert f"{SCANS.as_posix()}/batch_0009.csv, row 2:" in error
    assert f"also {SCANS.as_posix()}/batch_0002.csv row 2" in error
    with Warehouse(url) as store:
        assert store.row_count("petition_lines") == before


@pytest.mark.long
def test_a_launched_run_on_the_multiprocess_executor_gives_the_same_verdicts(
    data_dir: Path, tmp_path: Path, instance, reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched = f"duckdb:///{tmp_path / 'launched.duckdb'}"
    use(monkeypatch, data_dir, launched)
    done = subprocess.run(
        [sys.executable, "-m", "recall_pipeline_tests.multiprocess_run"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    processes = int(done.stdout.split("step_processes=")[1].split()[0])
    assert processes > 1  # the steps really ran in their own processes
    same_tables(launched, reference)


def test_a_new_match_review_file_has_its_petition_decided_again_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recall_pipeline.defs.verdicts.assets import VERDICTS_CODE_VERSION
    from recall_pipeline.verify import incremental
    from recall_pipeline_tests.datadir import PETITION_ID, build_data_dir, petition_dir

    data_dir = build_data_dir(tmp_path / "data")
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(tmp_path / "reports"))
    verify_all(monkeypatch, data_dir, url)

    def changed() -> list[str] | None:
        with Warehouse(url) as store:
            now = incremental.snapshot(store, VERDICTS_CODE_VERSION, [PETITION_ID])
            assert "match_reviews" in set(now["input_name"])
            return incremental.changed_scan_files(store, now, [PETITION_ID])

    assert changed() == []
    decisions = petition_dir(data_dir) / "match_reviews" / "match_reviews_002.csv"
    decisions.write_text(
        "section_id,page,line,voter_id,examiner_id,reviewed_at\n"
        "S001,1,1,V0001,EX05,2022-07-23T08:00:00\n",
        encoding="utf-8",
    )
    # The review run's first step, as the arrivals sensor launches it.
    assert materialize_all(selection=["match_reviews"]).success
    # Not only scan files differ: every line of the petition is decided again.
    assert changed() is None
