"""The published verification tables, declared once (data-contract.md "Outputs")."""

from __future__ import annotations

from recall_pipeline.contract import PROVENANCE_COLUMNS
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.verify.reasons import ReasonCode, reason_codes

_LINE_KEY = (
    Column("petition_id", "string", False),
    Column("section_id", "string", False),
    Column("page", "integer", False),
    Column("line", "integer", False),
)

# The scan file a line came from: matches are replaced batch by batch.
_BATCH_FILE = Column("source_file", "string", False, "scan batch file of the line")

_MATCH_EVIDENCE = (
    Column("voter_id", "string", True, "matched registration, empty when none"),
    Column(
        "match_method", "string", False, "CURRENT_ADDRESS, HISTORY_ADDRESS, UNIQUE_NAME, NO_MATCH"
    ),
    Column("match_score", "float", False, "0..1: name and address agreement of the chosen match"),
    Column("first_name_agreement", "string", False, "exact, nickname, typo or none"),
    Column("last_name_agreement", "string", False, "exact, typo or none"),
    Column(
        "candidates_at_address",
        "integer",
        False,
        "people registered at the dwelling, now or before",
    ),
    Column(
        "passing_candidates", "integer", False, "of those, how many the name comparison accepted"
    ),
    Column("roll_records_with_name", "integer", False, "registrations with the line's full name"),
    Column("history_valid_from", "date", True, "when the matched past address began"),
    Column("history_valid_to", "date", True, "when the matched past address ended"),
    Column("history_source_file", "string", True, "address-history file of the matched row"),
    Column("history_source_row", "integer", True, "its 1-based row"),
)

_NORMALIZED = (
    Column("has_address", "boolean", False, "a locatable residence address was written"),
    Column("house", "string", False),
    Column("predir", "string", False),
    Column("street", "string", False),
    Column("stype", "string", False),
    Column("postdir", "string", False),
    Column("zip5", "string", False),
    Column("city", "string", False),
    Column("name_first", "string", False),
    Column("name_middle", "string", False),
    Column("name_last", "string", False),
)
NORMALIZED_ADDRESS_COLUMNS = [c.name for c in _NORMALIZED if not c.name.startswith("name_")]
NORMALIZED_NAME_COLUMNS = [c.name for c in _NORMALIZED if c.name.startswith("name_")]
MATCH_EVIDENCE_COLUMNS = [c.name for c in _MATCH_EVIDENCE]
# The match evidence each verdict carries beside voter_id (copied from line_matches).
VERDICT_MATCH_COLUMNS = [
    "match_method",
    "match_score",
    "first_name_agreement",
    "last_name_agreement",
    "candidates_at_address",
    "history_source_file",
    "history_source_row",
]

LINE_MATCHES = TableSchema(
    name="line_matches",
    description=(
        "Each line's normalized name and address and the registration it matched, with evidence."
    ),
    columns=(*_LINE_KEY, *_NORMALIZED, *_MATCH_EVIDENCE, _BATCH_FILE),
)

AMBIGUOUS_MATCHES = TableSchema(
    name="ambiguous_matches",
    description="Lines whose name matched several people at the address; every candidate listed.",
    columns=(
        *_LINE_KEY,
        Column("candidate_voter_id", "string", False),
        Column("source", "string", False, "CURRENT_ADDRESS or HISTORY_ADDRESS"),
        Column("score", "float", False),
        Column("chosen", "boolean", False, "the candidate the documented rule picked"),
        Column("rule", "string", False),
        _BATCH_FILE,
    ),
)

LINE_VERDICTS = TableSchema(
    name="line_verdicts",
    description="One verdict per petition line: status, primary reason, matched voter, provenance.",
    columns=(
        *_LINE_KEY,
        Column("status", "string", False, "VALID, INVALID or PENDING"),
        Column("reason_code", "string", True, "primary reason (precedence of the reason table)"),
        Column("registrar_category", "string", True, "the registrar's published category"),
        Column("secondary_reasons", "string", True, "other rules the line broke, ';'-separated"),
        *_MATCH_EVIDENCE[:5],
        Column("candidates_at_address", "integer", False),
        Column("review_finding", "string", True, "latest examiner finding, MATCH or NO_MATCH"),
        Column("review_source_file", "string", True, "review file of that finding"),
        Column("review_source_row", "integer", True, "its 1-based row"),
        Column("history_source_file", "string", True, "address-history file of the matched row"),
        Column("history_source_row", "integer", True, "its 1-based row"),
        *PROVENANCE_COLUMNS,
        Column("run_id", "string", False, "the Dagster run that produced the verdict"),
        Column("code_version", "string", False, "the verdict step's code version"),
    ),
)


def invalid_table(code: ReasonCode) -> TableSchema:
    return TableSchema(
        name=code.table_name,
        description=f"INVALID lines whose primary reason is {code.code}: {code.description}.",
        columns=LINE_VERDICTS.columns,
    )


INVALID_TABLES = {code.code: invalid_table(code) for code in reason_codes()}

REASON_SUMMARY = TableSchema(
    name="reason_summary",
    description="Invalid lines per reason code, in precedence order.",
    columns=(
        Column("petition_id", "string", False),
        Column("precedence", "integer", False),
        Column("reason_code", "string", False),
        Column("registrar_category", "string", False),
        Column("lines", "integer", False),
    ),
)

REGISTRAR_SUMMARY = TableSchema(
    name="registrar_summary",
    description=(
        "Invalid lines in the registrar's published categories, with the valid and raw counts."
    ),
    columns=(
        Column("petition_id", "string", False),
        Column("category", "string", False),
        Column("lines", "integer", False),
    ),
)

SAMPLE_LINES = TableSchema(
    name="sample_lines",
    description="The lines drawn into the statutory random sample, by draw position.",
    columns=(
        Column("petition_id", "string", False),
        Column("draw_position", "integer", False, "position in the lines sorted by key"),
        Column("section_id", "string", False),
        Column("page", "integer", False),
        Column("line", "integer", False),
        Column("status", "string", False),
        Column("reason_code", "string", True),
        Column(
            "counts_as_valid_in_sample", "boolean", False, "valid, or invalid only as a duplicate"
        ),
        Column("voter_id", "string", True),
    ),
)

SUFFICIENCY_DETERMINATION = TableSchema(
    name="sufficiency_determination",
    description="One row per petition: the count, the requirement and the result.",
    columns=(
        Column("petition_id", "string", False),
        Column(
            "method",
            "string",
            False,
            "raw_count, full_count, random_sample, random_sample_then_full_count",
        ),
        Column("raw_count", "integer", False),
        Column("valid", "integer", False),
        Column("invalid", "integer", False),
        Column("pending", "integer", False),
        Column("required", "integer", False),
        Column("registered_voters_basis", "integer", False),
        Column("threshold_percent", "float", False),
        Column("sufficient_when", "string", False),
        Column("result", "string", False, "SUFFICIENT, INSUFFICIENT or FULL_COUNT_REQUIRED"),
        Column("margin", "integer", False, "valid (or projected valid) minus required"),
        Column("sample_seed", "integer", True),
        Column("sample_size", "integer", True),
        Column("sample_valid", "integer", True),
        Column("sample_duplicates", "integer", True),
        Column("sample_validity_rate", "float", True),
        Column("projected_uncorrected", "integer", True),
        Column("sample_line_value", "float", True),
        Column("sample_duplicate_weight", "float", True),
        Column("projected_duplicates", "integer", True),
        Column("projected_valid", "integer", True),
        Column("projected_percent_of_required", "float", True),
        Column("sample_upper_cutoff", "integer", True),
        Column("sample_lower_cutoff", "integer", True),
        Column("sample_result", "string", True),
    ),
)

# Where matching's prepared roll is: 64-bit hashes of each registration's and each past
# address's dwelling keys and full name, so that a run for one new scan batch reads and
# normalizes the few registrations its lines can reach instead of millions
# (`verify/roll_cache.py`). Rebuilt whenever the roll, the address history, the normalization
# or the hash function changes (`match_key_versions`).
_KEY_DWELLING = (
    Column("voter_id", "string", False, compressible=False),
    Column("jurisdiction_code", "string", False),
    Column("dwelling_hash", "integer", False, "hash of the canonical address (blocking key)"),
    Column("loose_dwelling_hash", "integer", False, "hash of house number, street and ZIP5"),
)
ROLL_MATCH_KEYS = TableSchema(
    name="roll_match_keys",
    description="Hashes of each registration's dwelling keys and normalized full name.",
    columns=(
        *_KEY_DWELLING,
        Column("name_hash", "integer", False, "hash of the normalized first and last name"),
    ),
)
HISTORY_MATCH_KEYS = TableSchema(
    name="history_match_keys",
    description="Hashes of each past address's dwelling keys.",
    columns=_KEY_DWELLING,
)
MATCH_KEY_VERSIONS = TableSchema(
    name="match_key_versions",
    description=(
        "Which roll the match keys of each jurisdiction were built from: the hash of the roll "
        "and address-history files and of the normalization code."
    ),
    columns=(
        Column("jurisdiction_code", "string", False),
        Column("roll_version", "string", False),
        Column("roll_rows", "integer", False),
        Column("history_rows", "integer", False),
    ),
    primary_key=("jurisdiction_code",),
)
