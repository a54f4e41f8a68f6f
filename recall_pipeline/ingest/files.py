"""Reading one input file into an Arrow table of text cells, with provenance.

Every cell is read as text: types are decided later by the quality rules, so that a bad value
sends its row to quarantine instead of failing the whole file or being coerced silently.

A CSV file's records are its physical lines. A strict pass over the bytes finds every line
first (LF or CRLF; a file that ends its lines with CR alone is read as if they were LF), so
that what a file holds is counted from its bytes, never from what a parser made of them:

- `source_row` is the physical line number, the header being line 1 (in a Parquet file, the
  1-based record number);
- a blank line is counted (`RawFile.blank_lines`) and holds no record;
- a line whose quotes do not close on it, or that holds a control character (NUL, a lone CR,
  ...), is quarantined on its own with the problem; the lines after it are read as usual. So a
  value may not span lines: a line break inside quotes quarantines both halves.

The lines that pass go to Arrow's multithreaded CSV reader, which must give one record per
line; if it does not, the file is read again line by line with Python's `csv` module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
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
    # What the strict pass counted in the bytes: every line (the header's included; in a
    # Parquet file, its records) and the blank ones among them.
    physical_lines: int = 0
    blank_lines: int = 0
    header_lines: int = 0
    # Why the file was listed but not read (another extension); None for a file read.
    ignored: str | None = None

    @property
    def rows_read(self) -> int:
        """The data records the file's bytes hold: its lines less the header and blank ones
        (each must end accepted or quarantined)."""
        return self.physical_lines - self.header_lines - self.blank_lines


@dataclass(frozen=True)
class Listing:
    """An input's entries in a folder: the files to read, and the regular files of another
    kind (a note, a spreadsheet) that are listed as ignored."""

    files: list[Path]
    ignored: list[Path]


def list_input_files(
    directory: Path, pattern: str, data_dir: Path, folders: Collection[str] = ()
) -> Listing:
    """The entries of `directory` that `pattern` names. Each must be a regular file inside the
    data directory, or a folder of another input (`folders`, relative to `directory`): a link
    to nothing or out of the data directory, any other folder, a named pipe, a socket or a
    device stops the run, by name. A file of another extension is ignored (and listed)."""
    files, ignored = [], []
    root = data_dir.resolve()
    for path in sorted(directory.glob(pattern)):
        relative = relative_to(path, data_dir)
        problem = _not_a_file(path, root)
        if problem == "a folder" and path.relative_to(directory).as_posix() in folders:
            continue
        if problem:
            raise StructuralError(relative, f"{problem}, not a regular file; remove it or fix it")
        (files if path.suffix.lower() in SUPPORTED_SUFFIXES else ignored).append(path)
    return Listing(files, ignored)


def _not_a_file(path: Path, root: Path) -> str | None:
    """What `path` is if it is not a regular file inside `root` (None if it is)."""
    target = path.resolve()
    if path.is_symlink() and not path.exists():
        return f"a link to nothing ({os.readlink(path)})"
    if not target.is_relative_to(root):
        return "a link to a file outside the data directory"
    mode = target.stat().st_mode
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a file"


def relative_to(path: Path, root: Path) -> str:
    """`path` relative to `root`, as the path names it: a link keeps its own name."""
    try:
        return (path.parent.resolve() / path.name).relative_to(root.resolve()).as_posix()
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
        lines = Lines(physical=table.num_rows, blank=0, header=0)
    else:
        table, invalid, lines = _read_csv(content, relative)
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
        physical_lines=lines.physical,
        blank_lines=lines.blank,
        header_lines=lines.header,
    )


@dataclass(frozen=True)
class Lines:
    """What the strict pass counted: lines in the file, blank lines, header lines."""

    physical: int
    blank: int
    header: int


# Bytes no text field holds: C0 controls but TAB, LF and CR (a CR is allowed only before an LF),
# and DEL.
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[[*range(0, 9), 11, 12, *range(14, 32), 127]] = True
_QUOTE, _LF, _CR = 34, 10, 13


def ignored_file(path: Path, data_dir: Path, expected_columns: list[str]) -> RawFile:
    """A file in an input's folder that is not CSV or Parquet: hashed and listed, not read."""
    content = path.read_bytes()
    empty = {name: pa.array([], pa.string()) for name in expected_columns}
    return RawFile(
        path=path,
        relative_path=relative_to(path, data_dir),
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        table=pa.table({**empty, SOURCE_ROW: pa.array([], pa.int64())}),
        ignored=f"not a {' or '.join(s.lstrip('.').upper() for s in SUPPORTED_SUFFIXES)} file",
    )


def _read_csv(content: bytes, relative: str) -> tuple[pa.Table, list[InvalidRow], Lines]:
    _check_not_utf16(content, relative)
    if content.startswith(UTF8_BOM):
        content = content[len(UTF8_BOM) :]
    if b"\n" not in content and b"\r" in content:
        content = content.replace(b"\r", b"\n")
    data = np.frombuffer(content, dtype=np.uint8)
    starts, ends = _line_spans(data)
    if len(starts) == 0:
        raise StructuralError(relative, "the file has no header row", row=None)
    problems = _line_problems(data, starts, ends)
    if 0 in problems:
        raise StructuralError(relative, f"the header line {problems[0]}", row=None)
    header = _csv_header(content[starts[0] : ends[0]], relative)
    blank = _blank(content, starts, ends)
    blank[0] = False
    invalid = [
        InvalidRow(int(i) + 1, f"the line {problem}", _shown(content[starts[i] : ends[i]]))
        for i, problem in sorted(problems.items())
        if not blank[i]
    ]
    keep = ~blank
    keep[[row.source_row - 1 for row in invalid]] = False
    keep[0] = False
    kept = np.flatnonzero(keep)
    body = _lines_of(content, starts, ends, kept)
    try:
        table, bad = _parse_csv(body, header, kept, use_threads=True)
        if bad:
            # The threaded reader does not say where a bad row sits; read once more in order
            # to find out. Only files with bad rows pay for this.
            table, bad = _parse_csv(body, header, kept, use_threads=False)
    except pa.ArrowInvalid:
        # Arrow validates UTF-8 as it converts, but cannot say where; find the byte and row.
        _check_utf8(content, relative)
        table, bad = None, []
    if table is None or table.num_rows + len(bad) != len(kept):
        # Arrow read some line as more or less than one record: read each line on its own.
        table, bad = _parse_lines(content, starts, ends, kept, header)
    invalid = sorted([*invalid, *bad], key=lambda row: row.source_row)
    lines = Lines(physical=len(starts), blank=int(blank.sum()), header=1)
    return _blank_to_null(table), invalid, lines


def _line_spans(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each physical line's first byte and the byte after its text (its LF and a CR before
    the LF left out). A last line without an LF is a line; nothing after a final LF is."""
    breaks = np.flatnonzero(data == _LF)
    starts = np.concatenate([[0], breaks + 1]).astype(np.int64)
    ends = np.concatenate([breaks, [len(data)]]).astype(np.int64)
    if starts[-1] == len(data):
        starts, ends = starts[:-1], ends[:-1]
    carriage = (ends > starts) & (data[np.maximum(ends - 1, 0)] == _CR)
    return starts, ends - carriage


def _line_problems(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> dict[int, str]:
    """Line index → what is wrong with it: a control character, or a quote that does not
    close on the line (an odd number of quote characters: a doubled quote inside a quoted value
    counts two). A county export may quote every value — tens of millions of quotes — so the
    quotes are never listed, only their parity per line taken."""
    problems: dict[int, str] = {}
    # Bytes below 32 are mostly line ends: listed (one per line), then the few others kept.
    suspects = np.flatnonzero(data < 32)
    values = data[suspects]
    suspects = suspects[_CONTROL[values] | (values == _CR)]
    suspects = np.concatenate([suspects, np.flatnonzero(data == 127)])
    line = np.searchsorted(starts, suspects, side="right") - 1
    # The CR of a CRLF ending lies outside its line's span.
    inside = (line >= 0) & (suspects < ends[np.maximum(line, 0)])
    for at, i in zip(suspects[inside].tolist(), line[inside].tolist(), strict=True):
        if i not in problems:
            problems[i] = (
                f"holds a control character (byte 0x{data[at]:02X} at column {at - starts[i] + 1})"
            )
    quotes = (data == _QUOTE).view(np.uint8)
    odd = np.bitwise_xor.reduceat(quotes, starts) if len(starts) else quotes[:0]
    for i in np.flatnonzero(odd).tolist():
        problems.setdefault(
            i, "opens a quoted value it does not close (a value may not span lines)"
        )
    return problems


def _blank(content: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each line is empty or only spaces and tabs."""
    blank = ends == starts
    data = np.frombuffer(content, dtype=np.uint8)
    spaced = np.flatnonzero(
        (ends > starts) & np.isin(data[np.minimum(starts, len(data) - 1)], (9, 32))
    )
    for i in spaced.tolist():
        blank[i] = content[starts[i] : ends[i]].strip(b" \t") == b""
    return blank


def _lines_of(content: bytes, starts: np.ndarray, ends: np.ndarray, kept: np.ndarray) -> bytes:
    """The header and the `kept` lines, one per LF-ended line: a clean file as it is, else
    runs of consecutive lines copied whole."""
    if len(kept) == len(starts) - 1:
        return content if content.endswith(b"\n") else content + b"\n"
    header = content[starts[0] : ends[0]] + b"\n"
    if len(kept) == 0:
        return header
    cuts = np.flatnonzero(np.diff(kept) != 1) + 1
    parts = [header]
    for run in np.split(kept, cuts):
        first, last = int(run[0]), int(run[-1])
        stop = int(starts[last + 1]) if last + 1 < len(starts) else len(content)
        chunk = content[int(starts[first]) : stop]
        parts.append(chunk if chunk.endswith(b"\n") else chunk + b"\n")
    return b"".join(parts)


def _shown(raw: bytes) -> str:
    """A quarantined line's text as it can be stored: control characters written as \\xNN."""
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)


def _parse_csv(
    content: bytes, header: list[str], lines: np.ndarray, use_threads: bool
) -> tuple[pa.Table, list[InvalidRow]]:
    """Arrow's reading of `content` (the header and one record per line); `lines` holds each
    record's line index in the file."""
    invalid: list[InvalidRow] = []
    bad_records: list[int] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        # Arrow numbers records from 1 with the header as record 1.
        record = row.number - 2 if row.number is not None else -1
        problem = f"row has {row.actual_columns} field(s), the header has {row.expected_columns}"
        line = int(lines[record]) + 1 if 0 <= record < len(lines) else -1
        invalid.append(InvalidRow(line, problem, _shown(row.text.encode())))
        bad_records.append(record)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(content),
        read_options=pacsv.ReadOptions(use_threads=use_threads, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    good = np.ones(len(lines), dtype=bool)
    good[[r for r in bad_records if r >= 0]] = False
    rows = pa.array(lines[good] + 1, pa.int64())
    if len(rows) == table.num_rows:
        table = table.append_column(SOURCE_ROW, rows)
    return table, invalid


def _parse_lines(
    content: bytes, starts: np.ndarray, ends: np.ndarray, kept: np.ndarray, header: list[str]
) -> tuple[pa.Table, list[InvalidRow]]:
    """Each kept line read on its own by Python's `csv` module (strict quoting): slower, and
    only for a file Arrow could not read one record per line."""
    cells: list[list[str | None]] = [[] for _ in header]
    rows: list[int] = []
    invalid: list[InvalidRow] = []
    for i in kept.tolist():
        raw = content[starts[i] : ends[i]]
        try:
            text = raw.decode("utf-8")
            fields = next(csv.reader([text], strict=True))
        except UnicodeDecodeError as exc:
            problem = f"the line is not valid UTF-8 (byte 0x{raw[exc.start]:02X})"
            invalid.append(InvalidRow(i + 1, problem, _shown(raw)))
            continue
        except csv.Error as exc:
            invalid.append(InvalidRow(i + 1, f"the line is not valid CSV ({exc})", _shown(raw)))
            continue
        if len(fields) != len(header):
            problem = f"row has {len(fields)} field(s), the header has {len(header)}"
            invalid.append(InvalidRow(i + 1, problem, _shown(raw)))
            continue
        for column, value in zip(cells, fields, strict=True):
            column.append(value if value != "" else None)
        rows.append(i + 1)
    table = pa.table(
        {**{name: pa.array(c, pa.string()) for name, c in zip(header, cells, strict=True)}}
    )
    return table.append_column(SOURCE_ROW, pa.array(rows, pa.int64())), invalid


def _csv_header(line: bytes, relative: str) -> list[str]:
    try:
        first_line = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StructuralError(relative, _not_utf8(line, exc.start), row=None) from exc
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
        raise StructuralError(relative, _not_utf8(content, exc.start), row=line) from exc


def _not_utf8(content: bytes, offset: int) -> str:
    """The problem of a file that is not UTF-8, with the encoding it looks like."""
    guess = charset_normalizer.from_bytes(content[: 1 << 20]).best()
    looks = f", it looks like {guess.encoding}" if guess and guess.encoding != "utf_8" else ""
    return f"not valid UTF-8 (byte offset {offset}{looks}); save the file as UTF-8"


def _alternating_nuls(head: bytes) -> bool:
    """Whether the bytes look like UTF-16 text without its BOM: a NUL in (nearly) every other
    byte and (nearly) none between them, as Latin text is encoded. A file with NULs here and
    there is text with bad lines, quarantined one by one."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    for nuls, others in ((odd, even), (even, odd)):
        if nuls.count(0) >= 0.9 * len(nuls) and others.count(0) <= 0.1 * len(others):
            return True
    return False


def _check_not_utf16(content: bytes, relative: str) -> None:
    """UTF-16 (and UTF-32) text holds a NUL in every other character: it is refused as a whole,
    by name, instead of line by line as control characters."""
    boms = {
        b"\xff\xfe\x00\x00": "UTF-32 (little-endian)",
        b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
        b"\xff\xfe": "UTF-16 (little-endian)",
        b"\xfe\xff": "UTF-16 (big-endian)",
    }
    name = next((n for bom, n in boms.items() if content.startswith(bom)), None)
    if name is None and _alternating_nuls(content[:4096]):
        name = "UTF-16 (NUL bytes between the characters)"
    if name is None:
        return
    raise StructuralError(relative, f"the file is encoded as {name}; save it as UTF-8", row=None)


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
