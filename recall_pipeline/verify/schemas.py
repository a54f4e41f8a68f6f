"""The published verification tables, declared once (data-contract.md "Outputs")."""

from __future__ import annotations

from recall_pipeline.contract import PROVENANCE_COLUMNS
from recall_pipeline.tables import Column, TableSchema
from recall_pipeline.verify.match import HISTORY_KEY_COLUMNS, KEY_COLUMNS
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
        "match_method",
        "string",
        False,
        "CURRENT_ADDRESS, HISTORY_ADDRESS, UNIQUE_NAME, REGISTERED_ELSEWHERE (an examiner's "
        "link to a registration at another address) or NO_MATCH",
    ),
    Column(
        "match_status",
        "string",
        False,
        "MATCHED, REVIEW (routed to an examiner: the line's verdict is PENDING), REVIEWED (the "
        "examiner's link, in line_verdicts) or NONE",
    ),
    Column("review_reason", "string", True, "why the matcher could not decide alone"),
    Column(
        "match_score",
        "float",
        False,
        "probability that a person registered at the written address signed (0 when none is)",
    ),
    Column("match_probability", "float", False, "probability that the chosen voter signed"),
    Column("match_weight", "float", False, "log2 Bayes factor of the chosen voter, prior included"),
    Column("first_name_agreement", "string", False, "level of the first-name comparison"),
    Column("last_name_agreement", "string", False, "level of the last-name comparison"),
    Column("middle_name_agreement", "string", False, "level of the middle-name comparison"),
    Column("address_agreement", "string", False, "level of the address comparison"),
    Column(
        "name_order",
        "string",
        False,
        "the reading of the names: as_written, reversed (LAST FIRST), surname_first or "
        "compound_first (a two-word surname first)",
    ),
    Column("blocking_passes", "string", True, "the blocking passes that found the chosen voter"),
    Column(
        "candidates_at_address",
        "integer",
        False,
        "people registered at the written dwelling (or one slip from it), now or before",
    ),
    Column(
        "passing_candidates",
        "integer",
        False,
        "of those, how many are at least as likely as the review threshold",
    ),
    Column("roll_records_with_name", "integer", False, "registrations with the line's full name"),
    Column("history_valid_from", "date", True, "when the matched past address began"),
    Column("history_valid_to", "date", True, "when the matched past address ended"),
    Column("history_source_file", "string", True, "address-history file of the matched row"),
    Column("history_source_row", "integer", True, "its physical line in that file"),
)

_NORMALIZED = (
    Column("has_address", "boolean", False, "a locatable residence address was written"),
    Column("parsed_by", "string", False, "rules, usaddress (free-text parser), or '' (none)"),
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
NORMALIZED_ADDRESS_COLUMNS = [
    c.name for c in _NORMALIZED if not c.name.startswith("name_") and c.name != "parsed_by"
]
NORMALIZED_NAME_COLUMNS = [c.name for c in _NORMALIZED if c.name.startswith("name_")]
MATCH_EVIDENCE_COLUMNS = [c.name for c in _MATCH_EVIDENCE]
# The match evidence each verdict carries beside voter_id (copied from line_matches).
VERDICT_MATCH_COLUMNS = [
    "match_method",
    "match_status",
    "match_score",
    "first_name_agreement",
    "last_name_agreement",
    "address_agreement",
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

# The comparison levels as positions, in both readings of the names, and the roll's shares of
# the line's names: what fitting the model again reads back from the published candidates.
_CANDIDATE_LEVELS = (
    Column("address_level", "integer", False),
    *(
        Column(f"{part}_level_{reading}", "integer", False)
        for part in ("first", "last", "middle")
        for reading in ("written", "reversed", "surname_first", "compound_first")
    ),
    *(
        Column(f"{part}_share_{reading}", "float", True)
        for part in ("first", "last")
        for reading in ("written", "reversed", "surname_first", "compound_first")
    ),
    Column("pass_bits", "integer", False),
)
CANDIDATE_LEVEL_COLUMNS = [c.name for c in _CANDIDATE_LEVELS]

MATCH_CANDIDATES = TableSchema(
    name="match_candidates",
    description=(
        "Every registration a blocking pass found for a line and the matcher weighed: its "
        "agreement level and weight per comparison and its probability. What an examiner "
        "looks at for a line routed to review, and what the model is fitted on."
    ),
    columns=(
        *_LINE_KEY,
        Column("voter_id", "string", False, compressible=False),
        Column("source", "string", False, "CURRENT_ADDRESS or HISTORY_ADDRESS: which address"),
        Column("passes", "string", False, "blocking passes that found the pair, ';'-separated"),
        Column("address_agreement", "string", False),
        Column("first_name_agreement", "string", False),
        Column("last_name_agreement", "string", False),
        Column("middle_name_agreement", "string", False),
        Column("name_order", "string", False, "the reading of the names weighed"),
        Column("first_name_weight", "float", False, "log2(m/u) of the first-name level"),
        Column("last_name_weight", "float", False, "log2(m/u) of the last-name level"),
        Column("middle_name_weight", "float", False, "log2(m/u) of the middle-name level"),
        Column("name_order_weight", "float", False, "log2 of the reading's prior share"),
        Column("match_weight", "float", False, "the weights summed, with the prior's log2 odds"),
        Column("match_probability", "float", False, "posterior probability this voter signed"),
        Column("rank", "integer", False, "1 for the line's strongest candidate"),
        Column("chosen", "boolean", False, "the line's match"),
        Column("history_valid_from", "date", True),
        Column("history_valid_to", "date", True),
        Column("history_source_file", "string", True),
        Column("history_source_row", "integer", True),
        *_CANDIDATE_LEVELS,
        _BATCH_FILE,
    ),
)

MATCH_MODELS = TableSchema(
    name="match_models",
    description=(
        "The matching model each petition's lines were weighed with: per comparison level its "
        "m (fitted on the petition's own candidates, from the settings' values), the u the roll "
        "shows and the weight log2(m/u); the prior shares as comparison 'prior'."
    ),
    columns=(
        Column("petition_id", "string", False),
        Column(
            "stage",
            "string",
            False,
            "cascade (steered which lines the later passes searched) or final (decided)",
        ),
        Column("comparison", "string", False),
        Column("level", "string", False),
        Column("m", "float", False),
        Column("u", "float", True),
        Column("weight", "float", True),
        Column("settings_m", "float", False, "the value in the settings file"),
        Column("fitted_pairs", "integer", False, "candidate pairs the fit read (0: not fitted)"),
        Column("settings_sha256", "string", False, "hash of the matching settings file"),
    ),
)

LINE_VERDICTS = TableSchema(
    name="line_verdicts",
    description="One verdict per petition line: status, primary reason, matched voter, provenance.",
    columns=(
        *_LINE_KEY,
        Column("status", "string", False, "VALID, INVALID or PENDING"),
        Column("reason_code", "string", True, "primary reason (precedence of the reason table)"),
        Column(
            "pending_reason",
            "string",
            True,
            "PENDING lines: MATCH_REVIEW, SIGNATURE_REVIEW or INPUT_NEEDS_CORRECTION",
        ),
        Column("registrar_category", "string", True, "the registrar's published category"),
        Column("secondary_reasons", "string", True, "other rules the line broke, ';'-separated"),
        Column(
            "input_problem",
            "string",
            True,
            "a line filed but quarantined at ingestion: what the scan file must correct",
        ),
        *[c for c in _MATCH_EVIDENCE if c.name in ("voter_id", "match_method", "match_status")],
        Column("match_score", "float", False, "probability a registrant at the address signed"),
        Column("first_name_agreement", "string", False),
        Column("last_name_agreement", "string", False),
        Column("address_agreement", "string", False),
        Column("candidates_at_address", "integer", False),
        Column(
            "match_review_source_file",
            "string",
            True,
            "match-review file of the examiner's decision that set the line's voter",
        ),
        Column("match_review_source_row", "integer", True, "its physical line in that file"),
        Column("review_finding", "string", True, "latest examiner finding, MATCH or NO_MATCH"),
        Column("review_source_file", "string", True, "review file of that finding"),
        Column("review_source_row", "integer", True, "its physical line in that file"),
        Column("history_source_file", "string", True, "address-history file of the matched row"),
        Column("history_source_row", "integer", True, "its physical line in that file"),
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
        Column(
            "pending_could_change",
            "boolean",
            False,
            "whether the PENDING lines, decided valid by an examiner, could change the result",
        ),
        Column(
            "pending_needed_to_change",
            "integer",
            True,
            "how many of them would have to be valid to change it (empty when none could)",
        ),
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
# address's key in every blocking pass, and what the model measures on the roll, so that a run
# for one new scan batch reads and normalizes the few registrations its lines can reach instead
# of millions (`verify/roll_cache.py`). Rebuilt whenever the roll, the address history, the
# matching code or the hash function changes (`match_key_versions`).
def _key_columns(columns: list[str]) -> tuple[Column, ...]:
    return (
        Column("voter_id", "string", False, compressible=False),
        Column("jurisdiction_code", "string", False),
        *(
            Column(c, "integer", False, f"hash of the {c[:-5]} key (0: a part is blank)")
            for c in columns
        ),
    )


ROLL_MATCH_KEYS = TableSchema(
    name="roll_match_keys",
    description="Hashes of each registration's key in every blocking pass.",
    columns=_key_columns(KEY_COLUMNS),
)
HISTORY_MATCH_KEYS = TableSchema(
    name="history_match_keys",
    description="Hashes of each past address's key in every address pass.",
    columns=_key_columns(HISTORY_KEY_COLUMNS),
)
ROLL_STATISTICS = TableSchema(
    name="roll_statistics",
    description=(
        "What the matching model measures on each jurisdiction's roll: per name comparison "
        "level, its share (u) among pairs of different people registered at one dwelling."
    ),
    columns=(
        Column("jurisdiction_code", "string", False),
        Column("comparison", "string", False),
        Column("level", "string", False),
        Column("u", "float", False),
        Column("pairs_measured", "integer", False),
        Column("registrations", "integer", False),
    ),
)
ROLL_NAME_SHARES = TableSchema(
    name="roll_name_shares",
    description="Each first name's and surname's share of a jurisdiction's registrations.",
    columns=(
        Column("jurisdiction_code", "string", False),
        Column("part", "string", False, "first or last"),
        Column("name", "string", False),
        Column("share", "float", False),
    ),
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
