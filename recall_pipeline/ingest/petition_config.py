"""petition.yaml: the petition and the settings its verification follows.

Every field is checked and every problem reported at once, so a clerk fixes the file in one pass.
The settings are part of what makes a determination reproducible, so their canonical form is
hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from recall_pipeline.ingest.errors import PetitionConfigError

PETITION_KINDS = ("local_recall", "state_recall", "initiative")
VERIFICATION_METHODS = ("full_count", "random_sample", "auto")
SUFFICIENT_WHEN = ("greater_than", "at_least")
REGISTRATION_CUTOFFS = ("filed_date", "signing_date")
DUPLICATES_KEEP = ("earliest", "latest")
UNREVIEWED_SIGNATURES = ("presume_valid", "pending")


class _TextDatesLoader(yaml.SafeLoader):
    """Leaves dates as text so that a bad one is reported like any other wrong value."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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

    def settings_sha256(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, default=str).encode()
        return hashlib.sha256(canonical).hexdigest()


def load_petition_config(path: Path, relative: str, folder_name: str) -> PetitionConfig:
    """Parse and validate one petition.yaml; `folder_name` must equal its petition_id."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDatesLoader)
    except UnicodeDecodeError as exc:
        raise PetitionConfigError(relative, [f"not valid UTF-8 (byte offset {exc.start})"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PetitionConfigError(relative, [f"not valid YAML{where}"]) from exc
    if not isinstance(raw, dict):
        raise PetitionConfigError(relative, ["expected a mapping of settings"])
    return _validate(raw, relative, folder_name)


def _validate(raw: dict[str, Any], relative: str, folder_name: str) -> PetitionConfig:
    problems: list[str] = []
    verification = raw.get("verification")
    if verification is None:
        verification = {}
    elif not isinstance(verification, dict):
        problems.append("verification: expected a mapping (method, sample_seed, sufficient_when)")
        verification = {}

    def text(name: str, source: dict[str, Any] = raw, prefix: str = "") -> str:
        value = source.get(name)
        if value is None or str(value).strip() == "":
            problems.append(f"{prefix}{name}: missing")
            return ""
        return str(value).strip()

    def choice(name: str, allowed: tuple[str, ...], source=raw, prefix="", default=None) -> str:
        value = source.get(name, default)
        if value is None:
            problems.append(f"{prefix}{name}: missing (one of {', '.join(allowed)})")
            return ""
        if str(value) not in allowed:
            problems.append(f"{prefix}{name}: {value!r} is not one of {', '.join(allowed)}")
            return ""
        return str(value)

    def date(name: str) -> dt.date:
        value = raw.get(name)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if value is None:
            problems.append(f"{name}: missing (a date, YYYY-MM-DD)")
        else:
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                problems.append(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
        return dt.date.min

    def integer(name: str, source=raw, prefix="", minimum: int = 0) -> int:
        value = source.get(name)
        if value is None:
            problems.append(f"{prefix}{name}: missing (a whole number)")
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{prefix}{name}: {value!r} is not a whole number")
            return 0
        if value < minimum:
            problems.append(f"{prefix}{name}: {value} is below {minimum}")
        return value

    petition_id = text("petition_id")
    if petition_id and petition_id != folder_name:
        problems.append(
            f"petition_id: {petition_id!r} does not match its folder name {folder_name!r}"
        )
    kind = choice("kind", PETITION_KINDS)
    jurisdiction_code = text("jurisdiction_code")
    target = text("target")
    approved = date("approved_for_circulation")
    filed = date("filed_date")
    if approved != dt.date.min and filed != dt.date.min and filed < approved:
        problems.append(f"filed_date: {filed} is before approved_for_circulation {approved}")
    basis = integer("registered_voters_basis", minimum=1)
    basis_report_date = date("basis_report_date")
    if (
        basis_report_date != dt.date.min
        and approved != dt.date.min
        and basis_report_date > approved
    ):
        problems.append(
            f"basis_report_date: {basis_report_date} is after approved_for_circulation {approved}"
            " (the basis is the last report before approval)"
        )
    threshold = raw.get("threshold_percent")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 < threshold <= 100
    ):
        problems.append(f"threshold_percent: {threshold!r} is not a percent in (0, 100] or null")
        threshold = None
    method = choice("method", VERIFICATION_METHODS, verification, "verification.")
    seed = integer("sample_seed", verification, "verification.")
    sufficient_when = choice(
        "sufficient_when", SUFFICIENT_WHEN, verification, "verification.", "greater_than"
    )
    cutoff = choice("registration_cutoff", REGISTRATION_CUTOFFS, default="filed_date")
    keep = choice("duplicates_keep", DUPLICATES_KEEP, default="earliest")
    unreviewed = choice("unreviewed_signatures", UNREVIEWED_SIGNATURES, default="presume_valid")
    if problems:
        raise PetitionConfigError(relative, problems)
    return PetitionConfig(
        petition_id=petition_id,
        kind=kind,
        jurisdiction_code=jurisdiction_code,
        target=target,
        approved_for_circulation=approved,
        filed_date=filed,
        registered_voters_basis=basis,
        basis_report_date=basis_report_date,
        threshold_percent=None if threshold is None else float(threshold),
        verification_method=method,
        sample_seed=seed,
        sufficient_when=sufficient_when,
        registration_cutoff=cutoff,
        duplicates_keep=keep,
        unreviewed_signatures=unreviewed,
    )
