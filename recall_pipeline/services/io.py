"""Reading published tables back as pandas frames and publishing a run's petitions' rows, for
the stages downstream of ingestion; and what a stage logs to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pandas as pd

from recall_pipeline.ingest.pipeline import PETITIONS
from recall_pipeline.tables import TableSchema
from recall_pipeline.verify.pipeline import config_from_row
from recall_pipeline.warehouse import Warehouse


class Log(Protocol):
    """Where a stage says what it did: a `logging.Logger`, or Dagster's `context.log` in a run."""

    def info(self, msg: str, /) -> object: ...

    def warning(self, msg: str, /) -> object: ...


def read_frame(
    store: Warehouse,
    table: str,
    columns: list[str] | None = None,
    where: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    return store.read_frame(table, columns=columns, where=where)


def petition_configs(store: Warehouse, petitions: list[str] | None = None):
    """The settings of every petition, or of those among `petitions` that are configured."""
    where = None if petitions is None else {"petition_id": petitions}
    rows = read_frame(store, PETITIONS.name, where=where).to_dict("records")
    return [config_from_row(row) for row in rows]


def petition_slice(petitions: list[str], every: bool) -> dict[str, object] | None:
    """What a run over `petitions` replaces of a per-petition table: the whole table when they
    are every registered petition (dropping the rows of petitions no longer registered), their
    rows otherwise, leaving other petitions' rows as they are."""
    return None if every else {"petition_id": petitions}


def publish_petitions(
    store: Warehouse, schema: TableSchema, frame: pd.DataFrame, petitions: list[str], every: bool
) -> int:
    """Publish the rows of a run's `petitions` (see `petition_slice`)."""
    return store.publish(schema, frame, replace_where=petition_slice(petitions, every))


def concat_rows(frames: list[pd.DataFrame], schema: TableSchema) -> pd.DataFrame:
    """The frames one under another; with none, an empty frame of the table's columns."""
    if not frames:
        return pd.DataFrame(columns=schema.column_names)
    return pd.concat(frames, ignore_index=True)
