import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from recall_pipeline import settings
from recall_pipeline.defs.common import PUBLICATION_TAG, REASON_TAG
from recall_pipeline.publication import (
    Committed,
    commit,
    open_publication,
    publication_for_run,
)
from recall_pipeline.warehouse import Warehouse

# The publications this process has opened (a memo: opening is idempotent).
_OPENED: set[tuple[str, str]] = set()


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse every published table goes to (DuckDB file or PostgreSQL by URL).

    In a run, every table a step publishes goes into the run's publication, which its last
    step commits (the `publication` asset); outside a run (a sensor), tables are written
    directly."""

    url: str
    # Whether a step keeps an embedded DuckDB file attached for its span (`Warehouse.hold`).
    # Only where one process runs every step (`recall-audit run`): on the multiprocess
    # executor, a step holding the file would keep the steps beside it waiting for it.
    hold_per_step: bool = False
    _publication: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.run
        if run is None:
            return
        publication = run_publication(run)
        # Once per process: every step of a run in one process would open it again.
        if (self.url, publication) not in _OPENED:
            open_publication(self.url, publication, run.tags.get(REASON_TAG))
            _OPENED.add((self.url, publication))
        self._publication = publication

    @property
    def publication(self) -> str | None:
        return self._publication

    def open(self, hold: bool = True) -> Warehouse:
        """The warehouse for one step; with `hold`, kept attached until the step disposes of
        it, when this process runs every step (see `hold_per_step`)."""
        store = Warehouse(self.url, publication=self._publication)
        return store.hold() if hold and self.hold_per_step else store

    def commit(self) -> Committed:
        """Make this run's publication the current one (see recall_pipeline.publication)."""
        if self._publication is None:
            raise RuntimeError("only a run has a publication to commit")
        return commit(self.url, self._publication)


def run_publication(run: dg.DagsterRun) -> str:
    """The publication a run writes into: the one its tags name, else its own — the first
    run's, for a run re-executed from a failed one, which goes on with what that run wrote."""
    first = run.tags.get("dagster/root_run_id") or run.run_id
    return run.tags.get(PUBLICATION_TAG) or publication_for_run(first)


class InputDataResource(dg.ConfigurableResource):
    """The county's data directory laid out as docs/data-contract.md describes, and where the
    certificates are written."""

    data_dir: str
    # Where certificates are written; default $RECALL_REPORTS_DIR or data/reports.
    reports_dir: str | None = None

    def reports(self) -> Path:
        return Path(self.reports_dir) if self.reports_dir else settings.reports_dir()


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
                data_dir=_configured(settings.DATA_DIR_ENV, str(settings.data_dir())),
                reports_dir=_configured(settings.REPORTS_DIR_ENV, str(settings.reports_dir())),
            ),
        }
    )
