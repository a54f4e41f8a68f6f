"""A warehouse write that fails once all its rows are in and before it commits: what a crash at
the worst moment of a publish leaves behind."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from recall_pipeline.warehouse import Warehouse


def fail_writes(
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    *,
    table: str | None = None,
    calls: list[tuple[str, str]] | None = None,
) -> Callable[[], None]:
    """Every write of `table` (of every table when None) in this process raises `error` after
    its rows are written, inside its transaction; `calls` collects (table, target) of each
    write. Returns what ends it (as `monkeypatch.undo()` does, with the rest)."""
    fill = Warehouse._fill

    def failing(self, conn, target, schema, rows):
        fill(self, conn, target, schema, rows)
        if calls is not None:
            calls.append((schema.name, target))
        if table is None or schema.name == table:
            raise error

    monkeypatch.setattr(Warehouse, "_fill", failing)
    return lambda: monkeypatch.setattr(Warehouse, "_fill", fill)
