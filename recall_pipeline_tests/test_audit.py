"""The run manifest: same inputs and code → same fingerprint; one changed line → another."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from recall_pipeline import settings
from recall_pipeline.runner import materialize_all
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import SAMPLE, copy_sample

PROJECT = Path(__file__).resolve().parents[1]
PETITION = "la-2022-da-recall"


def run(data_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, url)
    outcome = materialize_all()
    assert outcome.success, outcome.errors
    return outcome.run_id


def manifest(url: str, run_id: str):
    with Warehouse(url) as store:
        return store.query(
            "SELECT * FROM run_manifest WHERE run_id = :r ORDER BY kind, item", {"r": run_id}
        )


def fingerprint(url: str, run_id: str) -> str:
    rows = manifest(url, run_id)
    (value,) = rows.loc[rows["kind"] == "determination", "sha256"]
    return value


def test_fingerprint_is_reproducible_across_runs_and_backends(
    duckdb_and_postgres_urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    duck, postgres = duckdb_and_postgres_urls
    first = run(SAMPLE, duck, monkeypatch)
    second = run(SAMPLE, duck, monkeypatch)
    other_backend = run(SAMPLE, postgres, monkeypatch)
    assert first != second
    assert fingerprint(duck, first) == fingerprint(duck, second)
    assert fingerprint(duck, first) == fingerprint(postgres, other_backend)
    # every run keeps its own manifest rows
    assert len(manifest(duck, first)) == len(manifest(duck, second)) > 0


def test_manifest_records_inputs_settings_expectations_and_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    run_id = run(SAMPLE, url, monkeypatch)
    rows = manifest(url, run_id)
    files = rows[rows["kind"] == "input_file"]
    scans = sorted((SAMPLE / "petitions" / PETITION / "scans").glob("*.csv"))
    for path in scans:
        (row,) = files[files["item"] == path.relative_to(SAMPLE).as_posix()].itertuples()
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row.rows_read == row.rows_accepted + row.rows_quarantined
    (trigger,) = rows[rows["kind"] == "trigger"].itertuples()
    assert trigger.item == "run started by hand"
    assert json.loads(trigger.detail) == {"previous_run": None}
    assert set(rows["kind"]) == {
        "trigger",
        "input_file",
        "petition_settings",
        "expectation",
        "code",
        "determination",
    }
    code = dict(zip(rows.loc[rows["kind"] == "code", "item"], rows["detail"], strict=False))
    assert "git_commit" in code and "package_version" in code
    expectations = rows[rows["kind"] == "expectation"]
    assert "voter_roll:zip.format" in set(expectations["item"])


def test_one_changed_line_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    before = run(SAMPLE, url, monkeypatch)
    changed = tmp_path / "data"
    copy_sample(changed)
    batch = sorted((changed / "petitions" / PETITION / "scans").glob("*.csv"))[0]
    with batch.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index("signature_present")
    rows[1][at] = "N" if rows[1][at] == "Y" else "Y"
    with batch.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    after = run(changed, url, monkeypatch)
    assert fingerprint(url, before) != fingerprint(url, after)
