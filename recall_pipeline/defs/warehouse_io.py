"""Reading published tables back as pandas frames, for the assets downstream of ingestion."""

from __future__ import annotations

import pandas as pd

from recall_pipeline.ingest.pipeline import PETITIONS
from recall_pipeline.verify.pipeline import config_from_row
from recall_pipeline.warehouse import Warehouse


def read_frame(store: Warehouse, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return store.read(table, columns=columns).to_pandas()


def petition_configs(store: Warehouse):
    return [config_from_row(row) for row in read_frame(store, PETITIONS.name).to_dict("records")]
