"""Shared pytest fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# --- warehouse fixtures (recall_pipeline.warehouse) ---------------------------------------------
# `warehouse_url` yields a fresh, empty warehouse URL per test for each backend: a DuckDB file
# under tmp_path, or a new PostgreSQL database (dropped afterwards). PostgreSQL must be running:
# an unreachable server FAILS the test rather than skipping it. Override the server with
# RECALL_TEST_POSTGRES_URL (a URL to any database on it; default user postgres on 127.0.0.1).

POSTGRES_SERVER_URL = os.environ.get(
    "RECALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_admin_conninfo() -> tuple[str, object]:
    from sqlalchemy import make_url

    url = make_url(POSTGRES_SERVER_URL).set(drivername="postgresql+psycopg")
    conninfo = url.set(database="postgres").render_as_string(hide_password=False)
    return conninfo.replace("postgresql+psycopg://", "postgresql://", 1), url


@contextmanager
def fresh_warehouse_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty warehouse URL: a DuckDB file under tmp_path, or a PostgreSQL database that
    is dropped afterwards."""
    if backend == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse' / 'warehouse.duckdb'}"
        return

    import psycopg
    from psycopg import sql

    conninfo, url = _postgres_admin_conninfo()
    name = f"recall_test_{uuid.uuid4().hex}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {url.set(database='postgres')!s} ({exc}). Start it "
            "(e.g. `pg_ctlcluster --skip-systemctl-redirect <version> main start`) or point "
            "RECALL_TEST_POSTGRES_URL at a running server.",
            pytrace=False,
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_warehouse_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def duckdb_and_postgres_urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """One fresh warehouse of each backend, for tests that compare them."""
    with (
        fresh_warehouse_url("duckdb", tmp_path) as duck,
        fresh_warehouse_url("postgresql", tmp_path) as postgres,
    ):
        yield duck, postgres


@pytest.fixture
def warehouse(warehouse_url: str):
    from recall_pipeline.warehouse import Warehouse

    wh = Warehouse(warehouse_url)
    try:
        yield wh
    finally:
        wh.dispose()


# --- end of warehouse fixtures ------------------------------------------------------------------


# --- pipeline outputs outside the warehouse ------------------------------------------------------
# Certificates are files; tests write them to a scratch folder, never into the checkout.


def pytest_configure(config: pytest.Config) -> None:
    import tempfile

    from recall_pipeline import settings

    os.environ.setdefault(settings.REPORTS_DIR_ENV, tempfile.mkdtemp(prefix="recall-reports-"))


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A persistent Dagster instance, as a deployment has (and `materialize_all` uses when
    DAGSTER_HOME names it): partitions, runs and events outlive a run."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as found:
        yield found
