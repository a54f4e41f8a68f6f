"""A blocking key check on every published table, generated from its declaration.

Each asset gets one check per table its step publishes -- its own (`declared_key`) and the
slice it writes of a table shared with other assets (`declared_key_<table>`: an input's rows in
`quarantined_rows`, the roll's keys matching keeps) -- that runs `checks.key_check`: the
table's declared primary key held once, its required columns never empty. A failure stops the
run before anything downstream reads the table. What is checked is the slice the run wrote:
the run's petitions, its manifest rows, an input's rows of a shared table; the whole table
otherwise. The checks are declared apart from the assets (`multi_asset_check`), one op per step
of tables, so the assets' own code is untouched.

Metadata: counts and column names only (`checks.KeyCheck.metadata`), never a value.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from recall_pipeline.checks import key_check
from recall_pipeline.contract import INPUTS, PETITION_LINES
from recall_pipeline.defs.common import PETITIONS, SCAN_BATCHES, petition_of, tagged_partitions
from recall_pipeline.defs.resources import WarehouseResource
from recall_pipeline.schema import published_table
from recall_pipeline.verify.reasons import reason_codes

CHECK_NAME = "declared_key"

Slice = Callable[[dg.AssetCheckExecutionContext, str], dict[str, object] | None]


def whole_table(context: dg.AssetCheckExecutionContext, asset: str) -> dict[str, object] | None:
    return None


def input_rows(context: dg.AssetCheckExecutionContext, asset: str) -> dict[str, object] | None:
    """The rows of a table shared by the inputs that belong to this input asset."""
    return {"input_name": asset}


def run_petitions(context: dg.AssetCheckExecutionContext, asset: str) -> dict[str, object] | None:
    """The rows of the petitions the run covers (all of them: the whole table)."""
    registered = context.instance.get_dynamic_partitions(PETITIONS.name)
    covered = tagged_partitions(context.run.tags, registered)
    return None if set(covered) >= set(registered) else {"petition_id": covered}


def batch_petitions(context: dg.AssetCheckExecutionContext, asset: str) -> dict[str, object] | None:
    """The rows of the petitions of the scan batches the run covers."""
    registered = context.instance.get_dynamic_partitions(SCAN_BATCHES.name)
    covered = tagged_partitions(context.run.tags, registered)
    if set(covered) >= set(registered):
        return None
    return {"petition_id": sorted({petition_of(key) for key in covered})}


def run_rows(context: dg.AssetCheckExecutionContext, asset: str) -> dict[str, object] | None:
    """The rows the run itself recorded."""
    return {"run_id": context.run.run_id}


@dataclass(frozen=True)
class Checked:
    """A table an asset's step publishes (or publishes a slice of), and the slice to check."""

    table: str
    rows: Slice = whole_table

    def check_name(self, asset: str) -> str:
        return CHECK_NAME if self.table == asset else f"{CHECK_NAME}_{self.table}"


# The side tables every input asset publishes its rows of.
_INPUT_SIDE_TABLES = ("quarantined_rows", "nulled_values", "ingested_files", "expectation_results")
# Per step (one op of checks each): asset -> the tables it publishes.
STEPS: dict[str, dict[str, tuple[Checked, ...]]] = {
    "petitions": {"petitions": (Checked("petitions"),)},
    **{
        spec.name: {
            spec.name: (
                Checked(spec.name, batch_petitions if spec is PETITION_LINES else whole_table),
                *(Checked(table, input_rows) for table in _INPUT_SIDE_TABLES),
            )
        }
        for spec in INPUTS
    },
    "matching": {
        "line_matches": (
            Checked("line_matches", batch_petitions),
            # The roll's keys and statistics, kept by the matching step.
            *(
                Checked(table)
                for table in (
                    "roll_match_keys",
                    "history_match_keys",
                    "roll_statistics",
                    "roll_name_shares",
                    "match_key_versions",
                )
            ),
        ),
        "match_candidates": (Checked("match_candidates", batch_petitions),),
        "match_models": (Checked("match_models", batch_petitions),),
    },
    "verdicts": {
        table: (Checked(table, run_petitions),)
        for table in (
            "line_verdicts",
            *(code.table_name for code in reason_codes()),
            "reason_summary",
            "registrar_summary",
            "verdict_fingerprints",
            "verdict_inputs",
        )
    },
    "determination": {
        "sufficiency_determination": (Checked("sufficiency_determination", run_petitions),),
        "sample_lines": (Checked("sample_lines", run_petitions),),
    },
    "run_manifest": {"run_manifest": (Checked("run_manifest", run_rows),)},
    "determination_certificate": {
        "determination_certificate": (Checked("determination_certificates", run_petitions),)
    },
}
# Published outside any asset: by the run-failure sensor, which has no check to stop; and the
# publication's own records, written by its commit in the transaction that makes it current.
NOT_CHECKED = ("run_failures", "publications", "publication_tables", "publication_current")
# Assets that publish no table of their own: the commit.
NO_TABLE = ("publication",)


def _description(checked: Checked) -> str:
    schema = published_table(checked.table)
    key = f"({', '.join(schema.primary_key)}) held once" if schema.primary_key else "none declared"
    scope = "" if checked.rows is whole_table else " (the rows this run wrote)"
    return (
        f"{schema.name}{scope}: declared primary key {key}, and no empty value in the "
        f"{len(schema.required_columns)} columns declared never empty."
    )


def key_checks(step: str, assets: dict[str, tuple[Checked, ...]]) -> dg.AssetChecksDefinition:
    """One op checking every table the assets of one step publish."""
    checked = {
        dg.AssetCheckKey(dg.AssetKey(asset), item.check_name(asset)): (asset, item)
        for asset, items in assets.items()
        for item in items
    }

    @dg.multi_asset_check(
        name=f"{step}_declared_keys",
        specs=[
            dg.AssetCheckSpec(
                key.name, asset=key.asset_key, blocking=True, description=_description(item)
            )
            for key, (_, item) in checked.items()
        ],
        can_subset=True,
    )
    def check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        store = warehouse.open()
        try:
            for key in sorted(context.selected_asset_check_keys, key=str):
                asset, item = checked[key]
                found = key_check(store, published_table(item.table), item.rows(context, asset))
                yield dg.AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=found.passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=_description(item),
                    metadata=found.metadata,
                )
        finally:
            store.dispose()

    return check


table_key_checks = [key_checks(step, assets) for step, assets in STEPS.items()]
