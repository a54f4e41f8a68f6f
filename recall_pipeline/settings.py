"""Where the pipeline reads its inputs and writes its tables.

One data directory (data-contract.md) and one warehouse URL configure a run. Both come from the
environment so that `dagster dev`, the daemon and the `recall-audit` command agree; the command
line sets the same variables.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "RECALL_DATA_DIR"
WAREHOUSE_URL_ENV = "RECALL_WAREHOUSE_URL"
REPORTS_DIR_ENV = "RECALL_REPORTS_DIR"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_WAREHOUSE_FILE = DEFAULT_DATA_DIR / "warehouse.duckdb"


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).resolve()


def default_warehouse_url() -> str:
    return f"duckdb:///{DEFAULT_WAREHOUSE_FILE.resolve()}"


def warehouse_url() -> str:
    return os.environ.get(WAREHOUSE_URL_ENV) or default_warehouse_url()


def reports_dir() -> Path:
    """Where certificates are written (default data/reports)."""
    return Path(os.environ.get(REPORTS_DIR_ENV) or DEFAULT_DATA_DIR / "reports").resolve()
