"""The input contract (data-contract.md v1), declared once as data.

Everything about an input that the pipeline enforces is written here and nowhere else: which
files make it up, its columns, which are required, what values they may hold, and which columns
form its unique key. The readers, the Great Expectations suites, the quarantine rules, the typed
warehouse tables and the published data dictionary are all derived from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from recall_pipeline.tables import (
    JURISDICTION_CODE,
    LINE,
    LINE_KEY_COLUMNS,
    PAGE,
    PETITION_ID,
    PROVENANCE,
    SECTION_ID,
    VOTER_ID,
    Column,
    TableSchema,
)
from recall_pipeline.verify.grounds import ground_codes

# How a field is checked and typed. Every kind but "text" has a format rule whose failures put
# the row in quarantine; the same kind decides the column's type in the warehouse.
FieldKind = Literal["text", "date", "timestamp", "zip", "flag", "enum", "integer"]

ISO_DATE_PATTERN = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"
# A local date and time as the county's systems write it, to the minute or finer, without a
# zone: reviews are ordered by it, and a zone on some values only would make that ambiguous.
ISO_TIMESTAMP_PATTERN = (
    r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[T ](?:[01]\d|2[0-3]):[0-5]\d"
    r"(?::[0-5]\d(?:\.\d{1,6})?)?$"
)
ZIP_PATTERN = r"^\d{5}(?:-?\d{4})?$"
INTEGER_PATTERN = r"^\d{1,9}$"
FLAG_VALUES = ("Y", "N")

# Personal data: never logged, never put in Dagster metadata (names, addresses, birth dates).
PII = "pii"


@dataclass(frozen=True)
class Field:
    name: str
    kind: FieldKind = "text"
    # The column must be present in every file of the input (a structural requirement).
    required_column: bool = False
    # Every row must carry a value; a blank cell sends the row to quarantine.
    required_value: bool = False
    # (column, value): rows where that column holds that value must carry a value here
    # (e.g. status_date when status is CANCELLED).
    required_when: tuple[str, str] | None = None
    allowed: tuple[str, ...] = ()
    # (input, column): a value must name a row of another input, as published (e.g. a voter_id
    # on the roll); a value that names none sends the row to quarantine. Missing values pass.
    references: tuple[str, str] | None = None
    pii: bool = False
    description: str = ""
    # No rule of verification reads the value (a registration's birth date): a bad one is
    # nulled and recorded in `nulled_values`, and the row kept, so that a typo in it never
    # takes a registration (and its signer's verdict) with it.
    informational: bool = False

    @property
    def column_type(self) -> str:
        # A timestamp stays text as written, once checked: it is the county's local time, with
        # no zone for the warehouse's zoned type to carry.
        return {"date": "date", "integer": "integer", "flag": "boolean"}.get(self.kind, "string")


@dataclass(frozen=True)
class InputSpec:
    """One input of the contract: a set of files with the same columns."""

    name: str
    # Glob relative to the data directory (or to each petition folder when per_petition).
    pattern: str
    fields: tuple[Field, ...]
    description: str
    per_petition: bool = False
    # The input may be absent altogether.
    optional: bool = False
    # Columns that together identify a row; a repeat is a structural failure.
    unique_key: tuple[str, ...] = ()
    # Columns safe to show in check metadata to identify a failing row (never PII).
    identifying: tuple[str, ...] = ()
    # Whether the warehouse table declares its primary key as a constraint (see
    # TableSchema.key_constraint: off for the inputs of millions of rows).
    key_constraint: bool = True

    @property
    def table_name(self) -> str:
        return self.name

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.required_column]

    @property
    def referenced_inputs(self) -> list[str]:
        """The inputs this one's values must name rows of: published before it is checked."""
        return list(dict.fromkeys(f.references[0] for f in self.fields if f.references))

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def table_schema(self) -> TableSchema:
        """The warehouse table of the rows this input accepted, with their provenance."""
        leading = [PETITION_ID] if self.per_petition else []
        # A single-column key holds nothing but distinct values.
        distinct = self.unique_key[0] if len(self.unique_key) == 1 else None
        data = [
            Column(
                f.name,
                f.column_type,
                not f.required_value,
                f.description,
                compressible=f.name != distinct,
            )
            for f in self.fields
        ]
        return TableSchema(
            name=self.table_name,
            columns=tuple(leading + data + list(PROVENANCE_COLUMNS)),
            description=self.description,
            primary_key=self.primary_key,
            key_constraint=self.key_constraint,
        )

    @property
    def primary_key(self) -> tuple[str, ...]:
        """What identifies an accepted row: the contract's unique key, or else the row's place
        in its file (an input that may repeat a row, such as a second finding on a line)."""
        return self.unique_key or ("source_file", "source_row")


PROVENANCE_COLUMNS = PROVENANCE

# A residence as the county writes it (the registered one, or an earlier one).
_ADDRESS = (
    Field(
        "house_number",
        required_column=True,
        required_value=True,
        pii=True,
        description="house number; may carry a fraction (1/2)",
    ),
    Field("street_predir", pii=True, description="direction before the street name (N, SW ...)"),
    Field("street_name", required_column=True, required_value=True, pii=True, description="street"),
    Field(
        "street_type",
        pii=True,
        description="street type as the county writes it (USPS abbreviation or full word)",
    ),
    Field("street_postdir", pii=True, description="direction after the street name"),
    Field("unit_type", pii=True, description="unit designator (APT, UNIT, STE ...)"),
    Field("unit_number", pii=True, description="unit number"),
    Field("city", required_column=True, required_value=True, pii=True, description="city"),
    Field("state", required_column=True, required_value=True, description="state (CA)"),
    Field(
        "zip",
        "zip",
        required_column=True,
        required_value=True,
        pii=True,
        description="ZIP code: 5 digits, or ZIP+4 with or without hyphen, as written",
    ),
)

# The line key within a petition (the petition is the folder): described as the line key is in
# every table (recall_pipeline.tables).
_SECTION_FIELD = Field(
    "section_id", required_column=True, required_value=True, description=SECTION_ID.description
)
_LINE_FIELDS = (
    _SECTION_FIELD,
    Field(
        "page", "integer", required_column=True, required_value=True, description=PAGE.description
    ),
    Field(
        "line", "integer", required_column=True, required_value=True, description=LINE.description
    ),
)

VOTER_STATUSES = ("ACTIVE", "INACTIVE", "CANCELLED")
REVIEW_FINDINGS = ("MATCH", "NO_MATCH")

JURISDICTIONS = InputSpec(
    name="jurisdictions",
    pattern="reference/jurisdictions.csv",
    description="Counties and cities a petition can be filed in. One row per jurisdiction.",
    fields=(
        Field(
            "jurisdiction_code",
            required_column=True,
            required_value=True,
            description=JURISDICTION_CODE.description,
        ),
        Field("name", required_column=True, required_value=True, description="its name"),
        Field("state", required_column=True, required_value=True, description="its state (CA)"),
    ),
    unique_key=("jurisdiction_code",),
    identifying=("jurisdiction_code",),
)

JURISDICTION_ZIPS = InputSpec(
    name="jurisdiction_zips",
    pattern="reference/jurisdiction_zips.csv",
    description="The ZIP codes inside each jurisdiction: one row per jurisdiction and ZIP. A "
    "city's decide who on its county's roll belongs to it, and whether a written address is "
    "inside a petition's jurisdiction.",
    fields=(
        Field(
            "jurisdiction_code",
            required_column=True,
            required_value=True,
            description=JURISDICTION_CODE.description,
        ),
        Field(
            "zip5",
            "zip",
            required_column=True,
            required_value=True,
            description="a ZIP code inside the jurisdiction, as written",
        ),
    ),
    unique_key=("jurisdiction_code", "zip5"),
    identifying=("jurisdiction_code", "zip5"),
)

VOTER_ROLL = InputSpec(
    name="voter_roll",
    pattern="voter_roll/*",
    description="The county's registration file: one row per registration record.",
    fields=(
        Field(
            "voter_id", required_column=True, required_value=True, description=VOTER_ID.description
        ),
        Field(
            "jurisdiction_code",
            required_column=True,
            required_value=True,
            description=JURISDICTION_CODE.description,
        ),
        Field(
            "last_name", required_column=True, required_value=True, pii=True, description="surname"
        ),
        Field(
            "first_name",
            required_column=True,
            required_value=True,
            pii=True,
            description="first name",
        ),
        Field("middle_name", pii=True, description="middle name or initial"),
        Field("name_suffix", pii=True, description="JR, SR, II, III ..."),
        *_ADDRESS,
        Field(
            "birth_date",
            "date",
            pii=True,
            informational=True,
            description="date of birth; a bad one is set to missing (listed in nulled_values)",
        ),
        Field(
            "registration_date",
            "date",
            required_column=True,
            required_value=True,
            description="when the voter registered",
        ),
        Field(
            "status",
            "enum",
            required_column=True,
            required_value=True,
            allowed=VOTER_STATUSES,
            description="ACTIVE, INACTIVE or CANCELLED (an INACTIVE voter is still registered)",
        ),
        Field(
            "status_reason",
            informational=True,
            description="why the status, e.g. DECEASED, MOVED, DUPLICATE_RECORD, VOTER_REQUEST",
        ),
        Field(
            "status_date",
            "date",
            required_when=("status", "CANCELLED"),
            description="when the status took effect; required when CANCELLED",
        ),
    ),
    unique_key=("voter_id",),
    identifying=("voter_id",),
    key_constraint=False,
)

ADDRESS_HISTORY = InputSpec(
    name="voter_address_history",
    pattern="voter_roll/address_history/*",
    description="Earlier residences of voters and the dates each was their registered address. "
    "A voter may have several, and a file may repeat one: rows are identified by their place in "
    "their file.",
    optional=True,
    fields=(
        Field(
            "voter_id", required_column=True, required_value=True, description=VOTER_ID.description
        ),
        *_ADDRESS,
        Field(
            "valid_from", "date", required_column=True, description="first day it was registered"
        ),
        Field("valid_to", "date", required_column=True, description="last day it was registered"),
    ),
    identifying=("voter_id",),
    key_constraint=False,
)

SECTIONS = InputSpec(
    name="petition_sections",
    pattern="sections.csv",
    per_petition=True,
    description="One row per circulated section of a petition, with its circulator declaration.",
    fields=(
        _SECTION_FIELD,
        Field(
            "circulator_name",
            required_column=True,
            pii=True,
            description="the circulator who made the declaration",
        ),
        Field(
            "declaration_signed",
            "flag",
            required_column=True,
            description="the circulator's declaration is signed",
        ),
        Field("declaration_date", "date", required_column=True, description="when it was signed"),
        Field("jurisdiction_code", required_column=True, description=JURISDICTION_CODE.description),
        Field(
            "filed_with_petition",
            "flag",
            required_column=True,
            required_value=True,
            description="the section was filed with the petition",
        ),
    ),
    unique_key=("petition_id", "section_id"),
    identifying=("section_id",),
)

PETITION_LINES = InputSpec(
    name="petition_lines",
    pattern="scans/*",
    per_petition=True,
    description="Every petition line as keyed from the scanned pages, one file per scan batch; "
    "one row per line (a line set aside at ingestion is in quarantined_rows instead).",
    fields=(
        *_LINE_FIELDS,
        Field(
            "printed_name",
            required_column=True,
            pii=True,
            description="the signer's name as written",
        ),
        Field(
            "residence_address",
            required_column=True,
            pii=True,
            description="the residence address as written, on one line",
        ),
        Field("city", pii=True, description="the city as written"),
        Field("zip", pii=True, description="the ZIP code as written (not checked)"),
        Field("date_signed", "date", description="the date written beside the signature"),
        Field(
            "signature_present",
            "flag",
            required_column=True,
            required_value=True,
            description="a signature is on the line",
        ),
        Field("page_image", description="the page's scan, relative to the petition folder"),
    ),
    unique_key=tuple(LINE_KEY_COLUMNS),
    identifying=("section_id", "page", "line"),
)

SIGNATURE_REVIEWS = InputSpec(
    name="signature_reviews",
    pattern="reviews/*",
    per_petition=True,
    optional=True,
    description="Examiners' comparisons of line signatures with the signatures on file. A line "
    "may be reviewed more than once (the latest finding counts): rows are identified by their "
    "place in their file.",
    fields=(
        *_LINE_FIELDS,
        Field(
            "finding",
            "enum",
            required_column=True,
            required_value=True,
            allowed=REVIEW_FINDINGS,
            description="MATCH or NO_MATCH: the signature against those on file",
        ),
        Field("examiner_id", required_column=True, description="the examiner"),
        Field(
            "reviewed_at",
            required_column=True,
            description="when the finding was made, as written (orders a line's findings)",
        ),
        Field(
            "signatures_compared",
            "integer",
            informational=True,
            description="how many of the voter's signatures on file the examiner compared the "
            "line's with (optional; a NO_MATCH against one alone is examined first)",
        ),
    ),
    identifying=("section_id", "page", "line"),
)

MATCH_REVIEWS = InputSpec(
    name="match_reviews",
    pattern="match_reviews/*",
    per_petition=True,
    optional=True,
    description=(
        "Examiners' decisions on lines the matcher routed to them: the voter registered behind "
        "the line, or none found. The latest decision on a line replaces the matcher's link; a "
        "line may have several, so rows are identified by their place in their file."
    ),
    fields=(
        *_LINE_FIELDS,
        Field(
            "voter_id",
            required_column=True,
            references=("voter_roll", "voter_id"),
            description="the registration the examiner found; empty: no registration found",
        ),
        Field("examiner_id", required_column=True, description="the examiner"),
        Field(
            "reviewed_at",
            "timestamp",
            required_column=True,
            required_value=True,
            description="when decided: local date and time YYYY-MM-DD[T ]HH:MM[:SS], no zone",
        ),
    ),
    identifying=("section_id", "page", "line", "voter_id"),
)

WITHDRAWALS = InputSpec(
    name="withdrawal_requests",
    pattern="withdrawals.csv",
    per_petition=True,
    optional=True,
    description="Voters' requests to withdraw their signature from a petition. A voter may "
    "send more than one: rows are identified by their place in their file.",
    fields=(
        Field(
            "voter_id", required_column=True, required_value=True, description=VOTER_ID.description
        ),
        Field(
            "received_date",
            "date",
            required_column=True,
            required_value=True,
            description="when the request was received",
        ),
    ),
    identifying=("voter_id",),
)

RULINGS = ("ACCEPTED", "REJECTED")

CHALLENGES = InputSpec(
    name="challenges",
    pattern="challenges/*",
    per_petition=True,
    optional=True,
    description=(
        "The proponents' challenges to lines found invalid (the examination after a finding of "
        "insufficiency): one row per challenge, naming the line and the ground it is challenged "
        "on. A challenge is admitted by the verdict step against the line's verdict at the "
        "finding (challenges_set_aside lists those that are not)."
    ),
    fields=(
        Field(
            "challenge_id",
            required_column=True,
            required_value=True,
            description="the challenge's identifier, unique within the petition",
        ),
        *_LINE_FIELDS,
        Field(
            "ground",
            "enum",
            required_column=True,
            required_value=True,
            allowed=ground_codes(),
            description="why the line should count: a ground of reference/challenge_grounds.csv",
        ),
        Field(
            "claimed_voter_id",
            references=("voter_roll", "voter_id"),
            description="the registration the ground names as the signer's (grounds that need "
            "one); must be on the roll",
        ),
        Field("evidence", pii=True, description="what the proponents offer, as free text"),
        Field(
            "filed_by",
            required_column=True,
            required_value=True,
            pii=True,
            description="who filed it for the proponents",
        ),
        Field(
            "filed_at",
            "timestamp",
            required_column=True,
            required_value=True,
            description="when filed: local date and time YYYY-MM-DD[T ]HH:MM[:SS], no zone",
        ),
    ),
    unique_key=("petition_id", "challenge_id"),
    identifying=("challenge_id", "section_id", "page", "line"),
)

CHALLENGE_RULINGS = InputSpec(
    name="challenge_rulings",
    pattern="rulings/*",
    per_petition=True,
    optional=True,
    description=(
        "The registrar's rulings on the proponents' challenges: ACCEPTED decides the challenged "
        "line again, REJECTED changes nothing. A challenge ruled on twice has both rulings set "
        "aside (challenges_set_aside), so rows are identified by their place in their file."
    ),
    fields=(
        Field(
            "challenge_id",
            required_column=True,
            required_value=True,
            references=("challenges", "challenge_id"),
            description="the challenge ruled on",
        ),
        Field(
            "ruling",
            "enum",
            required_column=True,
            required_value=True,
            allowed=RULINGS,
            description="ACCEPTED or REJECTED",
        ),
        Field("ruled_by", required_column=True, required_value=True, description="who ruled"),
        Field(
            "ruled_at",
            "timestamp",
            required_column=True,
            required_value=True,
            description="when ruled: local date and time YYYY-MM-DD[T ]HH:MM[:SS], no zone",
        ),
        Field("note", required_column=True, pii=True, description="the ruling's reasons"),
    ),
    identifying=("challenge_id",),
)

# In dependency order: reference data, then the roll, then what each petition brings.
INPUTS: tuple[InputSpec, ...] = (
    JURISDICTIONS,
    JURISDICTION_ZIPS,
    VOTER_ROLL,
    ADDRESS_HISTORY,
    SECTIONS,
    PETITION_LINES,
    SIGNATURE_REVIEWS,
    MATCH_REVIEWS,
    WITHDRAWALS,
    CHALLENGES,
    CHALLENGE_RULINGS,
)
INPUTS_BY_NAME = {spec.name: spec for spec in INPUTS}

PETITIONS_DIR = "petitions"
PETITION_FILE = "petition.yaml"
