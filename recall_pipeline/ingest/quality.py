"""Data-quality rules derived from the contract, run as Great Expectations 1.x suites.

Each contract field yields its rules (required value, format, allowed values, conditional
requirement) and each input its key-uniqueness rule. Great Expectations evaluates them on the
whole input at once with vectorized pandas metrics and reports the failing row positions; those
positions decide quarantine. One rule GX cannot vectorize — that a well-formed date exists on
the calendar (2022-02-30) — is checked with Arrow's date parser and reported beside the suite;
one it cannot see — that a value names a row of another input, as a reviewed voter_id must name
a registration — is checked against the published input through the caller's lookup.

Structural rules (unique keys) do not quarantine: a repeated voter_id or line key means the
files disagree about identity, and the run stops with the rows named.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.contract import (
    FLAG_VALUES,
    INTEGER_PATTERN,
    ISO_DATE_PATTERN,
    ISO_TIMESTAMP_PATTERN,
    ZIP_PATTERN,
    InputSpec,
)

# (input, column, values) → those of `values` that name a row of that input, as published.
Lookup = Callable[[str, str, list[str]], set[str]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    columns: tuple[str, ...]
    problem: str
    structural: bool = False
    engine: str = "great_expectations"
    # Columns the rule reads besides its own (a conditional requirement's condition column).
    also_reads: tuple[str, ...] = ()
    # (column, value): the rule only concerns rows where that column holds that value.
    only_when: tuple[str, str] | None = None
    # (input, column): the value must name a row of that input (checked against the warehouse).
    references: tuple[str, str] | None = None


@dataclass
class RuleOutcome:
    rule: Rule
    evaluated: int
    # Positions (0-based, within the validated frame) of the rows that broke the rule.
    failing_positions: np.ndarray

    @property
    def failing_count(self) -> int:
        return int(self.failing_positions.size)

    @property
    def success(self) -> bool:
        return self.failing_count == 0


def rules_for(spec: InputSpec) -> list[tuple[Rule, Any]]:
    """The rules of one input, each with its GX expectation (None for non-GX rules)."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column as GXColumn

    rules: list[tuple[Rule, Any]] = []

    def add(rule: Rule, expectation: Any) -> None:
        if expectation is not None:
            expectation.meta = {"rule_id": rule.rule_id}
            expectation.description = f"{', '.join(rule.columns)}: {rule.problem}"
        rules.append((rule, expectation))

    for f in spec.fields:
        col = f.name
        if f.required_value:
            add(
                Rule(f"{col}.required", (col,), "missing required value"),
                gxe.ExpectColumnValuesToNotBeNull(column=col),
            )
        if f.required_when:
            other, value = f.required_when
            add(
                Rule(
                    f"{col}.required_when",
                    (col,),
                    f"missing (required when {other} is {value})",
                    also_reads=(other,),
                    only_when=(other, value),
                ),
                gxe.ExpectColumnValuesToNotBeNull(
                    column=col, row_condition=GXColumn(other) == value
                ),
            )
        if f.kind == "date":
            add(
                Rule(f"{col}.format", (col,), "not an ISO date (YYYY-MM-DD)"),
                gxe.ExpectColumnValuesToMatchRegex(column=col, regex=ISO_DATE_PATTERN),
            )
            add(
                Rule(f"{col}.calendar", (col,), "not a real calendar date", engine="arrow"),
                None,
            )
        elif f.kind == "timestamp":
            add(
                Rule(f"{col}.format", (col,), "not an ISO date and time (YYYY-MM-DDTHH:MM[:SS])"),
                gxe.ExpectColumnValuesToMatchRegex(column=col, regex=ISO_TIMESTAMP_PATTERN),
            )
            add(
                Rule(f"{col}.calendar", (col,), "not a real calendar date", engine="arrow"),
                None,
            )
        elif f.kind == "zip":
            add(
                Rule(f"{col}.format", (col,), "malformed ZIP (5 digits or ZIP+4)"),
                gxe.ExpectColumnValuesToMatchRegex(column=col, regex=ZIP_PATTERN),
            )
        elif f.kind == "integer":
            add(
                Rule(f"{col}.format", (col,), "not a whole number"),
                gxe.ExpectColumnValuesToMatchRegex(column=col, regex=INTEGER_PATTERN),
            )
        elif f.kind == "flag":
            add(
                Rule(f"{col}.allowed", (col,), f"not one of {'/'.join(FLAG_VALUES)}"),
                gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(FLAG_VALUES)),
            )
        elif f.kind == "enum":
            add(
                Rule(f"{col}.allowed", (col,), f"unknown value (allowed: {', '.join(f.allowed)})"),
                gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(f.allowed)),
            )
        if f.references:
            table, column = f.references
            add(
                Rule(
                    f"{col}.known",
                    (col,),
                    f"no such {column} in {table}",
                    engine="warehouse",
                    references=f.references,
                ),
                None,
            )
    key = spec.unique_key
    if key:
        rule = Rule(f"{'+'.join(key)}.unique", key, "key repeated", structural=True)
        if len(key) == 1:
            add(rule, gxe.ExpectColumnValuesToBeUnique(column=key[0]))
        else:
            add(rule, gxe.ExpectCompoundColumnsToBeUnique(column_list=list(key)))
    return rules


def validate(
    spec: InputSpec,
    table: pa.Table,
    rules: list[tuple[Rule, Any]] | None = None,
    lookup: Lookup | None = None,
) -> list[RuleOutcome]:
    """Run every rule of `spec` (`rules_for(spec)`, unless given) over `table` (text cells)
    and return each rule's failures; `lookup` answers the rules that values name rows of
    another input."""
    rules = rules if rules is not None else rules_for(spec)
    # GX filters the whole batch frame for every expectation, so each group of rules reading
    # the same columns is validated on a frame holding only those columns.
    # A key's uniqueness is judged on the values as they will be published (`key_as_typed`),
    # apart from the rules on the text as written.
    groups: dict[tuple[tuple[str, ...], bool], list[tuple[Rule, Any]]] = {}
    for rule, expectation in rules:
        if expectation is not None:
            group_key = (rule.columns + rule.also_reads, rule.structural)
            groups.setdefault(group_key, []).append((rule, expectation))

    def run(item: tuple[tuple[tuple[str, ...], bool], list[tuple[Rule, Any]]]):
        (columns, structural), group = item
        frame = table.select(list(columns))
        if structural:
            frame = key_as_typed(spec, frame)
        frame, positions = _frame_for(frame, group)
        return _run_great_expectations(spec, frame, positions, table.num_rows, group)

    # GX's pandas metrics spend their time in Arrow and pandas kernels that release the GIL, so
    # the groups run two at a time; the costliest (uniqueness hashes every key) start first.
    ordered = sorted(groups.items(), key=lambda item: not _checks_uniqueness(item[1]))
    outcomes: dict[str, RuleOutcome] = {}
    with ThreadPoolExecutor(max_workers=_VALIDATION_THREADS) as pool:
        found = pool.map(run, ordered)
        calendar = {
            rule: pool.submit(_calendar_failures, table.column(rule.columns[0]))
            for rule, expectation in rules
            if expectation is None and rule.references is None
        }
        for group_outcomes in found:
            outcomes.update(group_outcomes)
        for rule, failures in calendar.items():
            outcomes[rule.rule_id] = RuleOutcome(rule, table.num_rows, failures.result())
    for rule, _ in rules:
        if rule.references is not None:
            failures = _unknown_references(rule, table.column(rule.columns[0]), lookup)
            outcomes[rule.rule_id] = RuleOutcome(rule, table.num_rows, failures)
    return [outcomes[rule.rule_id] for rule, _ in rules]


_VALIDATION_THREADS = 2


def key_as_typed(spec: InputSpec, table: pa.Table) -> pa.Table:
    """`table` (text cells) with each whole-number field written as the number it will be
    published as: page "01" and page "1" are one page, so they are one key."""
    for index, name in enumerate(table.column_names):
        if name in spec.field_names and spec.field(name).kind == "integer":
            number = pc.replace_substring_regex(table.column(name), r"^0+(\d)", r"\1")
            table = table.set_column(index, name, number)
    return table


def _checks_uniqueness(rules: list[tuple[Rule, Any]]) -> bool:
    return any(rule.structural for rule, _ in rules)


def _frame_for(
    frame: pa.Table, rules: list[tuple[Rule, Any]]
) -> tuple[pa.Table, np.ndarray | None]:
    """The rows a group of rules concerns, with their positions (None: every row).

    GX applies a row condition by querying the whole frame again for each metric it computes;
    a group of conditional rules is handed only the rows its condition selects (GX still
    applies the condition itself), which keeps a rare condition cheap on millions of rows.
    """
    conditions = {rule.only_when for rule, _ in rules}
    if len(conditions) != 1 or None in conditions:
        return frame, None
    column, value = conditions.pop()
    selected = pc.fill_null(pc.equal(frame.column(column), value), False)
    return frame.filter(selected), np.flatnonzero(selected.to_numpy(zero_copy_only=False))


def _run_great_expectations(
    spec: InputSpec,
    frame: pa.Table,
    positions: np.ndarray | None,
    evaluated: int,
    rules: list[tuple[Rule, Any]],
) -> dict[str, RuleOutcome]:
    """Run `rules` on `frame`, whose rows sit at `positions` of the input (None: 0..n-1)."""
    import great_expectations as gx

    context = _context()
    name = f"{spec.name}_{uuid.uuid4().hex[:8]}"
    source = context.data_sources.add_pandas(name)
    batch_definition = source.add_dataframe_asset(spec.name).add_batch_definition_whole_dataframe(
        "whole_input"
    )
    suite = gx.ExpectationSuite(name=name, expectations=[e for _, e in rules])
    # Row positions are what quarantine needs, so the frame's index holds each row's position in
    # the input (GX reports failing rows by index label); pandas' Arrow-backed str columns keep
    # GX's regex and set metrics vectorized.
    df = frame.to_pandas().reset_index(drop=True)
    if positions is not None:
        df.index = pd.Index(positions)
    try:
        result = batch_definition.get_batch(batch_parameters={"dataframe": df}).validate(
            suite,
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
        )
    finally:
        context.data_sources.delete(name)
    by_id = {rule.rule_id: rule for rule, _ in rules}
    outcomes: dict[str, RuleOutcome] = {}
    for item in result.results:
        rule_id = (item.expectation_config.meta or {}).get("rule_id")
        rule = by_id[rule_id]
        if item.exception_info and item.exception_info.get("raised_exception"):
            message = item.exception_info.get("exception_message")
            raise RuntimeError(f"expectation {rule_id} could not run: {message}")
        failing = np.asarray(item.result.get("unexpected_index_list") or [], dtype=np.int64)
        outcomes[rule_id] = RuleOutcome(rule, evaluated, np.unique(failing))
    return outcomes


# One ephemeral context per validating thread: a context's data sources are plain mutable
# state, and each validation adds and removes one.
_CONTEXTS = threading.local()
# Creating a context also sets GX's process-wide current project: one at a time.
_CREATING = threading.Lock()


def _context():
    context = getattr(_CONTEXTS, "context", None)
    if context is None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every in-memory batch with an md5 over a hash of each row, twice per
        # validation: 20 s on a 6-million-row roll. Inputs are already fingerprinted by the
        # SHA-256 of their files, so the batch fingerprint is switched off (0 = never hash).
        pandas_execution_engine.HASH_THRESHOLD = 0
        with _CREATING:
            # No usage reports: a county's server has no business calling out.
            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _CONTEXTS.context = context
    return context


def _unknown_references(rule: Rule, column: pa.ChunkedArray, lookup: Lookup | None) -> np.ndarray:
    """Rows whose value names no row of the referenced input. Only the input's distinct
    values are looked up: a review file names a few thousand voters of a roll of millions."""
    values = pc.drop_null(pc.unique(column)).to_pylist()
    if not values:
        return np.zeros(0, dtype=np.int64)
    if lookup is None:
        raise ValueError(f"rule {rule.rule_id} needs a lookup of {'.'.join(rule.references)}")
    known = lookup(*rule.references, values)
    unknown = [v for v in values if v not in known]
    if not unknown:
        return np.zeros(0, dtype=np.int64)
    failing = pc.fill_null(pc.is_in(column, value_set=pa.array(unknown, pa.string())), False)
    return np.flatnonzero(failing.to_numpy(zero_copy_only=False))


_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _calendar_failures(column: pa.ChunkedArray) -> np.ndarray:
    """Rows whose value looks like an ISO date but names no real day (2022-02-30, 2023-02-29);
    the format rule reports the rest. Day-of-month arithmetic on the digits, once per distinct
    value (a roll of millions holds some tens of thousands of dates)."""
    distinct = pc.unique(column)
    bad = _impossible_dates(distinct)
    if not bad.any():
        return np.zeros(0, dtype=np.int64)
    # Only a file with impossible dates pays for locating them row by row.
    failing = pc.is_in(column, value_set=distinct.filter(pa.array(bad)))
    return np.flatnonzero(failing.to_numpy(zero_copy_only=False))


def _impossible_dates(values: pa.Array) -> np.ndarray:
    """Per value: well-formed as YYYY-MM-DD (or a date and time), yet no such day."""
    well_formed = pc.fill_null(
        pc.or_(
            pc.match_substring_regex(values, ISO_DATE_PATTERN),
            pc.match_substring_regex(values, ISO_TIMESTAMP_PATTERN),
        ),
        False,
    )
    text = pc.if_else(well_formed, values, pa.scalar("2000-01-01"))

    def number(start: int, stop: int) -> np.ndarray:
        part = pc.utf8_slice_codeunits(text, start, stop)
        return pc.cast(part, pa.int64()).to_numpy(zero_copy_only=False)

    year, month, day = number(0, 4), number(5, 7), number(8, 10)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    limit = _DAYS_IN_MONTH[month] - ((month == 2) & ~leap)
    return day > limit


def parse_dates(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        # The strict ISO cast is ~5x faster than strptime and, where it succeeds, gives the
        # same days; validated columns (every accepted row) always take this path.
        return column.cast(pa.date32())
    except pa.ArrowInvalid:
        pass
    return pc.strptime(column, format="%Y-%m-%d", unit="s", error_is_null=True).cast(pa.date32())
