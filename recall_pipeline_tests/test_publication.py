"""A run publishes all it decided at once or nothing: publications, their commit, the lease."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import publication as pub
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.warehouse import Warehouse, publication_schema
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.datadir import copy_sample

PROJECT = Path(__file__).resolve().parents[1]
PETITION = "la-2022-da-recall"

PEOPLE = TableSchema(
    "people", (Column("id", "integer", False), Column("name")), primary_key=("id",)
)
PLACES = TableSchema("places", (Column("code", "integer", False),), primary_key=("code",))


def people(*numbers: int) -> pd.DataFrame:
    return pd.DataFrame({"id": list(numbers), "name": [f"p{n}" for n in numbers]})


def publish(url: str, *tables: tuple[TableSchema, pd.DataFrame, dict | None]) -> str:
    """Open a publication, write `tables` into it (whole, or the given slice) and return it."""
    publication = pub.new_publication_id()
    pub.open_publication(url, publication, "test")
    with Warehouse(url, publication=publication) as store:
        for schema, frame, where in tables:
            store.publish(schema, frame, replace_where=where)
    return publication


def ids(url: str, table: str = "people", **kwargs) -> list[int]:
    with Warehouse(url, **kwargs) as store:
        return sorted(store.read_frame(table).iloc[:, 0])


def test_nothing_is_visible_until_the_commit_and_then_everything_is(warehouse_url: str) -> None:
    first = publish(
        warehouse_url,
        (PEOPLE, pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}), None),
        (PLACES, pd.DataFrame({"code": [10]}), None),
    )
    with Warehouse(warehouse_url) as store:
        assert not store.table_exists("people") and not store.table_exists("places")
    # The publication reads its own tables before they are published.
    assert ids(warehouse_url, publication=first) == [1, 2]
    done = pub.commit(warehouse_url, first)
    assert done.written == ["people", "places"] and done.carried == []
    assert ids(warehouse_url) == [1, 2] and ids(warehouse_url, "places") == [10]

    # A slice written by the next publication: the rest of the table is carried into it.
    second = publish(warehouse_url, (PEOPLE, pd.DataFrame({"id": [3], "name": ["c"]}), {"id": [3]}))
    assert ids(warehouse_url) == [1, 2]
    assert ids(warehouse_url, publication=second) == [1, 2, 3]
    done = pub.commit(warehouse_url, second)
    assert done.written == ["people"] and done.carried == ["places"]
    assert ids(warehouse_url) == [1, 2, 3] and ids(warehouse_url, "places") == [10]
    assert pub.current(Warehouse(warehouse_url)) == second


def test_a_reader_keeps_the_publication_it_started_with(warehouse_url: str) -> None:
    pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, people(1), None)))
    reader = Warehouse(warehouse_url, read_only=True)
    try:
        assert ids_of(reader) == [1]
        later = publish(warehouse_url, (PEOPLE, people(1, 2), None))
        pub.commit(warehouse_url, later)
        # Every further read of the same reader sees the publication it first saw.
        assert ids_of(reader) == [1]
    finally:
        reader.dispose()
    assert ids(warehouse_url, read_only=True) == [1, 2]


def ids_of(store: Warehouse) -> list[int]:
    return sorted(store.read_frame("people")["id"])


def test_two_publications_from_the_same_start_cannot_both_commit(warehouse_url: str) -> None:
    pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, people(1), None)))
    one = publish(warehouse_url, (PEOPLE, people(2), {"id": [2]}))
    other = publish(warehouse_url, (PEOPLE, people(3), {"id": [3]}))
    pub.commit(warehouse_url, one)
    with pytest.raises(pub.PublicationConflict, match="nothing of this run was published"):
        pub.commit(warehouse_url, other)
    # Had both been published, the second would have lost the first's line 2.
    assert ids(warehouse_url) == [1, 2]
    with Warehouse(warehouse_url) as store:
        assert pub.state(store, other) == pub.OPEN
    with pytest.raises(pub.PublicationClosed):
        pub.open_publication(warehouse_url, one)


def test_old_publications_are_dropped_but_not_the_tables_kept_ones_read(
    warehouse_url: str,
) -> None:
    pub.commit(
        warehouse_url,
        publish(
            warehouse_url,
            (PEOPLE, people(1), None),
            (PLACES, pd.DataFrame({"code": [7]}), None),
        ),
    )
    first = pub.current(Warehouse(warehouse_url))
    for n in range(2, 2 + pub.KEEP + 1):
        pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, people(n), None)))
    killed = publish(warehouse_url, (PEOPLE, people(99), None))
    pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, people(50), None)))
    dropped = pub.collect_garbage(warehouse_url, abandon_after=dt.timedelta(0))
    assert first in dropped and killed in dropped
    with Warehouse(warehouse_url) as store:
        # `places` was written by the first publication only: every kept one still reads it.
        assert (
            publication_schema(first)
            in store.query("SELECT schema_name FROM information_schema.schemata")[
                "schema_name"
            ].tolist()
        )
        assert (
            publication_schema(killed)
            not in store.query("SELECT schema_name FROM information_schema.schemata")[
                "schema_name"
            ].tolist()
        )
        assert store.relations([publication_schema(first)]) == ["places"]
        states = store.query("SELECT publication_id, state FROM publications")
    assert ids(warehouse_url) == [50] and ids(warehouse_url, "places") == [7]
    assert (states["state"] == pub.COMMITTED).sum() == pub.KEEP
    assert dict(zip(states["publication_id"], states["state"], strict=True))[killed] == "abandoned"


def test_the_lease_makes_a_second_holder_wait_and_a_killed_holder_frees_it(
    warehouse_url: str, tmp_path: Path
) -> None:
    held = threading.Event()
    release = threading.Event()

    def first() -> None:
        with pub.lease(warehouse_url):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=first)
    holder.start()
    assert held.wait(30)
    said: list[str] = []
    with (
        pytest.raises(pub.LeaseTimeout, match="still holds the warehouse"),
        pub.lease(warehouse_url, wait=0.5, say=said.append),
    ):
        pass
    assert said and "waiting up to" in said[0]
    release.set()
    holder.join()
    with pub.lease(warehouse_url, wait=5):
        pass

    # A process killed while holding it: the server (or the operating system) lets it go.
    script = (
        "import sys, time\n"
        "from recall_pipeline import publication\n"
        "with publication.lease(sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, warehouse_url],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(pub.LeaseTimeout), pub.lease(warehouse_url, wait=0.5):
            pass
    finally:
        child.kill()
        child.wait()
    with pub.lease(warehouse_url, wait=30):
        pass


# -- whole runs, killed and side by side --------------------------------------------------------


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recall_pipeline.cli", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
        **kwargs,
    )


def start_run(data_dir: Path, url: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "recall_pipeline.cli", "run", "--data-dir", str(data_dir)]
        + ["--warehouse", url],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def figures(url: str) -> dict:
    """What every reader says: the determination command, a trace, and SQL on the tables."""
    shown = cli("determination", PETITION, "--warehouse", url, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    traced = cli("trace", PETITION, "--reason", "VALID", "--limit", "0", "--warehouse", url)
    assert traced.returncode == 0, traced.stderr
    with Warehouse(url, read_only=True) as store:
        sql = store.query(
            "SELECT status, count(*) AS n FROM line_verdicts WHERE petition_id = :p "
            "GROUP BY status",
            {"p": PETITION},
        )
        counts = dict(zip(sql["status"], sql["n"].astype(int), strict=True))
        per_reason = sum(
            store.row_count(name) for name in store.table_names() if name.startswith("invalid_")
        )
        lines = store.query(
            "SELECT count(*) AS n FROM petition_lines WHERE petition_id = :p", {"p": PETITION}
        )["n"].iloc[0]
        manifest = store.query(
            "SELECT count(DISTINCT run_id) AS n FROM run_manifest "
            "WHERE kind = 'determination' AND item = :p",
            {"p": PETITION},
        )["n"].iloc[0]
        certificate = store.query(
            "SELECT html_path, html_sha256 FROM determination_certificates WHERE petition_id = :p",
            {"p": PETITION},
        ).iloc[0]
    # Every reader agrees with the determination.
    assert counts.get("VALID", 0) == report["valid"]
    assert counts.get("INVALID", 0) == report["invalid"] == per_reason
    assert int(lines) == report["raw_count"]
    assert f"VALID: {report['valid']:,} line(s) in {PETITION}" in traced.stdout
    # The certificate the table names is the one its hash describes.
    written = Path(certificate["html_path"])
    assert hashlib.sha256(written.read_bytes()).hexdigest() == certificate["html_sha256"]
    linked = written.parent.parent / "certificate.html"
    return {
        # The link follows a commit (see docs/publication.md): a kill between the two leaves
        # it on the previous certificate until the next commit.
        "link_is_current": linked.resolve() == written.resolve(),
        "valid": report["valid"],
        "invalid": report["invalid"],
        "raw": report["raw_count"],
        "runs_in_manifest": int(manifest),
    }


def counts(found: dict) -> dict:
    return {k: v for k, v in found.items() if k != "link_is_current"}


def run_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["RECALL_REPORTS_DIR"] = str(tmp_path / "reports")
    return env


def kill_at(data_dir: Path, url: str, env: dict, step: str) -> str:
    """Start a run and kill -9 it when it starts `step`; return what it printed."""
    run = start_run(data_dir, url, env)
    printed = []
    try:
        for line in run.stdout:
            printed.append(line)
            if line.strip() == f"… {step}":
                run.send_signal(signal.SIGKILL)
                break
    finally:
        run.kill()
        run.wait(60)
    assert any(line.strip() == f"… {step}" for line in printed), "".join(printed)[-2000:]
    return "".join(printed)


# Where a run is killed: matching (lines phase), the verdicts, the certificate, the commit.
KILL_POINTS = ["line_matches", "line_verdicts", "determination_certificate", "publication"]


# CI kills runs on PostgreSQL and starts two at once on DuckDB; `make publication` does both on
# both backends.
@pytest.mark.parametrize(
    "backend", [pytest.param("duckdb", marks=pytest.mark.publication_full), "postgresql"]
)
def test_a_run_killed_or_failed_at_any_step_leaves_one_runs_figures(
    backend: str, tmp_path: Path
) -> None:
    data = copy_sample(tmp_path / "data")
    env = run_env(tmp_path)
    with fresh_warehouse_url(backend, tmp_path) as url:
        assert start_run(data, url, env).wait(900) == 0
        before = figures(url)
        # The next delivery: one scan batch fewer, so every count changes.
        batch = sorted((data / "petitions" / PETITION / "scans").glob("*.csv"))[-1]
        batch.unlink()
        for step in KILL_POINTS[:-1]:
            kill_at(data, url, env, step)
            assert figures(url) == before, step
        # A failure: the certificates cannot be written.
        reports = tmp_path / "reports"
        moved = tmp_path / "reports-moved"
        reports.rename(moved)
        reports.write_text("not a folder")
        failed = start_run(data, url, env)
        assert failed.wait(900) != 0
        reports.unlink()
        moved.rename(reports)
        assert figures(url) == before
        # Killed as it commits: the one publication or the other, never a mix.
        kill_at(data, url, env, KILL_POINTS[-1])
        at_commit = figures(url)
        assert start_run(data, url, env).wait(900) == 0
        after = figures(url)
        assert after["raw"] < before["raw"] and after["link_is_current"]
        assert before["link_is_current"]
        # The run after it adds its own manifest rows: compare what the lines decided.
        decided = {k: v for k, v in counts(at_commit).items() if k != "runs_in_manifest"}
        assert decided in ({k: before[k] for k in decided}, {k: after[k] for k in decided})


@pytest.mark.parametrize(
    "backend", ["duckdb", pytest.param("postgresql", marks=pytest.mark.publication_full)]
)
def test_two_runs_at_once_each_publish_and_report_their_own_result(
    backend: str, tmp_path: Path
) -> None:
    whole = copy_sample(tmp_path / "whole")
    fewer = copy_sample(tmp_path / "fewer")
    sorted((fewer / "petitions" / PETITION / "scans").glob("*.csv"))[-1].unlink()
    env = run_env(tmp_path)
    with fresh_warehouse_url(backend, tmp_path) as url:
        first = start_run(whole, url, env)
        time.sleep(1.0)
        second = start_run(fewer, url, env)
        first_out, _ = first.communicate(timeout=900)
        second_out, _ = second.communicate(timeout=900)
        assert first.returncode == 0, first_out[-3000:]
        assert second.returncode == 0, second_out[-3000:]
        assert "another run holds the warehouse" in second_out
        final = figures(url)

        def printed_valid(out: str) -> str:
            (line,) = [x for x in out.splitlines() if x.strip().startswith("valid")][:1]
            return line

        # Each printed its own determination; the one that finished last is the current one.
        assert printed_valid(first_out) != printed_valid(second_out)
        assert f"{final['valid']:,}" in printed_valid(second_out)


def test_a_slice_keeps_every_other_row_of_the_published_table(warehouse_url: str) -> None:
    first = pd.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"]})
    pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, first, None)))
    replaced = pd.DataFrame({"id": [4], "name": ["c"]})
    pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, replaced, {"name": "c"})))
    # The row whose name is null lies outside the slice `name = 'c'`: it stays.
    assert ids(warehouse_url) == [1, 2, 4]


def test_the_published_views_carry_the_declared_comments(warehouse_url: str) -> None:
    from recall_pipeline.audit.manifest import VERDICT_FINGERPRINTS

    row = pd.DataFrame({"petition_id": ["p"], "lines": [3], "fingerprint": ["f" * 64]})
    pub.commit(warehouse_url, publish(warehouse_url, (VERDICT_FINGERPRINTS, row, None)))
    described = {c.name: c.description for c in VERDICT_FINGERPRINTS.columns}
    with Warehouse(warehouse_url) as store:
        if store.dialect == "postgresql":
            found = store.query(
                "SELECT a.attname AS name, col_description(a.attrelid, a.attnum) AS comment "
                "FROM pg_attribute a WHERE a.attrelid = 'public.verdict_fingerprints'::regclass "
                "AND a.attnum > 0"
            )
            kind = store.query(
                "SELECT relkind FROM pg_class WHERE oid = 'public.verdict_fingerprints'::regclass"
            )["relkind"].iloc[0]
        else:
            found = store.query(
                "SELECT column_name AS name, comment FROM duckdb_columns() "
                "WHERE schema_name = 'main' AND table_name = 'verdict_fingerprints'"
            )
            kind = store.query(
                "SELECT 'v' AS k FROM duckdb_views() WHERE view_name = 'verdict_fingerprints'"
            )["k"].iloc[0]
    assert kind == "v"  # the published name is a view onto the publication's table
    assert dict(zip(found["name"], found["comment"], strict=True)) == described


def test_a_published_table_is_not_written_outside_a_publication(warehouse_url: str) -> None:
    pub.commit(warehouse_url, publish(warehouse_url, (PEOPLE, people(1, 2), None)))
    with (
        Warehouse(warehouse_url) as store,
        pytest.raises(ValueError, match="write it in a publication"),
    ):
        store.publish(PEOPLE, people(3), replace_where={"id": [3]})
    assert ids(warehouse_url) == [1, 2]


def test_the_key_check_sees_only_what_the_publication_wrote_and_finds_a_broken_key(
    warehouse_url: str,
) -> None:
    # A key and a required column the database does not enforce (as for the roll's big
    # tables, which declare no constraint): only the check sees them broken.
    loose = TableSchema("people", PEOPLE.columns, primary_key=("id",), key_constraint=False)
    required = TableSchema(
        "people",
        (Column("id", "integer", False), Column("name", nullable=False)),
        primary_key=("id",),
    )
    declared = {"people": required, "places": PLACES}
    pub.commit(warehouse_url, publish(warehouse_url, (PLACES, pd.DataFrame({"code": [1]}), None)))
    broken = publish(
        warehouse_url, (loose, pd.DataFrame({"id": [1, 1, 2], "name": ["a", "b", None]}), None)
    )
    with Warehouse(warehouse_url, publication=broken) as store:
        found = pub.check_keys(store, declared)
    # "places" is carried over, not written: its check was made when it was published.
    assert [c.table for c in found] == ["people"]
    assert not found[0].passed
    assert (found[0].duplicate_keys, found[0].null_counts) == (1, {"id": 0, "name": 1})

    sound = publish(warehouse_url, (loose, people(1, 2), None))
    with Warehouse(warehouse_url, publication=sound) as store:
        assert [c.passed for c in pub.check_keys(store, declared)] == [True]
    with Warehouse(warehouse_url) as store, pytest.raises(ValueError, match="publication"):
        pub.check_keys(store, declared)
