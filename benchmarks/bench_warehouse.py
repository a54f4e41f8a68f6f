"""Publish/read throughput of recall_pipeline.warehouse on DuckDB and PostgreSQL.

Usage:
    .venv/bin/python benchmarks/bench_warehouse.py [--rows 2000000] [--duckdb-url URL]
        [--postgres-url URL] [--backend duckdb|postgresql ...]

Publishes a synthetic ~12-column Arrow table (every column type, some nulls, strings with
commas/quotes/unicode) and reads it back, printing rows/s. By default the DuckDB file goes to a
temporary directory and PostgreSQL uses database `recall_bench` on 127.0.0.1 (created if missing,
its table dropped afterwards).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.warehouse import Warehouse

BENCH_SCHEMA = TableSchema(
    name="bench_lines",
    columns=(
        Column("line_id", "integer", nullable=False),
        Column("petition_id", "string", nullable=False),
        Column("voter_id", "string"),
        Column("full_name", "string"),
        Column("address", "string"),
        Column("page", "integer"),
        Column("score", "float"),
        Column("is_valid", "boolean"),
        Column("signed_on", "date"),
        Column("verified_at", "timestamp"),
        Column("reason", "string"),
        Column("weight", "float"),
    ),
    primary_key=("line_id",),
)


def make_table(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(rows, dtype=np.int64)
    ids_str = pc.cast(pa.array(ids), pa.string())
    null_mask = pa.array(rng.random(rows) < 0.05)
    reasons = pa.array(["ok", "signature, mismatch", 'quoted "name"', "Zoë Ñúñez", None]).take(
        pa.array(rng.integers(0, 5, rows))
    )
    return pa.table(
        {
            "line_id": ids,
            "petition_id": pc.binary_join_element_wise(
                "P-", pc.cast(pa.array(ids // 50), pa.string()), ""
            ),
            "voter_id": pc.if_else(
                null_mask,
                pa.scalar(None, pa.string()),
                pc.binary_join_element_wise("V", ids_str, ""),
            ),
            "full_name": pc.binary_join_element_wise("Voter ", ids_str, ", Jr.", ""),
            "address": pc.binary_join_element_wise(ids_str, " Main St, Springfield", ""),
            "page": ids // 20,
            "score": rng.random(rows),
            "is_valid": pa.array(rng.random(rows) < 0.8),
            "signed_on": pa.array(18000 + ids % 1000, pa.int32()).cast(pa.date32()),
            "verified_at": pa.array(1_700_000_000_000_000 + ids * 1_000_003, pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "reason": reasons,
            "weight": pc.if_else(
                null_mask, pa.scalar(None, pa.float64()), pa.array(rng.normal(size=rows))
            ),
        }
    )


def bench(url: str, data: pa.Table) -> None:
    wh = Warehouse(url)
    try:
        rows = data.num_rows
        t0 = time.perf_counter()
        wh.publish(BENCH_SCHEMA, data)
        t_pub = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = wh.read(BENCH_SCHEMA.name)
        t_read = time.perf_counter() - t0
        assert back.num_rows == rows
        print(
            f"{wh.dialect:>10}: publish {rows:,} rows in {t_pub:6.2f}s"
            f" = {rows / t_pub:>12,.0f} rows/s"
            f" | read in {t_read:6.2f}s = {rows / t_read:>12,.0f} rows/s"
        )
        wh.execute(f"DROP TABLE {wh.engine.dialect.identifier_preparer.quote(BENCH_SCHEMA.name)}")
    finally:
        wh.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--duckdb-url")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1/recall_bench"
    )
    parser.add_argument("--backend", action="append", choices=["duckdb", "postgresql"])
    args = parser.parse_args()
    backends = args.backend or ["duckdb", "postgresql"]
    t0 = time.perf_counter()
    data = make_table(args.rows)
    print(
        f"generated {data.num_rows:,} rows x {data.num_columns} columns "
        f"({data.nbytes / 1e6:,.0f} MB in Arrow) in {time.perf_counter() - t0:.2f}s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if "duckdb" in backends:
            bench(args.duckdb_url or f"duckdb:///{Path(tmp) / 'bench.duckdb'}", data)
        if "postgresql" in backends:
            bench(args.postgres_url, data)


if __name__ == "__main__":
    main()
