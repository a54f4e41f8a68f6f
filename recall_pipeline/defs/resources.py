import os

import dagster as dg

from recall_pipeline import settings
from recall_pipeline.warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse every published table goes to (DuckDB file or PostgreSQL by URL)."""

    url: str

    def open(self, hold: bool = True) -> Warehouse:
        """The warehouse for one step, held open until the step disposes of it (`hold`)."""
        store = Warehouse(self.url)
        return store.hold() if hold else store


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
