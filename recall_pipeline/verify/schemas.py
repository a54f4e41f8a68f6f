"""The published verification tables, declared once (data-contract.md "Outputs")."""

from __future__ import annotations

from dataclasses import replace

from recall_pipeline.contract import PROVENANCE_COLUMNS
from recall_pipeline.tables import (
    INPUT_NAME,
    JURISDICTION_CODE,
    LINE,
    LINE_KEY,
    LINE_KEY_COLUMNS,
    MATCHED_VOTER_ID,
    PAGE,
    PETITION_ID,
    RUN_ID,
    SECTION_ID,
    SOURCE_FILE,
    VOTER_ID,
    Column,
    TableSchema,
)
from recall_pipeline.verify.match import HISTORY_KEY_COLUMNS, KEY_COLUMNS
from recall_pipeline.verify.reasons import ReasonCode, reason_codes

# The scan file a line came from (matches are replaced batch by batch): `source_file` as in
# every table of input rows.
_BATCH_FILE = SOURCE_FILE

# Fields several of these tables hold, declared once.
_FIRST_NAME_AGREEMENT = Column(
    "first_name_agreement", "string", False, "level of the first-name comparison"
)
_LAST_NAME_AGREEMENT = Column(
    "last_name_agreement", "string", False, "level of the last-name comparison"
)
_MIDDLE_NAME_AGREEMENT = Column(
    "middle_name_agreement", "string", False, "level of the middle-name comparison"
)
_ADDRESS_AGREEMENT = Column("address_agreement", "string", False, "level of the address comparison")
_HISTORY_VALID_FROM = Column(
    "history_valid_from", "date", True, "when the matched past address began"
)
_HISTORY_VALID_TO = Column("history_valid_to", "date", True, "when the matched past address ended")
_HISTORY_SOURCE_FILE = Column(
    "history_source_file", "string", True, "address-history file of the matched row"
)
_HISTORY_SOURCE_ROW = Column(
    "history_source_row", "integer", True, "its physical line in that file"
)
_MATCH_SCORE = Column(
    "match_score",
    "float",
    False,
    "probability that a person registered at the written address signed (0 when none is)",
)
_CANDIDATES_AT_ADDRESS = Column(
    "candidates_at_address",
    "integer",
    False,
    "people registered at the written dwelling (or one slip from it), now or before",
)
_STATUS = Column("status", "string", False, "the line's verdict: VALID, INVALID or PENDING")
_REASON_CODE = Column(
    "reason_code",
    "string",
    True,
    "primary reason of an INVALID line (the reason table's precedence); empty otherwise",
)
_REGISTRAR_CATEGORY = Column(
    "registrar_category",
    "string",
    True,
    "the registrar's published category of the primary reason; empty when none",
)

_MATCH_EVIDENCE = (
    MATCHED_VOTER_ID,
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
    _MATCH_SCORE,
    Column("match_probability", "float", False, "probability that the chosen voter signed"),
    Column("match_weight", "float", False, "log2 Bayes factor of the chosen voter, prior included"),
    _FIRST_NAME_AGREEMENT,
    _LAST_NAME_AGREEMENT,
    _MIDDLE_NAME_AGREEMENT,
    _ADDRESS_AGREEMENT,
    Column(
        "name_order",
        "string",
        False,
        "the reading of the names: as_written, reversed (LAST FIRST), surname_first or "
        "compound_first (a two-word surname first)",
    ),
    Column("blocking_passes", "string", True, "the blocking passes that found the chosen voter"),
    _CANDIDATES_AT_ADDRESS,
    Column(
        "passing_candidates",
        "integer",
        False,
        "of those, how many are at least as likely as the review threshold",
    ),
    Column("roll_records_with_name", "integer", False, "registrations with the line's full name"),
    _HISTORY_VALID_FROM,
    _HISTORY_VALID_TO,
    _HISTORY_SOURCE_FILE,
    _HISTORY_SOURCE_ROW,
)

# The written address and name as the matcher reads them ('' where the line gives none).
_NORMALIZED = (
    Column("has_address", "boolean", False, "a locatable residence address was written"),
    Column("parsed_by", "string", False, "rules, usaddress (free-text parser), or '' (none)"),
    Column("house", "string", False, "house number of the written address, normalized"),
    Column("predir", "string", False, "its direction before the street (N, S, E, W ...)"),
    Column("street", "string", False, "its street name, normalized"),
    Column("stype", "string", False, "its street type, as a USPS abbreviation"),
    Column("postdir", "string", False, "its direction after the street"),
    Column("zip5", "string", False, "its 5-digit ZIP code"),
    Column("city", "string", False, "its city, normalized"),
    Column("name_first", "string", False, "the written first name, normalized"),
    Column("name_middle", "string", False, "the written middle name or initial, normalized"),
    Column("name_last", "string", False, "the written surname, normalized"),
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
        "Each line's normalized name and address and the registration it matched, with "
        "evidence: one row per line of petition_lines. Personal data (names, addresses)."
    ),
    columns=(*LINE_KEY, *_NORMALIZED, *_MATCH_EVIDENCE, _BATCH_FILE),
    primary_key=tuple(LINE_KEY_COLUMNS),
)

# The comparison levels as positions, in both readings of the names, and the roll's shares of
# the line's names: what fitting the model again reads back from the published candidates.
_CANDIDATE_LEVELS = (
    Column("address_level", "integer", False, "address_agreement as its position among the levels"),
    *(
        Column(
            f"{part}_level_{reading}",
            "integer",
            False,
            f"position of the {part}-name level with the line's names read {reading}",
        )
        for part in ("first", "last", "middle")
        for reading in ("written", "reversed", "surname_first", "compound_first")
    ),
    *(
        Column(
            f"{part}_share_{reading}",
            "float",
            True,
            f"the roll's share of registrations with the line's {part} name read {reading}; "
            "empty when none has it",
        )
        for part in ("first", "last")
        for reading in ("written", "reversed", "surname_first", "compound_first")
    ),
    Column("pass_bits", "integer", False, "the blocking passes that found the pair, as bits"),
)
CANDIDATE_LEVEL_COLUMNS = [c.name for c in _CANDIDATE_LEVELS]

MATCH_CANDIDATES = TableSchema(
    name="match_candidates",
    description=(
        "Every registration a blocking pass found for a line and the matcher weighed: its "
        "agreement level and weight per comparison and its probability. What an examiner "
        "looks at for a line routed to review, and what the model is fitted on. One row per "
        "line and rank: a registration may be a line's candidate at its current and at past "
        "addresses."
    ),
    columns=(
        *LINE_KEY,
        VOTER_ID,
        Column("source", "string", False, "CURRENT_ADDRESS or HISTORY_ADDRESS: which address"),
        Column("passes", "string", False, "blocking passes that found the pair, ';'-separated"),
        _ADDRESS_AGREEMENT,
        _FIRST_NAME_AGREEMENT,
        _LAST_NAME_AGREEMENT,
        _MIDDLE_NAME_AGREEMENT,
        Column("name_order", "string", False, "the reading of the names weighed"),
        Column("first_name_weight", "float", False, "log2(m/u) of the first-name level"),
        Column("last_name_weight", "float", False, "log2(m/u) of the last-name level"),
        Column("middle_name_weight", "float", False, "log2(m/u) of the middle-name level"),
        Column("name_order_weight", "float", False, "log2 of the reading's prior share"),
        Column("match_weight", "float", False, "the weights summed, with the prior's log2 odds"),
        Column("match_probability", "float", False, "posterior probability this voter signed"),
        Column(
            "rank",
            "integer",
            False,
            "the candidate's place among the line's, strongest first (1, 2, ...)",
        ),
        Column("chosen", "boolean", False, "the line's match"),
        _HISTORY_VALID_FROM,
        _HISTORY_VALID_TO,
        _HISTORY_SOURCE_FILE,
        _HISTORY_SOURCE_ROW,
        *_CANDIDATE_LEVELS,
        _BATCH_FILE,
    ),
    primary_key=(*LINE_KEY_COLUMNS, "rank"),
    key_constraint=False,
)

MATCH_MODELS = TableSchema(
    name="match_models",
    description=(
        "The matching model each petition's lines were weighed with: per comparison level its "
        "m (fitted on the petition's own candidates, from the settings' values), the u the roll "
        "shows and the weight log2(m/u); the prior shares as comparison 'prior'. One row per "
        "petition, stage, comparison and level."
    ),
    columns=(
        PETITION_ID,
        Column(
            "stage",
            "string",
            False,
            "cascade (steered which lines the later passes searched) or final (decided)",
        ),
        Column(
            "comparison",
            "string",
            False,
            "first_name, last_name, middle_name, or prior (the shares the model starts from)",
        ),
        Column("level", "string", False, "a level of the comparison, or the prior's name"),
        Column(
            "m",
            "float",
            False,
            "share of the level among true matches (for 'prior', the share itself)",
        ),
        Column("u", "float", True, "share of the level among different people (empty: prior)"),
        Column("weight", "float", True, "log2(m/u) (empty: prior)"),
        Column("settings_m", "float", False, "the value in the settings file"),
        Column("fitted_pairs", "integer", False, "candidate pairs the fit read (0: not fitted)"),
        Column("settings_sha256", "string", False, "hash of the matching settings file"),
    ),
    primary_key=("petition_id", "stage", "comparison", "level"),
)

LINE_VERDICTS = TableSchema(
    name="line_verdicts",
    description=(
        "One verdict per petition line: status, primary reason, matched voter, provenance. A "
        "line quarantined at ingestion is here too, PENDING, under its written key, or under "
        "section '(line N of FILE)', page 0, line N when it gives no key of its own."
    ),
    columns=(
        *LINE_KEY,
        _STATUS,
        _REASON_CODE,
        Column(
            "pending_reason",
            "string",
            True,
            "PENDING lines: MATCH_REVIEW, SIGNATURE_REVIEW or INPUT_NEEDS_CORRECTION",
        ),
        _REGISTRAR_CATEGORY,
        Column("secondary_reasons", "string", True, "other rules the line broke, ';'-separated"),
        Column(
            "input_problem",
            "string",
            True,
            "a line filed but quarantined at ingestion: what the scan file must correct",
        ),
        *[c for c in _MATCH_EVIDENCE if c.name in ("voter_id", "match_method", "match_status")],
        _MATCH_SCORE,
        _FIRST_NAME_AGREEMENT,
        _LAST_NAME_AGREEMENT,
        _ADDRESS_AGREEMENT,
        _CANDIDATES_AT_ADDRESS,
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
        _HISTORY_SOURCE_FILE,
        _HISTORY_SOURCE_ROW,
        Column(
            "challenge_id",
            "string",
            True,
            "the proponents' challenge whose ACCEPTED ruling decided the line again (every rule "
            "applied once more with the ruling among its inputs); empty: no ruling applied",
        ),
        Column("ruling_source_file", "string", True, "rulings file of that accepted ruling"),
        Column("ruling_source_row", "integer", True, "its physical line in that file"),
        Column(
            "finding_reason_code",
            "string",
            True,
            "a line decided again by a ruling: its primary reason at the finding, without rulings",
        ),
        *PROVENANCE_COLUMNS,
        RUN_ID,
        Column("code_version", "string", False, "the verdict step's code version"),
    ),
    primary_key=tuple(LINE_KEY_COLUMNS),
)

CHALLENGES_SET_ASIDE = TableSchema(
    name="challenges_set_aside",
    description=(
        "Challenge and ruling rows accepted at ingestion but set aside by the verdict step, "
        "which judges them against the finding (the verdicts without any ruling): one row per "
        "row set aside, with every rule it broke. A row set aside changes no verdict."
    ),
    columns=(
        PETITION_ID,
        INPUT_NAME,
        Column("challenge_id", "string", False, "the challenge the row is, or rules on"),
        Column("reason", "string", False, "every cross-file rule the row broke, '; '-separated"),
        *PROVENANCE_COLUMNS,
    ),
    primary_key=("input_name", "source_file", "source_row"),
)


def invalid_table(code: ReasonCode) -> TableSchema:
    """The INVALID lines of one reason: line_verdicts' rows, selected by reason_code (which
    is therefore never empty)."""
    return TableSchema(
        name=code.table_name,
        description=f"INVALID lines whose primary reason is {code.code}: {code.description}. "
        "The rows of line_verdicts with that reason_code.",
        columns=tuple(
            replace(c, nullable=False) if c.name == "reason_code" else c
            for c in LINE_VERDICTS.columns
        ),
        primary_key=LINE_VERDICTS.primary_key,
    )


INVALID_TABLES = {code.code: invalid_table(code) for code in reason_codes()}

REASON_SUMMARY = TableSchema(
    name="reason_summary",
    description="Invalid lines per reason code, in precedence order: one row per petition and "
    "reason code, the codes without lines included.",
    columns=(
        PETITION_ID,
        Column("precedence", "integer", False, "the reason's rank: the first that applies wins"),
        Column("reason_code", "string", False, "a code of the reason table"),
        Column("registrar_category", "string", False, "the registrar's category of the code"),
        Column("lines", "integer", False, "INVALID lines whose primary reason is the code"),
    ),
    primary_key=("petition_id", "reason_code"),
)

REGISTRAR_SUMMARY = TableSchema(
    name="registrar_summary",
    description=(
        "Invalid lines in the registrar's published categories, with the valid and raw counts: "
        "one row per petition and category ('Invalid total', 'Valid' and 'Raw count' included)."
    ),
    columns=(
        PETITION_ID,
        Column("category", "string", False, "a registrar's category, or one of the totals"),
        Column("lines", "integer", False, "lines in the category"),
    ),
    primary_key=("petition_id", "category"),
)

SAMPLE_LINES = TableSchema(
    name="sample_lines",
    description="The lines drawn into the statutory random sample, by draw position: one row "
    "per drawn line.",
    columns=(
        PETITION_ID,
        Column("draw_position", "integer", False, "position in the lines sorted by key"),
        SECTION_ID,
        PAGE,
        LINE,
        _STATUS,
        _REASON_CODE,
        Column(
            "counts_as_valid_in_sample", "boolean", False, "valid, or invalid only as a duplicate"
        ),
        MATCHED_VOTER_ID,
    ),
    primary_key=("petition_id", "draw_position"),
)

SUFFICIENCY_DETERMINATION = TableSchema(
    name="sufficiency_determination",
    description="One row per petition: the count, the requirement and the result.",
    columns=(
        PETITION_ID,
        Column(
            "method",
            "string",
            False,
            "raw_count, full_count, random_sample, random_sample_then_full_count",
        ),
        Column("raw_count", "integer", False, "lines filed (every line with a verdict)"),
        Column("valid", "integer", False, "VALID lines (of the sample, when the result is)"),
        Column("invalid", "integer", False, "INVALID lines (of the sample, likewise)"),
        Column("pending", "integer", False, "PENDING lines (of the sample, likewise)"),
        Column("required", "integer", False, "valid signatures required"),
        Column(
            "registered_voters_basis",
            "integer",
            False,
            "registered voters the requirement is a percent of (petitions)",
        ),
        Column("threshold_percent", "float", False, "the percent of the basis required"),
        Column(
            "sufficient_when",
            "string",
            False,
            "greater_than or at_least: how the valid count must compare with the requirement",
        ),
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
        # Empty when no sample was drawn.
        Column("sample_seed", "integer", True, "the seed the sample was drawn with"),
        Column("sample_size", "integer", True, "lines drawn (n)"),
        Column(
            "sample_valid",
            "integer",
            True,
            "sampled lines valid, or invalid only as a voter's second line (s)",
        ),
        Column(
            "sample_duplicates",
            "integer",
            True,
            "sampled valid lines beyond the first of each voter (d)",
        ),
        Column("sample_validity_rate", "float", True, "s / n (r)"),
        Column(
            "projected_uncorrected",
            "integer",
            True,
            "the raw count times the validity rate (V), before duplicates",
        ),
        Column("sample_line_value", "float", True, "raw count / sample size"),
        Column(
            "sample_duplicate_weight",
            "float",
            True,
            "the weight of one sampled duplicate in the projection (2 CCR 20532)",
        ),
        Column(
            "projected_duplicates", "integer", True, "duplicates projected to the raw count (C)"
        ),
        Column("projected_valid", "integer", True, "V - C: the projected valid signatures (P)"),
        Column("projected_percent_of_required", "float", True, "P as a percent of required"),
        Column(
            "sample_upper_cutoff",
            "integer",
            True,
            "sample_valid above which the petition qualifies on the sample",
        ),
        Column(
            "sample_lower_cutoff",
            "integer",
            True,
            "sample_valid below which it fails on the sample",
        ),
        Column(
            "sample_result",
            "string",
            True,
            "the sample's outcome: SUFFICIENT, INSUFFICIENT or FULL_COUNT_REQUIRED",
        ),
    ),
    primary_key=("petition_id",),
)

REQUIREMENT_BASES = TableSchema(
    name="requirement_bases",
    description=(
        "The signature requirement, margin and result under each basis a petition's count may "
        "be read against, beside the official determination (which uses only the official "
        "basis and is not changed by these rows): the official basis, each alternative basis "
        "petition.yaml lists with its source, and what the published roll counts in the "
        "jurisdiction — its ACTIVE registrations (EC 2226(a)(2) leaves inactive voters out) "
        "and all its registrations in force (ACTIVE and INACTIVE; CANCELLED records are no "
        "registrations). A roll row counts the roll's rows whose county code is the "
        "petition's jurisdiction or whose residence ZIP is listed for it in jurisdiction_zips "
        "(the rule every cut of the roll uses), as published: rows quarantined at ingestion "
        "are not counted. Each requirement is computed as the official one: the EC 11221 "
        "percent by that basis's own count (or the petition's threshold_percent), rounded up; "
        "each result is the full count's rule (EC 11224, sufficient_when) on the petition's "
        "VALID lines. One row per petition and basis."
    ),
    columns=(
        PETITION_ID,
        Column(
            "position",
            "integer",
            False,
            "the row's place in the listing: the official basis first, then the alternatives "
            "in the file's order, then the roll's counts",
        ),
        Column("kind", "string", False, "official, alternative (petition.yaml) or roll"),
        Column(
            "basis",
            "string",
            False,
            "the basis's name: the alternative's own, or the official basis's or the roll "
            "count's fixed name",
        ),
        Column(
            "as_of",
            "date",
            True,
            "the date of the count: the official report's date (basis_report_date), the "
            "alternative's as_of; for the roll, which carries no extract date, the latest "
            "registration or status date it records (empty for an empty roll)",
        ),
        Column(
            "source",
            "string",
            False,
            "where the count comes from: the petition.yaml setting, the alternative's source, "
            "or the roll's files",
        ),
        Column("registered_voters", "integer", False, "the count of registered voters"),
        Column(
            "threshold_percent",
            "float",
            False,
            "the percent of this count required: the EC 11221 table by the count, or the "
            "petition's threshold_percent",
        ),
        Column("required", "integer", False, "ceil(percent x count): signatures required"),
        Column(
            "valid",
            "integer",
            False,
            "the petition's VALID lines, every line's verdict counted (a full count's figure, "
            "also when the official result came from the sample alone)",
        ),
        Column("margin", "integer", False, "valid minus required"),
        Column(
            "result",
            "string",
            False,
            "SUFFICIENT or INSUFFICIENT under this basis, by the full count's rule",
        ),
        Column(
            "lines_to_flip",
            "integer",
            False,
            "lines whose verdict must change to change this basis's result, by the petition's "
            "rule: INVALID lines reinstated when INSUFFICIENT, VALID lines found invalid when "
            "SUFFICIENT",
        ),
    ),
    primary_key=("petition_id", "kind", "basis"),
)


# Where matching's prepared roll is: 64-bit hashes of each registration's and each past
# address's key in every blocking pass, and what the model measures on the roll, so that a run
# for one new scan batch reads and normalizes the few registrations its lines can reach instead
# of millions (`verify/roll_cache.py`). Rebuilt whenever the roll, the address history, the
# matching code or the hash function changes (`match_key_versions`).
def _key_columns(columns: list[str]) -> tuple[Column, ...]:
    return (
        VOTER_ID,
        JURISDICTION_CODE,
        *(
            Column(c, "integer", False, f"hash of the {c[:-5]} key (0: a part is blank)")
            for c in columns
        ),
    )


ROLL_MATCH_KEYS = TableSchema(
    name="roll_match_keys",
    description="Hashes of each registration's key in every blocking pass: one row per "
    "jurisdiction and registration belonging to it (a city's voters are also its county's).",
    columns=_key_columns(KEY_COLUMNS),
    primary_key=("jurisdiction_code", "voter_id"),
    key_constraint=False,
)
HISTORY_MATCH_KEYS = TableSchema(
    name="history_match_keys",
    description="Hashes of each past address's key in every address pass: one row per "
    "jurisdiction and past address of a voter belonging to it. No key: a voter may have "
    "several past addresses, and an address-history file may repeat one, so two rows can be "
    "identical.",
    columns=_key_columns(HISTORY_KEY_COLUMNS),
)
ROLL_STATISTICS = TableSchema(
    name="roll_statistics",
    description=(
        "What the matching model measures on each jurisdiction's roll: per name comparison "
        "level, its share (u) among pairs of different people registered at one dwelling. One "
        "row per jurisdiction, comparison and level."
    ),
    columns=(
        JURISDICTION_CODE,
        Column("comparison", "string", False, "first_name, last_name or middle_name"),
        Column("level", "string", False, "a level of the comparison"),
        Column("u", "float", False, "the level's share among pairs of different people"),
        Column(
            "pairs_measured",
            "integer",
            False,
            "pairs of different registrations at one dwelling compared (a sample)",
        ),
        Column("registrations", "integer", False, "registrations of the jurisdiction's roll"),
    ),
    primary_key=("jurisdiction_code", "comparison", "level"),
)
ROLL_NAME_SHARES = TableSchema(
    name="roll_name_shares",
    description="Each first name's and surname's share of a jurisdiction's registrations: one "
    "row per jurisdiction, part and name.",
    columns=(
        JURISDICTION_CODE,
        Column("part", "string", False, "first or last"),
        Column("name", "string", False, "a first name (its first word) or a surname, normalized"),
        Column("share", "float", False, "its share of the jurisdiction's registrations"),
    ),
    primary_key=("jurisdiction_code", "part", "name"),
)
MATCH_KEY_VERSIONS = TableSchema(
    name="match_key_versions",
    description=(
        "Which roll the match keys of each jurisdiction were built from: the hash of the roll "
        "and address-history files and of the normalization code."
    ),
    columns=(
        JURISDICTION_CODE,
        Column(
            "roll_version",
            "string",
            False,
            "hash of the roll, address-history and ZIP files and of the keying code",
        ),
        Column("roll_rows", "integer", False, "registrations keyed"),
        Column("history_rows", "integer", False, "past addresses keyed"),
    ),
    primary_key=("jurisdiction_code",),
)
