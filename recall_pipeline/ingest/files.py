"""Reading one input file into an Arrow table of text cells, with provenance.

Every cell is read as text: types are decided later by the quality rules, so that a bad value
sends its row to quarantine instead of failing the whole file or being coerced silently.
Files are read with Arrow's multithreaded CSV reader (or as Parquet), never row by row.
"""

from __future__ import annotations

import csv
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recall_pipeline.ingest.errors import StructuralError

SUPPORTED_SUFFIXES = (".csv", ".parquet")
UTF8_BOM = b"\xef\xbb\xbf"
SOURCE_ROW = "source_row"


@dataclass
class InvalidRow:
    """A row the parser could not split into the header's columns (e.g. truncated)."""

    source_row: int
    problem: str
    raw_text: str


@dataclass
class RawFile:
    path: Path
    relative_path: str
    sha256: str
    size_bytes: int
    # All cells as text (null = empty), plus `source_row`.
    table: pa.Table
    invalid_rows: list[InvalidRow] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.invalid_rows)


def list_input_files(directory: Path, pattern: str) -> list[Path]:
    return sorted(
        p for p in directory.glob(pattern) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def relative_to(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_input_file(
    path: Path, data_dir: Path, expected_columns: list[str], required_columns: list[str]
) -> RawFile:
    """Read `path`, check its shape and encoding, and return its cells as text.

    Raises StructuralError when the file as a whole cannot be ingested: unreadable, empty, not
    UTF-8, a repeated or missing required column in the header.
    """
    relative = relative_to(path, data_dir)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise StructuralError(relative, f"cannot read the file ({exc.strerror})") from exc
    digest = hashlib.sha256(content).hexdigest()
    if not content or content.isspace():
        raise StructuralError(relative, "the file is empty")
    if path.suffix.lower() == ".parquet":
        table, invalid = _read_parquet(content, relative), []
    else:
        table, invalid = _read_csv(content, relative)
    header = [c for c in table.column_names if c != SOURCE_ROW]
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise StructuralError(
            relative, f"required column(s) missing from the header: {', '.join(missing)}", row=None
        )
    extra = [c for c in header if c not in expected_columns]
    table = _conform_columns(table, expected_columns)
    return RawFile(
        path=path,
        relative_path=relative,
        sha256=digest,
        size_bytes=len(content),
        table=table,
        invalid_rows=invalid,
        extra_columns=extra,
    )


def _read_csv(content: bytes, relative: str) -> tuple[pa.Table, list[InvalidRow]]:
    if content.startswith(UTF8_BOM):
        content = content[len(UTF8_BOM) :]
    header = _csv_header(content, relative)
    try:
        table, invalid = _parse_csv(content, header, use_threads=True)
    except pa.ArrowInvalid:
        # Arrow validates UTF-8 as it converts, but cannot say where; find the byte and row.
        _check_utf8(content, relative)
        raise
    if invalid:
        # The threaded reader does not know where a bad row sits; read once more in order to
        # find out. Only files with bad rows pay for this.
        table, invalid = _parse_csv(content, header, use_threads=False)
    bad_rows = [row.source_row for row in invalid]
    total = table.num_rows + len(invalid)
    source_rows = pa.array(_rows_except(total, bad_rows), pa.int64())
    table = table.append_column(SOURCE_ROW, source_rows)
    return _blank_to_null(table), invalid


def _parse_csv(
    content: bytes, header: list[str], use_threads: bool
) -> tuple[pa.Table, list[InvalidRow]]:
    invalid: list[InvalidRow] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        # Arrow numbers records from 1 with the header as record 1.
        source_row = row.number - 1 if row.number is not None else -1
        problem = f"row has {row.actual_columns} field(s), the header has {row.expected_columns}"
        invalid.append(InvalidRow(source_row, problem, row.text))
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(content),
        read_options=pacsv.ReadOptions(use_threads=use_threads, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return table, invalid


def _csv_header(content: bytes, relative: str) -> list[str]:
    end = content.find(b"\n")
    first_line = content[: end if end >= 0 else len(content)].decode("utf-8").rstrip("\r")
    header = [name.strip() for name in next(csv.reader(io.StringIO(first_line)), [])]
    if not any(header):
        raise StructuralError(relative, "the file has no header row", row=None)
    repeated = sorted({n for n in header if header.count(n) > 1})
    if repeated:
        raise StructuralError(relative, f"column(s) repeated in the header: {', '.join(repeated)}")
    if "" in header:
        raise StructuralError(relative, "the header has an unnamed column")
    return header


def _check_utf8(content: bytes, relative: str) -> None:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise StructuralError(
            relative,
            f"not valid UTF-8 (byte offset {exc.start}); save the file as UTF-8",
            row=line - 1 if line > 1 else None,
        ) from exc


def _read_parquet(content: bytes, relative: str) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(content))
    except (pa.ArrowInvalid, OSError) as exc:
        raise StructuralError(relative, f"not a readable Parquet file ({exc})") from exc
    as_text = pa.table(
        {name: _as_text(table.column(name)) for name in table.column_names},
    )
    as_text = as_text.append_column(SOURCE_ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))
    return _blank_to_null(as_text)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.date32())
    return column.cast(pa.string())


def _blank_to_null(table: pa.Table) -> pa.Table:
    """Trim surrounding whitespace; a cell with nothing left is missing, as the contract says."""
    # Arrow's string kernels run on one core but release the GIL, so columns go in parallel.
    with ThreadPoolExecutor(max_workers=max(1, min(pa.cpu_count(), table.num_columns))) as pool:
        columns = list(pool.map(_trimmed, table.columns))
    return pa.table(columns, names=table.column_names)


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column
    column = pc.utf8_trim_whitespace(column)
    blank = pc.equal(column, "")
    # Rebuilding a string column costs far more than finding out it has no blank cell.
    if pc.any(blank).as_py():
        column = pc.if_else(blank, pa.scalar(None, pa.string()), column)
    return column


def _conform_columns(table: pa.Table, expected_columns: list[str]) -> pa.Table:
    """Keep the contract's columns in contract order; an absent optional column is all-missing."""
    columns = {}
    for name in expected_columns:
        if name in table.column_names:
            columns[name] = table.column(name)
        else:
            columns[name] = pa.nulls(table.num_rows, pa.string())
    columns[SOURCE_ROW] = table.column(SOURCE_ROW)
    return pa.table(columns)


def _rows_except(total: int, excluded: list[int]) -> np.ndarray:
    rows = np.arange(1, total + 1, dtype=np.int64)
    if excluded:
        rows = rows[~np.isin(rows, np.asarray(excluded, dtype=np.int64))]
    return rows
