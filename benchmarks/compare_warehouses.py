"""Compare every table two embedded warehouses publish, row for row (EXCEPT ALL both ways).

    python benchmarks/compare_warehouses.py OLD.duckdb NEW.duckdb

Used to show that a change to how tables are built or published leaves what they hold
unchanged: each table present in both files is compared on the columns both have, leaving out
the columns that name the run that wrote a row (its id, its time, its code versions, where its
certificate was written). Prints one line per table and exits 1 when any differs.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

# Columns that say which run wrote a row, not what the row says.
RUN_COLUMNS = {
    "run_id",
    "recorded_at",
    "ingested_at",
    "checked_at",
    "decided_at",
    "code_version",
    "html_path",
    "pdf_path",
    "html",
    "html_sha256",
    # The code's identity, derived from its content.
    "roll_version",
}
# Rows that name the code's version, not the data.
ROW_FILTERS = {"verdict_inputs": "input_name <> 'code'"}
# Tables that record runs themselves.
RUN_TABLES = {"run_manifest", "run_failures", "publications", "publication_tables"}


def relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = 'main' ORDER BY table_name, ordinal_position",
        [catalog],
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute(f"ATTACH '{args.old}' AS old (READ_ONLY)")
    con.execute(f"ATTACH '{args.new}' AS new (READ_ONLY)")
    old, new = relations(con, "old"), relations(con, "new")
    differing = 0
    for table in sorted(set(old) | set(new)):
        if table in RUN_TABLES or table.startswith("publication_"):
            continue
        if table not in old or table not in new:
            print(f"{table:<34} only in {'new' if table in new else 'old'}")
            differing += table in old
            continue
        columns = [c for c in old[table] if c in new[table] and c not in RUN_COLUMNS]
        cols = ", ".join(f'"{c}"' for c in columns)
        where = f" WHERE {ROW_FILTERS[table]}" if table in ROW_FILTERS else ""
        counts = []
        for a, b in (("old", "new"), ("new", "old")):
            (n,) = con.execute(
                f'SELECT count(*) FROM (SELECT {cols} FROM {a}.main."{table}"{where} '
                f'EXCEPT ALL SELECT {cols} FROM {b}.main."{table}"{where})'
            ).fetchone()
            counts.append(n)
        (rows,) = con.execute(f'SELECT count(*) FROM new.main."{table}"').fetchone()
        skipped = sorted(set(old[table]) ^ set(new[table]))
        status = (
            "identical" if counts == [0, 0] else f"DIFFERS old-new {counts[0]} new-old {counts[1]}"
        )
        extra = f"  (columns in one only: {', '.join(skipped)})" if skipped else ""
        print(f"{table:<34} {rows:>10,} rows  {status}{extra}")
        differing += counts != [0, 0]
    print(f"\n{differing} table(s) differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
