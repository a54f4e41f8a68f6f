"""petition.yaml: the petition and the settings its verification follows.

The file is read by a declared schema (`PetitionSettings`, pydantic): a key the schema does not
know, a key given twice, a value of the wrong kind are each a problem, reported with the key's
dotted path and its line in the file, every problem at once, so a clerk fixes the file in one
pass. Nothing falls back to a default that the file tried to set.

The settings are part of what makes a determination reproducible, so their canonical form is
hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, StrictInt, model_validator

from recall_pipeline.ingest.errors import PetitionConfigError
from recall_pipeline.yaml_settings import StrictSettings, at_line, read_yaml, validate

Kind = Literal["local_recall", "state_recall", "initiative"]
Method = Literal["full_count", "random_sample", "auto"]
SufficientWhen = Literal["greater_than", "at_least"]
Cutoff = Literal["filed_date", "signing_date"]
Keep = Literal["earliest", "latest"]
Unreviewed = Literal["presume_valid", "pending"]

PETITION_KINDS = get_args(Kind)
VERIFICATION_METHODS = get_args(Method)
SUFFICIENT_WHEN = get_args(SufficientWhen)
REGISTRATION_CUTOFFS = get_args(Cutoff)
DUPLICATES_KEEP = get_args(Keep)
UNREVIEWED_SIGNATURES = get_args(Unreviewed)


def _iso_date(value: Any) -> dt.date:
    # Only YYYY-MM-DD: pydantic would also take a number as a Unix time.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _text(value: Any) -> Any:
    # A code written unquoted (jurisdiction_code: 19) is still its text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _percent(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 100:
        return float(value)
    raise ValueError(f"{value!r} is not a percent in (0, 100] or null")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Percent = Annotated[float | None, BeforeValidator(_percent)]
Text = Annotated[str, BeforeValidator(_text), Field(min_length=1)]


class Verification(StrictSettings):
    method: Method
    sample_seed: StrictInt = Field(ge=0)
    sufficient_when: SufficientWhen = "greater_than"


class AlternativeBasis(StrictSettings):
    """Another count of registered voters the requirement is compared against: which figure is
    the basis is disputed in practice (EC §2226(a)(2) leaves inactive voters out, and a county's
    own reports disagree), so each one names where it comes from."""

    name: Text
    registered_voters: StrictInt = Field(ge=1)
    as_of: IsoDate
    source: Text


class Examination(StrictSettings):
    started: IsoDate


class PetitionSettings(StrictSettings):
    """The schema of petition.yaml."""

    petition_id: Text
    kind: Kind
    jurisdiction_code: Text
    target: Text
    approved_for_circulation: IsoDate
    filed_date: IsoDate
    registered_voters_basis: StrictInt = Field(ge=1)
    basis_report_date: IsoDate
    threshold_percent: Percent = None
    verification: Verification
    registration_cutoff: Cutoff = "filed_date"
    duplicates_keep: Keep = "earliest"
    unreviewed_signatures: Unreviewed = "presume_valid"
    alternative_bases: tuple[AlternativeBasis, ...] = ()
    examination: Examination | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> PetitionSettings:
        approved, problems = self.approved_for_circulation, []
        if self.filed_date < approved:
            problems.append(
                f"filed_date: {self.filed_date} is before approved_for_circulation {approved}"
            )
        if self.basis_report_date > approved:
            problems.append(
                f"basis_report_date: {self.basis_report_date} is after approved_for_circulation "
                f"{approved} (the basis is the last report before approval)"
            )
        if self.examination is not None and self.examination.started < self.filed_date:
            # The examination follows a finding of insufficiency, which follows the filing.
            problems.append(
                f"examination: started {self.examination.started} is before filed_date "
                f"{self.filed_date} (the examination follows the finding on the filed petition)"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self


# SB 1441 (2024): the proponents' examination ends within 60 days of its start.
EXAMINATION_DAYS = 60


@dataclass(frozen=True)
class Basis:
    """An alternative basis as petition.yaml gives it."""

    name: str
    registered_voters: int
    as_of: dt.date
    source: str


def bases_json(bases: tuple[Basis, ...]) -> str:
    """The alternative bases as the petitions table keeps them: a JSON list, in the file's
    order."""
    return json.dumps([{**asdict(b), "as_of": b.as_of.isoformat()} for b in bases])


def bases_from_json(text: str | None) -> tuple[Basis, ...]:
    if not text:
        return ()
    return tuple(
        Basis(
            name=item["name"],
            registered_voters=int(item["registered_voters"]),
            as_of=dt.date.fromisoformat(item["as_of"]),
            source=item["source"],
        )
        for item in json.loads(text)
    )


@dataclass(frozen=True)
class PetitionConfig:
    petition_id: str
    kind: str
    jurisdiction_code: str
    target: str
    approved_for_circulation: dt.date
    filed_date: dt.date
    registered_voters_basis: int
    basis_report_date: dt.date
    threshold_percent: float | None
    verification_method: str
    sample_seed: int
    sufficient_when: str
    registration_cutoff: str
    duplicates_keep: str
    unreviewed_signatures: str
    alternative_bases: tuple[Basis, ...] = ()
    examination_started: dt.date | None = None

    @property
    def examination_ends(self) -> dt.date | None:
        """The last day the law allows the proponents' examination, once it has started."""
        if self.examination_started is None:
            return None
        return self.examination_started + dt.timedelta(days=EXAMINATION_DAYS)

    def settings_sha256(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, default=str).encode()
        return hashlib.sha256(canonical).hexdigest()


def load_petition_config(path: Path, relative: str, folder_name: str) -> PetitionConfig:
    """Parse and validate one petition.yaml; `folder_name` must equal its petition_id."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PetitionConfigError(relative, [f"not valid UTF-8 (byte offset {exc.start})"]) from exc
    raw, lines = read_yaml(text, relative, PetitionConfigError)
    if not isinstance(raw, dict):
        raise PetitionConfigError(relative, ["expected a mapping of settings"])
    settings, problems = validate(PetitionSettings, raw, lines, _describe)
    petition_id = _text(raw.get("petition_id"))
    if isinstance(petition_id, str) and petition_id.strip() and petition_id.strip() != folder_name:
        problems.append(
            f"petition_id: {petition_id.strip()!r} does not match its folder name "
            f"{folder_name!r}{at_line(lines, ('petition_id',))}"
        )
    if isinstance(settings, PetitionSettings):
        problems += _repeated_basis_names(settings.alternative_bases, lines)
    if problems or not isinstance(settings, PetitionSettings):
        raise PetitionConfigError(relative, problems)
    return PetitionConfig(
        petition_id=settings.petition_id,
        kind=settings.kind,
        jurisdiction_code=settings.jurisdiction_code,
        target=settings.target,
        approved_for_circulation=settings.approved_for_circulation,
        filed_date=settings.filed_date,
        registered_voters_basis=settings.registered_voters_basis,
        basis_report_date=settings.basis_report_date,
        threshold_percent=settings.threshold_percent,
        verification_method=settings.verification.method,
        sample_seed=settings.verification.sample_seed,
        sufficient_when=settings.verification.sufficient_when,
        registration_cutoff=settings.registration_cutoff,
        duplicates_keep=settings.duplicates_keep,
        unreviewed_signatures=settings.unreviewed_signatures,
        alternative_bases=tuple(
            Basis(b.name, b.registered_voters, b.as_of, b.source)
            for b in settings.alternative_bases
        ),
        examination_started=settings.examination.started if settings.examination else None,
    )


def _repeated_basis_names(bases: tuple[AlternativeBasis, ...], lines) -> list[str]:
    # A basis is published under its name: two of one name (whatever their case) would be
    # one row the reader cannot tell apart.
    seen: dict[str, int] = {}
    problems = []
    for i, basis in enumerate(bases):
        key = basis.name.casefold()
        if key in seen:
            problems.append(
                f"alternative_bases.{i}.name: {basis.name!r} is already the name of "
                f"alternative_bases.{seen[key]}{at_line(lines, ('alternative_bases', i, 'name'))}"
            )
        else:
            seen[key] = i
    return problems


_ALLOWED = {
    ("kind",): PETITION_KINDS,
    ("verification", "method"): VERIFICATION_METHODS,
    ("verification", "sufficient_when"): SUFFICIENT_WHEN,
    ("registration_cutoff",): REGISTRATION_CUTOFFS,
    ("duplicates_keep",): DUPLICATES_KEEP,
    ("unreviewed_signatures",): UNREVIEWED_SIGNATURES,
}
_DATES = ("approved_for_circulation", "filed_date", "basis_report_date", "as_of", "started")
_NUMBERS = ("registered_voters_basis", "sample_seed", "registered_voters")


def _describe(path: tuple, error: dict) -> str | None:
    """The petition's own wording: what a missing value should be, the choices of an enum."""
    kind, allowed, name = error["type"], _ALLOWED.get(path), path[-1]
    if kind in ("missing", "string_too_short", "too_short"):
        if allowed:
            return f"missing (one of {', '.join(allowed)})"
        if name in _DATES:
            return "missing (a date, YYYY-MM-DD)"
        if name in _NUMBERS:
            return "missing (a whole number)"
        if name == "verification":
            return "missing (a mapping: method, sample_seed, sufficient_when)"
        if path[:1] == ("alternative_bases",) and name == "source":
            return "missing (every basis names where its figure comes from)"
        return None
    if allowed and kind == "literal_error":
        return f"{error.get('input')!r} is not one of {', '.join(allowed)}"
    if kind == "extra_forbidden":
        return "not a setting petition.yaml has (misspelt, or in the wrong block?)"
    return None
