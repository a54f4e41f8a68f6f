"""Reading published tables back as pandas frames, for the assets downstream of ingestion."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from recall_pipeline.ingest.pipeline import PETITIONS
from recall_pipeline.tables import TableSchema
from recall_pipeline.verify.pipeline import config_from_row
from recall_pipeline.warehouse import Warehouse


def read_frame(
    store: Warehouse,
    table: str,
    columns: list[str] | None = None,
    where: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    return store.read(table, columns=columns, where=where).to_pandas()


def petition_configs(store: Warehouse, petitions: list[str] | None = None):
    """The settings of every petition, or of those among `petitions` that are configured."""
    where = None if petitions is None else {"petition_id": petitions}
    rows = read_frame(store, PETITIONS.name, where=where).to_dict("records")
    return [config_from_row(row) for row in rows]


def publish_petitions(
    store: Warehouse, schema: TableSchema, frame: pd.DataFrame, petitions: list[str], every: bool
) -> int:
    """Publish the rows of a run's `petitions`: the whole table when they are every registered
    petition (dropping the rows of petitions no longer registered), their slice otherwise,
    leaving other petitions' rows as they are."""
    if every:
        return store.publish(schema, frame)
    return store.publish(schema, frame, replace_where={"petition_id": petitions})
