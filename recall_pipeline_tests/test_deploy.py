"""The production set-up in deploy/: the PostgreSQL instance, the Kubernetes run launcher, the
Helm values and the image.

Everything that can run here runs for real: the sample scenario on a Dagster instance and a
warehouse that both live in PostgreSQL, and a run launched through the K8s run launcher (only
the Kubernetes API is replaced, by a recorder). What cannot run here — Docker and Helm — is held
to the files CI does run: the image installs with the Makefile's `env` target, and the Helm
values name the same code location, port and queue limits as the rest of deploy/.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from unittest import mock

import dagster as dg
import psycopg
import pytest
import yaml
from sqlalchemy import make_url

from recall_pipeline import settings
from recall_pipeline.publication import BOOKKEEPING
from recall_pipeline.runner import load_definitions, materialize_all
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.datadir import SAMPLE

PROJECT = Path(__file__).resolve().parents[1]
DEPLOY = PROJECT / "deploy"
TRUTH = PROJECT / "recall_pipeline_tests" / "fixtures" / "sample_truth"
PETITION = "la-2022-da-recall"
CODE_LOCATION_MODULE = "recall_pipeline.definitions"
IMAGE = "registry.example.org/county/recall-pipeline:test"
# dagster-postgres runs on psycopg2; without the scheme SQLAlchemy 2.1 would pick psycopg 3.
PSYCOPG2_SCHEME = "postgresql+psycopg2"


def _point_dagster_storage_at(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Set the DAGSTER_PG_* variables deploy/dagster.yaml reads; return the libpq conninfo."""
    parts = make_url(url)
    monkeypatch.setenv("DAGSTER_PG_HOST", parts.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(parts.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", parts.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", parts.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", parts.database)
    return parts.set(drivername="postgresql").render_as_string(hide_password=False)


def _dagster_home(path: Path, instance_file: Path, overrides: dict | None = None) -> Path:
    """A DAGSTER_HOME whose dagster.yaml is `instance_file` itself, or, with `overrides`, that
    file with those keys of its `run_launcher.config` replaced."""
    path.mkdir(parents=True)
    if overrides is None:
        shutil.copyfile(instance_file, path / "dagster.yaml")
    else:
        config = yaml.safe_load(instance_file.read_text())
        config["run_launcher"]["config"].update(overrides)
        (path / "dagster.yaml").write_text(yaml.safe_dump(config))
    return path


class _DriverSpy:
    """Records what the warehouse sends through psycopg (Dagster's own storage uses psycopg2,
    so only warehouse traffic is seen)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.copies: list[str] = []
        self.statements: list[str] = []
        self.executemany: list[str] = []
        copy, execute, executemany = (
            psycopg.Cursor.copy,
            psycopg.Cursor.execute,
            psycopg.Cursor.executemany,
        )

        def spy_copy(cursor, statement, *args, **kwargs):
            self.copies.append(str(statement))
            return copy(cursor, statement, *args, **kwargs)

        def spy_execute(cursor, query, *args, **kwargs):
            self.statements.append(query if isinstance(query, str) else repr(query))
            return execute(cursor, query, *args, **kwargs)

        def spy_executemany(cursor, query, *args, **kwargs):
            self.executemany.append(query if isinstance(query, str) else repr(query))
            return executemany(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "copy", spy_copy)
        monkeypatch.setattr(psycopg.Cursor, "execute", spy_execute)
        monkeypatch.setattr(psycopg.Cursor, "executemany", spy_executemany)


def _published(url: str) -> tuple[dict, dict[str, str], dict[str, int]]:
    with Warehouse(url) as store:
        report = load_determination(store, PETITION)
        prints = store.read("verdict_fingerprints").to_pandas()
        counts = {name: store.row_count(name) for name in store.table_names()}
    return report, dict(zip(prints["petition_id"], prints["fingerprint"], strict=True)), counts


def _run_sample(monkeypatch: pytest.MonkeyPatch, warehouse_url: str, reports: Path):
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(SAMPLE))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)
    monkeypatch.setenv(settings.REPORTS_DIR_ENV, str(reports))
    outcome = materialize_all()
    assert outcome.success, outcome.errors
    assert outcome.checks and all(c.passed for c in outcome.checks), [
        c for c in outcome.checks if not c.passed
    ]
    return outcome


# --- the PostgreSQL deployment, end to end -------------------------------------------------------


def test_sample_on_postgres_instance_and_warehouse_equals_the_embedded_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with fresh_warehouse_url("duckdb", tmp_path / "embedded") as duck_url:
        _run_sample(monkeypatch, duck_url, tmp_path / "embedded" / "reports")
        embedded, embedded_prints, _ = _published(duck_url)

    with (
        fresh_warehouse_url("postgresql", tmp_path) as storage_url,
        fresh_warehouse_url("postgresql", tmp_path) as warehouse_url,
    ):
        conninfo = _point_dagster_storage_at(storage_url, monkeypatch)
        home = _dagster_home(tmp_path / "dagster_home", DEPLOY / "dagster.yaml")
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        spy = _DriverSpy(monkeypatch)
        outcome = _run_sample(monkeypatch, warehouse_url, tmp_path / "pg" / "reports")

        # The run and its events went to the instance that deploy/dagster.yaml describes.
        with dg.DagsterInstance.get() as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
            assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
            assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
            runs = instance.get_runs()
            # The lines run, then the petitions run.
            assert len(outcome.run_ids) == 2
            assert sorted(run.run_id for run in runs) == sorted(outcome.run_ids)
            assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
            event_types = {
                entry.dagster_event.event_type
                for run_id in outcome.run_ids
                for entry in instance.all_logs(run_id)
                if entry.dagster_event is not None
            }
            # execute_in_process creates and runs the run itself; the queue is for launched runs.
            assert dg.DagsterEventType.RUN_ENQUEUED not in event_types
            records = [
                record
                for run_id in outcome.run_ids
                for record in instance.get_records_for_run(
                    run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
                ).records
            ]
            logged = {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}
        assert logged == set(outcome.materialized)
        assert {"line_verdicts", "sufficiency_determination", "run_manifest"} <= logged

        # ...and that instance is the PostgreSQL database, read without Dagster.
        with psycopg.connect(conninfo) as conn:
            statuses = conn.execute(
                "SELECT status FROM runs WHERE run_id = ANY(%s)", (outcome.run_ids,)
            ).fetchall()
            (materializations,) = conn.execute(
                "SELECT count(*) FROM event_logs"
                " WHERE run_id = ANY(%s) AND dagster_event_type = 'ASSET_MATERIALIZATION'",
                (outcome.run_ids,),
            ).fetchone()
        assert statuses == [("SUCCESS",), ("SUCCESS",)]
        assert materializations == len(records)

        on_postgres, postgres_prints, row_counts = _published(warehouse_url)

    # The same determination, line for line, as the embedded run and as the scenario's truth.
    assert on_postgres == embedded
    assert postgres_prints == embedded_prints
    expected = json.loads((TRUTH / "expected_determination.json").read_text())
    assert (on_postgres["valid"], on_postgres["result"]) == (expected["valid"], expected["result"])

    # Every table with rows was bulk-loaded with COPY into its staging table, never by INSERTs
    # of values.
    # (The warehouse also reads with COPY ... TO STDOUT.)
    copied = " ".join(statement for statement in spy.copies if "FROM STDIN" in statement)
    # The per-reason tables are selected from line_verdicts inside the warehouse: no row
    # leaves it, so none is loaded.
    selected = " ".join(
        s
        for s in spy.statements
        if re.search(r"INSERT INTO .* SELECT .* FROM \"line_verdicts\"", s)
    )
    # Each is written into the run's own publication schema (see docs/publication.md), whose
    # records are a few rows written by the commit itself; a slice through a temporary table.
    for table, rows in row_counts.items():
        into = rf'("publication_[0-9a-z_]+"\."{table}"|"_stage_{table}_[0-9a-f]{{8}}") \('
        if table in {schema.name for schema in BOOKKEEPING}:
            continue
        if rows and table.startswith("invalid_"):
            assert re.search(into, selected), table
        elif rows:
            assert re.search(into, copied), table
    # Rows by value only into the publication's records: a few per run, by its commit.
    records = {schema.name for schema in BOOKKEEPING}
    inserts = [
        s
        for s in spy.statements + spy.executemany
        if re.search(r"\bINSERT\b.*\bVALUES\b", s, re.I)
        and not any(f'"{name}"' in s.split("(")[0] for name in records)
    ]
    assert not inserts, inserts[:3]
    assert not spy.executemany


# --- scale-out on Kubernetes ---------------------------------------------------------------------

_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    # Never contacted: the test replaces the Kubernetes API clients.
    "clusters": [{"name": "county", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "dagster", "user": {"token": "unused"}}],
    "contexts": [{"name": "county", "context": {"cluster": "county", "user": "dagster"}}],
    "current-context": "county",
}


def _instance_files() -> dict[str, dict]:
    return {
        name: yaml.safe_load((DEPLOY / name).read_text())
        for name in ("dagster.yaml", "dagster-k8s.yaml")
    }


def _helm_values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def test_instance_files_pass_dagsters_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.instance.config import dagster_instance_config
    from dagster_k8s import K8sRunLauncher

    for name, raw in _instance_files().items():
        config, custom_class = dagster_instance_config(str(DEPLOY), name)
        assert custom_class is None
        assert set(config["storage"]) == {"postgres"}, name
        db = dict(raw["storage"]["postgres"]["postgres_db"])
        assert db.pop("scheme") == PSYCOPG2_SCHEME, name
        assert {field: value["env"] for field, value in db.items()} == {
            "hostname": "DAGSTER_PG_HOST",
            "port": "DAGSTER_PG_PORT",
            "username": "DAGSTER_PG_USERNAME",
            "password": "DAGSTER_PG_PASSWORD",
            "db_name": "DAGSTER_PG_DB",
        }
        assert raw["run_coordinator"]["class"] == "QueuedRunCoordinator"
        assert raw["telemetry"] == {"enabled": False}
    files = _instance_files()
    assert files["dagster.yaml"]["run_launcher"]["class"] == "DefaultRunLauncher"
    assert (
        files["dagster.yaml"]["run_coordinator"]["config"]["tag_concurrency_limits"]
        == files["dagster-k8s.yaml"]["run_coordinator"]["config"]["tag_concurrency_limits"]
    )

    launcher = files["dagster-k8s.yaml"]["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = process_config(
        resolve_to_config_type(K8sRunLauncher.config_type()), launcher["config"]
    )
    assert result.success, result.errors


def test_a_run_of_our_job_launches_as_a_kubernetes_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/dagster-k8s.yaml loads as an instance with the K8s run launcher, the definitions
    load beside it, and a petition's run of `verify_petitions` (the unit a statewide workload
    fans out in) becomes the Job the cluster would get; the pod's command then loads our
    definitions from what the launcher put in it."""
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.launcher import LaunchRunContext
    from dagster._core.test_utils import create_run_for_test
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value
    from dagster._utils.hosted_user_process import recon_job_from_origin
    from dagster_k8s import K8sRunLauncher

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(_KUBECONFIG))
    # Outside a cluster the launcher reads a kubeconfig instead of the pod's service account.
    outside_cluster = {"load_incluster_config": False, "kubeconfig_file": str(kubeconfig)}
    home = _dagster_home(tmp_path / "home", DEPLOY / "dagster-k8s.yaml", outside_cluster)

    with fresh_warehouse_url("postgresql", tmp_path) as storage_url:
        _point_dagster_storage_at(storage_url, monkeypatch)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert isinstance(instance.run_launcher, K8sRunLauncher)

            job_def = load_definitions().resolve_job_def("verify_petitions")
            origin = (
                ReconstructableRepository.for_module(
                    CODE_LOCATION_MODULE, "defs", str(PROJECT), container_image=IMAGE
                )
                .get_reconstructable_job(job_def.name)
                .get_python_origin()
            )

            config = yaml.safe_load((home / "dagster.yaml").read_text())["run_launcher"]["config"]
            processed = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), config)
            batch_api = mock.MagicMock()
            launcher = K8sRunLauncher(
                **processed.value,
                k8s_client_batch_api=batch_api,
                k8s_client_core_api=mock.MagicMock(),
            )
            launcher.register_instance(instance)
            run = create_run_for_test(
                instance,
                job_name=job_def.name,
                job_code_origin=origin,
                tags={"recall/petition": PETITION, "dagster/partition": PETITION},
            )
            launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))

    (call,) = batch_api.create_namespaced_job.call_args_list
    assert call.kwargs["namespace"] == "recall"
    job = call.kwargs["body"]
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert container.image == IMAGE
    assert container.args[1:3] == ["api", "execute_run"]
    assert pod.service_account_name == "dagster"

    env = {var.name: var for var in container.env}
    assert env["RECALL_DATA_DIR"].value == "/srv/recall/data"
    assert env["RECALL_REPORTS_DIR"].value == "/srv/recall/reports"
    password = env["DAGSTER_PG_PASSWORD"].value_from.secret_key_ref
    assert (password.name, password.key) == ("dagster-postgresql-secret", "postgresql-password")
    sources = {(s.secret_ref or s.config_map_ref).name for s in container.env_from}
    assert {"recall-warehouse", "dagster-pg-env"} <= sources
    mounts = {m.name: m.mount_path for m in container.volume_mounts}
    assert mounts["recall-data"] == "/srv/recall"
    assert Path(env["RECALL_DATA_DIR"].value).is_relative_to(mounts["recall-data"])
    volumes = {v.name: v for v in pod.volumes}
    assert volumes["recall-data"].persistent_volume_claim.claim_name == "recall-data"
    assert container.resources.requests["memory"] == "8Gi"

    # What the pod runs first: `dagster api execute_run` loads the job from the origin it was
    # handed, i.e. our definitions module, and the petition phase's assets.
    args = deserialize_value(container.args[-1], ExecuteRunArgs)
    assert args.run_id == run.run_id
    loaded = recon_job_from_origin(args.job_origin).get_definition()
    assert loaded.name == "verify_petitions"
    keys = {key.to_user_string() for key in loaded.asset_layer.selected_asset_keys}
    assert {"line_verdicts", "sufficiency_determination", "run_manifest"} <= keys
    assert not keys & {"voter_roll", "petition_lines", "line_matches"}


def test_helm_values_name_our_image_code_server_and_limits() -> None:
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_k8s import K8sRunLauncher

    values = _helm_values()
    user_code = values["dagster-user-deployments"]
    assert user_code["enabled"] is True
    (deployment,) = user_code["deployments"]
    assert deployment["image"]["repository"] and deployment["image"]["tag"]
    assert deployment["codeServerArgs"] == ["-m", CODE_LOCATION_MODULE]
    assert deployment["port"] == _dockerfile_code_server()["port"]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}

    env = {var["name"]: var for var in deployment["env"]}
    secret = env[settings.WAREHOUSE_URL_ENV]["valueFrom"]["secretKeyRef"]
    assert secret["name"] and secret["key"]
    mounts = {m["name"]: m["mountPath"] for m in deployment["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in deployment["volumes"]}
    assert set(mounts) == set(claims)
    for setting in (settings.DATA_DIR_ENV, settings.REPORTS_DIR_ENV):
        assert any(Path(env[setting]["value"]).is_relative_to(path) for path in mounts.values())

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    # The chart's run-launcher template, for the keys set here; the rest it fills itself.
    launcher_config = {
        "instance_config_map": "recall-dagster-instance",
        "service_account_name": "recall-dagster",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "load_incluster_config": k8s["loadInclusterConfig"],
        "image_pull_policy": k8s["imagePullPolicy"],
        "env_config_maps": [source["name"] for source in k8s["envConfigMaps"]] or None,
        "env_secrets": [source["name"] for source in k8s["envSecrets"]] or None,
        "env_vars": k8s["envVars"] or None,
        "volumes": k8s["volumes"],
        "volume_mounts": k8s["volumeMounts"],
        "resources": k8s["resources"],
        "fail_pod_on_run_failure": k8s["failPodOnRunFailure"],
    }
    result = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), launcher_config)
    assert result.success, result.errors

    postgresql = values["postgresql"]
    assert postgresql["enabled"] is False
    assert postgresql["postgresqlHost"] and postgresql["postgresqlDatabase"]
    assert postgresql["postgresqlScheme"] == PSYCOPG2_SCHEME
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]

    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] is True
    assert coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    # The chart writes these two keys into dagster.yaml unchanged (snake_case).
    rendered = {
        "max_concurrent_runs": queued["maxConcurrentRuns"],
        "tag_concurrency_limits": queued["tagConcurrencyLimits"],
    }
    result = process_config(resolve_to_config_type(QueuedRunCoordinator.config_type()), rendered)
    assert result.success, result.errors
    on_one_machine = _instance_files()["dagster.yaml"]["run_coordinator"]["config"]
    assert rendered["tag_concurrency_limits"] == on_one_machine["tag_concurrency_limits"]
    assert values["telemetry"] == {"enabled": False}


# --- the image ------------------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def _dockerfile_code_server() -> dict:
    (cmd,) = [json.loads(rest) for keyword, rest in _dockerfile() if keyword == "CMD"]
    assert cmd[:3] == ["dagster", "code-server", "start"]
    options = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    return {"cmd": cmd, "port": int(options["-p"]), "host": options["-h"], "module": options["-m"]}


def _shell_commands(run: str) -> list[list[str]]:
    return [shlex.split(part) for part in re.split(r"&&|;", run) if part.strip()]


def _make_prerequisites(target: str) -> list[str]:
    makefile = (PROJECT / "Makefile").read_text()
    (line,) = re.findall(rf"^{re.escape(target)}:(.*)$", makefile, re.M)
    return line.split()


def test_image_installs_with_the_commands_ci_runs() -> None:
    instructions = _dockerfile()
    keywords = [keyword for keyword, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    from packaging.specifiers import SpecifierSet

    requires = SpecifierSet(
        re.search(r'^requires-python = "(.*)"$', (PROJECT / "pyproject.toml").read_text(), re.M)[1]
    )
    assert "3.11" in requires

    # CI installs through `make env`: .ci/run calls `make lint` and `make test`, both of which
    # build the `env` target first.
    ci = (PROJECT / ".ci" / "run").read_text()
    assert "make lint" in ci and "make test" in ci
    assert "env" in _make_prerequisites("lint") and "env" in _make_prerequisites("test")

    commands = [
        command
        for keyword, rest in instructions
        if keyword == "RUN"
        for command in _shell_commands(rest)
    ]
    assert ["make", "env"] in commands
    installers = {"pip", "pip3", "uv", "uvx", "poetry", "pipenv", "conda", "python", "python3"}
    assert not [c for c in commands if Path(c[0]).name in installers], (
        "the image must install Python packages only through `make env`"
    )
    apt = next(c for c in commands if c[:2] == ["apt-get", "install"])
    assert {"make", "git"} <= set(apt)

    # The whole project, lock file included, is in place before `make env`, and no environment
    # built elsewhere comes along (its .synced stamp would make `make env` skip the install).
    assert keywords.index("COPY") < next(
        i for i, (k, rest) in enumerate(instructions) if k == "RUN" and "make env" in rest
    )
    assert ("COPY", ". .") in instructions
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".tools"} <= set(ignored)
    env = dict(
        pair.split("=", 1)
        for keyword, rest in instructions
        if keyword == "ENV"
        for pair in rest.split()
    )
    workdir = next(rest for keyword, rest in instructions if keyword == "WORKDIR")
    assert env["PATH"].split(":")[0] == f"{workdir}/.venv/bin"


def test_image_serves_our_code_location() -> None:
    from dagster._cli.code_server import start_command

    keywords = [keyword for keyword, _ in _dockerfile()]
    # The chart and the run launcher pass whole commands as args: an ENTRYPOINT would prefix them.
    assert "ENTRYPOINT" not in keywords
    server = _dockerfile_code_server()
    assert (server["host"], server["module"]) == ("0.0.0.0", CODE_LOCATION_MODULE)
    assert ("EXPOSE", str(server["port"])) in _dockerfile()
    # The installed Dagster's own CLI accepts the command as written.
    context = start_command.make_context("start", server["cmd"][3:])
    assert context.params["port"] == server["port"]
    assert context.params["host"] == server["host"]
    # The module named is the one the workspace and pyproject use.
    workspace = yaml.safe_load((PROJECT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == CODE_LOCATION_MODULE
