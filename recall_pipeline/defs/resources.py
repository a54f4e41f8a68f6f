import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from recall_pipeline import settings
from recall_pipeline.warehouse import Warehouse

# Whether steps hold the warehouse file for their span (`Warehouse.hold`). On only while one
# process runs every step of a run (`steps_hold_the_warehouse`, used by the runner): on the
# multiprocess executor a step holding an embedded DuckDB file would keep the steps running
# beside it in other processes waiting for the file.
_hold_per_step = False


@contextmanager
def steps_hold_the_warehouse() -> Iterator[None]:
    global _hold_per_step
    before, _hold_per_step = _hold_per_step, True
    try:
        yield
    finally:
        _hold_per_step = before


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse every published table goes to (DuckDB file or PostgreSQL by URL)."""

    url: str

    def open(self, hold: bool = True) -> Warehouse:
        """The warehouse for one step; with `hold`, kept attached until the step disposes of
        it, when this process runs every step (see `steps_hold_the_warehouse`)."""
        store = Warehouse(self.url)
        return store.hold() if hold and _hold_per_step else store


class InputDataResource(dg.ConfigurableResource):
    """The county's data directory laid out as data-contract.md describes."""

    data_dir: str


def _configured(env_var: str, default: str) -> str | dg.EnvVar:
    # EnvVar keeps a URL that may carry a password out of the UI and the run config.
    return dg.EnvVar(env_var) if os.environ.get(env_var) else default


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(
                url=_configured(settings.WAREHOUSE_URL_ENV, settings.default_warehouse_url())
            ),
            "input_data": InputDataResource(
                data_dir=_configured(settings.DATA_DIR_ENV, str(settings.data_dir()))
            ),
        }
    )
