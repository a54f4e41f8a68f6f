"""The Dagster graph: what the UI shows and what a schedule would run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from recall_pipeline.contract import INPUTS
from recall_pipeline.runner import load_definitions
from recall_pipeline.verify.reasons import reason_codes

PROJECT = Path(__file__).resolve().parents[1]
# Everything decided per petition from all its lines.
PER_PETITION = {
    "line_verdicts",
    "reason_summary",
    "registrar_summary",
    "verdict_fingerprints",
    "verdict_inputs",
    "challenges_set_aside",
    "sufficiency_determination",
    "sample_lines",
    "requirement_bases",
    "examination_status",
    "examination_reasons",
    "examination_set",
    "determination_certificate",
    # The commit of the run's publication: last, after everything it makes visible.
    "publication",
} | {f"invalid_{c.code.lower()}" for c in reason_codes()}


def test_graph_has_an_asset_per_input_with_its_checks() -> None:
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    ingest = {spec.name for spec in INPUTS} | {"petitions"}
    verification = {
        "line_matches",
        "match_candidates",
        "match_models",
        "run_manifest",
    } | PER_PETITION
    assert keys == ingest | verification
    check_keys = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for spec in INPUTS:
        assert (spec.name, "expectations") in check_keys
        assert (spec.name, "rows_conserved") in check_keys
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.code_version, key


def test_conservation_checks_block_downstream() -> None:
    defs = load_definitions()
    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec
        for assets_def in defs.resolve_asset_graph().assets_defs
        for spec in assets_def.check_specs
    }
    assert all(spec.blocking for (_, name), spec in specs.items() if name == "rows_conserved")
    for check in ("one_verdict_per_line", "reasons_partition_invalid", "one_valid_line_per_voter"):
        assert specs[("line_verdicts", check)].blocking
    assert specs[("sufficiency_determination", "counts_add_up")].blocking
    assert not any(spec.blocking for (_, name), spec in specs.items() if name == "expectations")


def test_the_roll_is_ingested_first_of_the_steps_ready_together() -> None:
    # The process's first ingest loads Great Expectations beside its file reads; the roll's
    # reads are the longest to hide it behind.
    priority = {
        key.to_user_string(): int(assets_def.op.tags.get("dagster/priority", 0))
        for assets_def in load_definitions().resolve_asset_graph().assets_defs
        if assets_def.is_executable
        for key in assets_def.keys
    }
    assert all(p < priority["voter_roll"] for key, p in priority.items() if key != "voter_roll")


def test_per_petition_inputs_depend_on_petitions_and_on_the_inputs_they_name() -> None:
    graph = load_definitions().resolve_asset_graph()
    for spec in INPUTS:
        parents = {k.to_user_string() for k in graph.get(dg.AssetKey(spec.name)).parent_keys}
        named = set(spec.referenced_inputs)
        assert parents == ({"petitions"} if spec.per_petition else set()) | named
    # An examiner's decision must name a voter on the roll as published.
    assert graph.get(dg.AssetKey("match_reviews")).parent_keys >= {dg.AssetKey("voter_roll")}


def test_partitioned_by_batch_then_by_petition_in_two_jobs() -> None:
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    by_partitions: dict[str | None, set[str]] = {}
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        name = partitions.name if partitions is not None else None
        by_partitions.setdefault(name, set()).add(key.to_user_string())
    assert by_partitions["scan_batches"] == {
        "petition_lines",
        "line_matches",
        "match_candidates",
        "match_models",
    }
    assert by_partitions["petitions"] == PER_PETITION
    assert "run_manifest" in by_partitions[None]

    # Each job covers one partitions definition (Dagster refuses more), and together they
    # cover every asset.
    jobs = {name: defs.resolve_job_def(name) for name in ("verify_lines", "verify_petitions")}
    selected = {
        name: {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        for name, job in jobs.items()
    }
    assert selected["verify_lines"] >= by_partitions["scan_batches"]
    assert not selected["verify_lines"] & by_partitions["petitions"]
    assert selected["verify_petitions"] >= by_partitions["petitions"] | {"run_manifest"}
    assert not selected["verify_petitions"] & by_partitions["scan_batches"]
    every = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert selected["verify_lines"] | selected["verify_petitions"] == every


def test_dagster_validates_the_workspace() -> None:
    env = {**os.environ, "DAGSTER_HOME": ""}
    env.pop("DAGSTER_HOME")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_column_lineage_covers_the_published_columns() -> None:
    from recall_pipeline.defs.matching.assets import LINE_MATCH_LINEAGE
    from recall_pipeline.defs.verdicts.assets import LINE_VERDICT_LINEAGE
    from recall_pipeline.verify.schemas import LINE_MATCHES, LINE_VERDICTS

    graph = load_definitions().resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for schema, lineage, own in (
        (LINE_VERDICTS, LINE_VERDICT_LINEAGE, {"run_id", "code_version"}),
        (LINE_MATCHES, LINE_MATCH_LINEAGE, set()),
    ):
        assert set(lineage) == set(schema.column_names) - own, schema.name
        for sources in lineage.values():
            assert {asset for asset, _ in sources} <= keys


def test_steps_hold_an_embedded_warehouse_only_when_one_process_runs_them_all(
    tmp_path: Path,
) -> None:
    from recall_pipeline.defs.resources import WarehouseResource

    def held(url: str, hold_per_step: bool) -> bool:
        store = WarehouseResource(url=url, hold_per_step=hold_per_step).open()
        try:
            return store.held
        finally:
            store.dispose()

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    # A step on the multiprocess executor: steps in other processes may need the file.
    assert not held(url, hold_per_step=False)
    # `recall-audit run`, which runs every step in its own process.
    assert held(url, hold_per_step=True)
    assert not held("duckdb:///:memory:", hold_per_step=True)
