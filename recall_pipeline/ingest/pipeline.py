"""Ingesting one input of the contract: every file read, checked, split and typed.

Each input row ends in exactly one place — the input's table or `quarantined_rows` — and the
per-file ledger (`ingested_files`) records how many rows were read, accepted and quarantined, so
conservation can be proved against what the warehouse holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.contract import (
    INPUTS,
    PETITION_FILE,
    PETITIONS_DIR,
    PROVENANCE_COLUMNS,
    InputSpec,
)
from recall_pipeline.ingest.errors import StructuralError
from recall_pipeline.ingest.files import (
    SOURCE_ROW,
    RawFile,
    ignored_file,
    list_input_files,
    read_input_file,
    relative_to,
)
from recall_pipeline.ingest.petition_config import (
    PetitionConfig,
    bases_json,
    load_petition_config,
)
from recall_pipeline.ingest.quality import (
    Lookup,
    RuleOutcome,
    key_as_typed,
    parse_dates,
    rules_for,
    validate,
)
from recall_pipeline.tables import (
    INPUT_NAME,
    JURISDICTION_CODE,
    PETITION_ID,
    PETITION_ID_OF_FILE,
    SOURCE_FILE,
    SOURCE_SHA256,
    Column,
    TableSchema,
)
from recall_pipeline.warehouse import Warehouse

# Where an input row came from, in the tables that speak of rows of any input.
_ROW_ORIGIN = (INPUT_NAME, PETITION_ID_OF_FILE, *PROVENANCE_COLUMNS)
_RECORD_KEY = Column(
    "record_key",
    "string",
    True,
    "the row's identifying columns as column=value (never personal data); empty when the row "
    "could not be split into cells",
)

QUARANTINED_ROWS = TableSchema(
    name="quarantined_rows",
    description=(
        "Input rows kept out of verification, each with the file, row and reason: one row per "
        "input row set aside (a row that broke a rule, or a line the reader could not split)."
    ),
    columns=(
        *_ROW_ORIGIN,
        Column("reason", "string", False, "every rule the row broke, '; '-separated"),
        _RECORD_KEY,
        Column(
            "raw_record",
            "string",
            False,
            "the row's cells as JSON, or the raw line text (may hold personal data: read access "
            "as to the inputs)",
        ),
    ),
    primary_key=("input_name", "source_file", "source_row"),
)

NULLED_VALUES = TableSchema(
    name="nulled_values",
    description=(
        "Values set to missing at ingestion, their rows kept: a bad value in a column no rule "
        "of verification reads (a registration's birth date), with the rule it broke. One row "
        "per value and rule (a value may break two rules of its column)."
    ),
    columns=(
        *_ROW_ORIGIN,
        Column("column_name", "string", False, "the column whose value was set to missing"),
        Column("problem", "string", False, "the rule the value broke"),
        _RECORD_KEY,
    ),
    primary_key=("input_name", "source_file", "source_row", "column_name", "problem"),
)

INGESTED_FILES = TableSchema(
    name="ingested_files",
    description=(
        "Ledger of every input file ingested: hash, size and row accounting. One row per file "
        "of each input, the files in an input's folder that were not read included."
    ),
    columns=(
        INPUT_NAME,
        PETITION_ID_OF_FILE,
        SOURCE_FILE,
        SOURCE_SHA256,
        Column("size_bytes", "integer", False, "the file's size in bytes"),
        Column(
            "physical_lines",
            "integer",
            False,
            "lines in the file as its bytes hold them, the header's included (Parquet: records)",
        ),
        Column("header_lines", "integer", False, "1 for CSV, 0 for Parquet"),
        Column("blank_lines", "integer", False, "empty lines (or only spaces): no record"),
        Column("rows_read", "integer", False, "physical_lines - header_lines - blank_lines"),
        Column("rows_accepted", "integer", False, "rows published to the input's table"),
        Column("rows_quarantined", "integer", False, "rows set aside in quarantined_rows"),
        Column("extra_columns", "string", True, "columns outside the contract, ignored"),
        Column(
            "ignored",
            "string",
            True,
            "why a file in an input's folder was not read (not CSV or Parquet); empty if read",
        ),
    ),
    primary_key=("input_name", "source_file"),
)

EXPECTATION_RESULTS = TableSchema(
    name="expectation_results",
    description=(
        "Each input file's data-quality rules and how many of its rows broke each, from the run "
        "that last ingested the file. One row per file and rule."
    ),
    columns=(
        INPUT_NAME,
        SOURCE_FILE,
        Column("rule_id", "string", False, "column.rule, e.g. zip.format"),
        Column("problem", "string", False, "what a failing row is quarantined (or rejected) for"),
        Column("engine", "string", False, "great_expectations, or arrow for the calendar check"),
        Column("structural", "boolean", False, "a failure stops the run instead of quarantining"),
        Column("rows_evaluated", "integer", False, "rows of the file the rule was checked on"),
        Column("rows_failing", "integer", False, "of those, the rows that broke it"),
    ),
    primary_key=("input_name", "source_file", "rule_id"),
)

PETITIONS = TableSchema(
    name="petitions",
    description="Each petition's settings from petition.yaml, with their hash. One row per "
    "petition folder.",
    columns=(
        PETITION_ID,
        Column(
            "kind",
            "string",
            False,
            "local_recall, state_recall or initiative: selects the statutory defaults",
        ),
        JURISDICTION_CODE,
        Column("target", "string", False, "the office (or measure) the petition is about"),
        Column("approved_for_circulation", "date", False, "when circulation was approved"),
        Column("filed_date", "date", False, "when the petition was filed"),
        Column(
            "registered_voters_basis",
            "integer",
            False,
            "registered voters in the last report before approval: the requirement's basis",
        ),
        Column("basis_report_date", "date", False, "the date of that report of registration"),
        Column(
            "threshold_percent",
            "float",
            True,
            "the percent of the basis required; empty: the Elections Code's table (EC 11221)",
        ),
        Column(
            "verification_method",
            "string",
            False,
            "full_count, random_sample or auto (a sample, then a full count within its band)",
        ),
        Column("sample_seed", "integer", False, "the seed the random sample is drawn with"),
        Column(
            "sufficient_when",
            "string",
            False,
            "greater_than or at_least: how the valid count must compare with the requirement",
        ),
        Column(
            "registration_cutoff",
            "string",
            False,
            "filed_date or signing_date: the day a signer must have been registered by",
        ),
        Column(
            "duplicates_keep",
            "string",
            False,
            "earliest or latest: which of a voter's valid lines counts",
        ),
        Column(
            "unreviewed_signatures",
            "string",
            False,
            "presume_valid or pending: the verdict of a line whose signature no examiner reviewed",
        ),
        Column(
            "alternative_bases",
            "string",
            False,
            "other counts of registered voters to compare the requirement against, as JSON: a "
            "list of {name, registered_voters, as_of, source} in the file's order ([] for none); "
            "requirement_bases shows each one's requirement",
        ),
        Column(
            "examination_started",
            "date",
            True,
            "when the proponents' examination began (EC 11301); it ends within 60 days "
            "(SB 1441). Empty until it has begun",
        ),
        Column(
            "settings_sha256",
            "string",
            False,
            "SHA-256 of the settings as read (canonical JSON), not of the file's bytes",
        ),
        SOURCE_FILE,
        SOURCE_SHA256,
    ),
    primary_key=("petition_id",),
)


@dataclass
class IngestResult:
    spec: InputSpec
    accepted: pa.Table
    quarantined: pa.Table
    files: pa.Table
    outcomes: list[RuleOutcome] = field(default_factory=list)
    # Values set to missing in rows kept (NULLED_VALUES rows).
    nulled: pa.Table | None = None
    # Problems that are not rule failures (rows the parser could not split), by reason.
    parse_failures: dict[str, int] = field(default_factory=dict)
    # Each validated row's file, as its position in `files`, in the order the rules saw them.
    row_files: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def rows_read(self) -> int:
        return int(pc.sum(self.files.column("rows_read")).as_py() or 0)

    def expectation_results(self) -> pa.Table:
        """One row per file and rule (a file's rows are validated together with the rest of
        the input, and counted back to their file)."""
        files = self.files.column("source_file").to_pylist()
        evaluated = np.bincount(self.row_files, minlength=len(files))
        rows = []
        for o in self.outcomes:
            failing = np.bincount(self.row_files[o.failing_positions], minlength=len(files))
            for i, file in enumerate(files):
                rows.append(
                    {
                        "input_name": self.spec.name,
                        "source_file": file,
                        "rule_id": o.rule.rule_id,
                        "problem": o.rule.problem,
                        "engine": o.rule.engine,
                        "structural": o.rule.structural,
                        "rows_evaluated": int(evaluated[i]),
                        "rows_failing": int(failing[i]),
                    }
                )
        return pa.Table.from_pylist(rows, schema=EXPECTATION_RESULTS.arrow_schema())

    def content_version(self) -> str:
        """A version of what this input holds: the hash of its files' hashes, in order."""
        digests = sorted(
            zip(
                self.files.column("source_file").to_pylist(),
                self.files.column("source_sha256").to_pylist(),
                strict=True,
            )
        )
        return hashlib.sha256(json.dumps(digests).encode()).hexdigest()


def petition_folders(data_dir: Path) -> list[Path]:
    root = data_dir / PETITIONS_DIR
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def load_petitions(data_dir: Path) -> list[tuple[PetitionConfig, str, str]]:
    """Every petition's validated settings with its file's relative path and SHA-256."""
    loaded = []
    for folder in petition_folders(data_dir):
        path = folder / PETITION_FILE
        relative = relative_to(path, data_dir)
        if not path.is_file():
            raise StructuralError(relative, f"petition folder has no {PETITION_FILE}")
        config = load_petition_config(path, relative, folder.name)
        loaded.append((config, relative, hashlib.sha256(path.read_bytes()).hexdigest()))
    if not loaded:
        raise StructuralError(f"{PETITIONS_DIR}/", "no petition folders found")
    return loaded


def petitions_table(loaded: list[tuple[PetitionConfig, str, str]]) -> pa.Table:
    rows = []
    for config, relative, digest in loaded:
        row = {c: getattr(config, c, None) for c in PETITIONS.column_names}
        row.update(
            alternative_bases=bases_json(config.alternative_bases),
            settings_sha256=config.settings_sha256(),
            source_file=relative,
            source_sha256=digest,
        )
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=PETITIONS.arrow_schema())


def ingest_input(
    spec: InputSpec, data_dir: Path, only: set[str] | None = None, lookup: Lookup | None = None
) -> IngestResult:
    """Read every file of `spec` (or `only` those relative paths), run its rules, and split
    rows into accepted and quarantined. `lookup` answers whether values name rows of the inputs
    `spec` refers to (`published_lookup`); an input referring to none needs no lookup."""
    # The first ingest in a process also loads Great Expectations: seconds of imports on one
    # core, run beside the file reads, which spend their time in Arrow without the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        rules = pool.submit(rules_for, spec)
        raw_files = _read_all(spec, data_dir, only)
        combined = _combine(spec, raw_files)
        outcomes = validate(spec, combined, rules.result(), lookup)
    _raise_structural(spec, combined, outcomes)
    reasons = _row_reasons([o for o in outcomes if not _informational(spec, o)])
    quarantine_mask = np.zeros(combined.num_rows, dtype=bool)
    quarantine_mask[list(reasons)] = True
    # A bad value no rule of verification reads costs the value, not the row (a quarantined
    # row lists it among its reasons all the same).
    all_reasons = _row_reasons(outcomes)
    reasons = {position: all_reasons[position] for position in reasons}
    combined, nulled = _null_informational(spec, combined, outcomes, quarantine_mask)
    # Filtering copies every cell; a clean input (the usual case) is accepted as it is.
    kept = combined.filter(pa.array(~quarantine_mask)) if reasons else combined
    accepted = _typed(spec, kept)
    quarantined = _quarantine_rows(spec, combined, quarantine_mask, reasons, raw_files)
    parse_failures: dict[str, int] = {}
    for _, raw in raw_files:
        for row in raw.invalid_rows:
            # Counted by kind: the details (a byte, a column, field counts) stay in quarantine.
            kind = row.problem.split(" (")[0]
            parse_failures[kind] = parse_failures.get(kind, 0) + 1
    return IngestResult(
        spec=spec,
        accepted=accepted,
        quarantined=quarantined,
        files=_ledger(spec, raw_files, accepted, quarantined),
        outcomes=outcomes,
        nulled=nulled,
        parse_failures=parse_failures,
        row_files=np.repeat(
            np.arange(len(raw_files)), [raw.table.num_rows for _, raw in raw_files]
        ),
    )


def published_lookup(open_store: Callable[[], Warehouse]) -> Lookup:
    """A lookup of values among the published rows of an input (its warehouse table), each
    answered on a warehouse `open_store()` opens and disposes of."""

    def known(table: str, column: str, values: list[str]) -> set[str]:
        store = open_store()
        try:
            if not store.table_exists(table):
                raise StructuralError(
                    table, f"not published yet: the rows naming its {column} cannot be checked"
                )
            found = store.read(table, columns=[column], where={column: values})
            return set(found.column(column).to_pylist())
        finally:
            store.dispose()

    return known


def _read_all(
    spec: InputSpec, data_dir: Path, only: set[str] | None = None
) -> list[tuple[str | None, RawFile]]:
    if spec.per_petition:
        folders = [(folder.name, folder) for folder in petition_folders(data_dir)]
    else:
        folders = [(None, data_dir)]
    # A folder another input reads (voter_roll/address_history under voter_roll/*) is no
    # stray entry.
    own_folders = {
        PurePosixPath(s.pattern).parent.as_posix()
        for s in INPUTS
        if s.per_petition == spec.per_petition
    }
    wanted, ignored = [], []
    for petition_id, folder in folders:
        listing = list_input_files(folder, spec.pattern, data_dir, own_folders)
        paths = listing.files
        ignored += [
            (petition_id, path)
            for path in listing.ignored
            if only is None or relative_to(path, data_dir) in only
        ]
        if not paths and not spec.optional:
            where = relative_to(folder, data_dir) if petition_id else "the data directory"
            raise StructuralError(
                f"{where}/{spec.pattern}" if petition_id else spec.pattern,
                f"no input files for {spec.name} in {where}",
            )
        for path in paths:
            if only is None or relative_to(path, data_dir) in only:
                wanted.append((petition_id, path))

    def read(path: Path) -> RawFile:
        return read_input_file(path, data_dir, spec.field_names, spec.required_columns)

    # Two files at a time: hashing a file and tidying its columns run on one thread each, so
    # a roll delivered in parts keeps both cores busy. The first file in order that fails is
    # the one reported.
    with ThreadPoolExecutor(max_workers=2) as pool:
        raws = list(pool.map(read, [path for _, path in wanted]))
    skipped = [(pid, ignored_file(path, data_dir, spec.field_names)) for pid, path in ignored]
    return [
        (petition_id, raw) for (petition_id, _), raw in zip(wanted, raws, strict=True)
    ] + skipped


def _combine(spec: InputSpec, raw_files: list[tuple[str | None, RawFile]]) -> pa.Table:
    """One text table over every file, carrying its provenance columns."""
    parts = []
    for petition_id, raw in raw_files:
        table = raw.table
        n = table.num_rows
        if spec.per_petition:
            table = table.add_column(0, "petition_id", _repeat(petition_id, n))
        table = table.append_column("source_file", _repeat(raw.relative_path, n))
        table = table.append_column("source_sha256", _repeat(raw.sha256, n))
        parts.append(table)
    if not parts:
        columns = (["petition_id"] if spec.per_petition else []) + spec.field_names
        empty = {c: pa.array([], pa.string()) for c in columns}
        empty[SOURCE_ROW] = pa.array([], pa.int64())
        empty["source_file"] = pa.array([], pa.string())
        empty["source_sha256"] = pa.array([], pa.string())
        return pa.table(empty)
    return pa.concat_tables(parts)


def _repeat(value: str, n: int) -> pa.Array:
    # A one-entry dictionary: the rules never read these columns, so the text (a 64-character
    # hash on each of millions of roll rows: hundreds of MB) is only spelled out for the rows
    # accepted, when they are typed for the warehouse.
    indices = pa.array(np.zeros(n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))


def _raise_structural(spec: InputSpec, combined: pa.Table, outcomes: list[RuleOutcome]) -> None:
    for outcome in outcomes:
        if not outcome.rule.structural or outcome.success:
            continue
        positions = outcome.failing_positions
        files = combined.column("source_file").take(positions).to_pylist()
        rows = combined.column(SOURCE_ROW).take(positions).to_pylist()
        as_typed = key_as_typed(spec, combined.select(list(outcome.rule.columns)))
        keys = [as_typed.column(c).take(positions).to_pylist() for c in outcome.rule.columns]
        key_text = [
            ", ".join(f"{c}={v}" for c, v in zip(outcome.rule.columns, vals, strict=True))
            for vals in zip(*keys, strict=True)
        ]
        groups: dict[str, list[str]] = {}
        for key, file, row in zip(key_text, files, rows, strict=True):
            groups.setdefault(key, []).append(f"{file} row {row}")
        listing = "; ".join(f"{k} at {' and '.join(v)}" for k, v in list(groups.items())[:5])
        more = f" (and {len(groups) - 5} more)" if len(groups) > 5 else ""
        raise StructuralError(
            files[0],
            f"{'+'.join(outcome.rule.columns)} must be unique in {spec.name}, but "
            f"{len(groups)} value(s) repeat: {listing}{more}",
            row=rows[0],
        )


def _informational(spec: InputSpec, outcome: RuleOutcome) -> bool:
    """Whether a rule concerns only values no rule of verification reads (and names no row
    of another input: a reference decides who a row is about)."""
    rule = outcome.rule
    names = set(spec.field_names)
    return (
        not rule.structural
        and rule.references is None
        and all(c in names and spec.field(c).informational for c in rule.columns)
    )


def _null_informational(
    spec: InputSpec, combined: pa.Table, outcomes: list[RuleOutcome], quarantined: np.ndarray
) -> tuple[pa.Table, pa.Table]:
    """`combined` with the values broken by informational rules set to missing in the rows
    kept, and a NULLED_VALUES row for each."""
    rows: dict[str, list] = {name: [] for name in NULLED_VALUES.column_names}
    for outcome in outcomes:
        if not _informational(spec, outcome) or outcome.success:
            continue
        positions = outcome.failing_positions[~quarantined[outcome.failing_positions]]
        if positions.size == 0:
            continue
        taken = combined.take(pa.array(positions))
        keys = _record_key(spec, taken)
        for column in outcome.rule.columns:
            mask = np.zeros(combined.num_rows, dtype=bool)
            mask[positions] = True
            index = combined.column_names.index(column)
            values = combined.column(column)
            nulled_column = pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)
            combined = combined.set_column(index, column, nulled_column)
            n = positions.size
            rows["input_name"] += [spec.name] * n
            rows["petition_id"] += (
                taken.column("petition_id").to_pylist() if spec.per_petition else [None] * n
            )
            rows["source_file"] += taken.column("source_file").cast(pa.string()).to_pylist()
            rows["source_row"] += taken.column(SOURCE_ROW).to_pylist()
            rows["source_sha256"] += taken.column("source_sha256").cast(pa.string()).to_pylist()
            rows["column_name"] += [column] * n
            rows["problem"] += [outcome.rule.problem] * n
            rows["record_key"] += keys
    return combined, pa.table(rows, schema=NULLED_VALUES.arrow_schema())


def _row_reasons(outcomes: list[RuleOutcome]) -> dict[int, str]:
    """Position of each failing row → every rule it broke, in rule order."""
    reasons: dict[int, str] = {}
    for outcome in outcomes:
        if outcome.rule.structural:
            continue
        text = f"{', '.join(outcome.rule.columns)}: {outcome.rule.problem}"
        for position in outcome.failing_positions.tolist():
            current = reasons.get(position)
            reasons[position] = text if current is None else f"{current}; {text}"
    return reasons


def _typed(spec: InputSpec, accepted: pa.Table) -> pa.Table:
    schema = spec.table_schema()
    columns = {}
    for column in schema.columns:
        values = accepted.column(column.name)
        if column.type == "date" and pa.types.is_string(values.type):
            values = parse_dates(values)
        elif column.type == "integer" and pa.types.is_string(values.type):
            values = values.cast(pa.int64())
        elif column.type == "boolean":
            values = pc.equal(values, "Y")
        columns[column.name] = values
    return schema.conform(pa.table(columns))


def _record_key(spec: InputSpec, table: pa.Table) -> list[str | None]:
    columns = list(spec.identifying)
    if not columns or table.num_rows == 0:
        return [None] * table.num_rows
    values = [table.column(c).to_pylist() for c in columns]
    return [
        ", ".join(f"{c}={v if v is not None else ''}" for c, v in zip(columns, row, strict=True))
        for row in zip(*values, strict=True)
    ]


def _quarantine_rows(
    spec: InputSpec,
    combined: pa.Table,
    mask: np.ndarray,
    reasons: dict[int, str],
    raw_files: list[tuple[str | None, RawFile]],
) -> pa.Table:
    rejected = combined.filter(pa.array(mask))
    cells = rejected.select([c for c in spec.field_names]).to_pylist()
    rows = {
        "input_name": [spec.name] * rejected.num_rows,
        "petition_id": (
            rejected.column("petition_id").to_pylist()
            if spec.per_petition
            else [None] * rejected.num_rows
        ),
        "source_file": rejected.column("source_file").to_pylist(),
        "source_row": rejected.column(SOURCE_ROW).to_pylist(),
        "source_sha256": rejected.column("source_sha256").to_pylist(),
        "reason": [reasons[p] for p in sorted(reasons)],
        "record_key": _record_key(spec, rejected),
        "raw_record": [json.dumps(c, ensure_ascii=False) for c in cells],
    }
    for petition_id, raw in raw_files:
        for row in raw.invalid_rows:
            rows["input_name"].append(spec.name)
            rows["petition_id"].append(petition_id)
            rows["source_file"].append(raw.relative_path)
            rows["source_row"].append(row.source_row)
            rows["source_sha256"].append(raw.sha256)
            rows["reason"].append(row.problem)
            rows["record_key"].append(None)
            rows["raw_record"].append(row.raw_text)
    return pa.table(rows, schema=QUARANTINED_ROWS.arrow_schema())


def _ledger(
    spec: InputSpec,
    raw_files: list[tuple[str | None, RawFile]],
    accepted: pa.Table,
    quarantined: pa.Table,
) -> pa.Table:
    accepted_by_file = _count_by_file(accepted)
    quarantined_by_file = _count_by_file(quarantined)
    rows = [
        {
            "input_name": spec.name,
            "petition_id": petition_id,
            "source_file": raw.relative_path,
            "source_sha256": raw.sha256,
            "size_bytes": raw.size_bytes,
            "physical_lines": raw.physical_lines,
            "header_lines": raw.header_lines,
            "blank_lines": raw.blank_lines,
            "rows_read": raw.rows_read,
            "rows_accepted": accepted_by_file.get(raw.relative_path, 0),
            "rows_quarantined": quarantined_by_file.get(raw.relative_path, 0),
            "extra_columns": ", ".join(raw.extra_columns) or None,
            "ignored": raw.ignored,
        }
        for petition_id, raw in raw_files
    ]
    return pa.Table.from_pylist(rows, schema=INGESTED_FILES.arrow_schema())


def _count_by_file(table: pa.Table) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    counts = pc.value_counts(table.column("source_file")).to_pylist()
    return {item["values"]: item["counts"] for item in counts}
