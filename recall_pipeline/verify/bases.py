"""The signature requirement under each basis: the official one and the others a petition's
readers argue from.

Which count of registered voters the percent of EC §11221 applies to is disputed in practice:
EC §2226(a)(2) leaves voters on the inactive file out of the calculation, a county's published
counts of "active" voters disagree between reports, and in Los Angeles in 2022 the proponents
argued from 5,438,400 active voters rather than the 5,668,569 the registrar used. So beside the
official determination, each petition gets the requirement, margin and result under:

- the official basis (`registered_voters_basis`, the last report before approval);
- each `alternative_bases` entry of petition.yaml, with the source it names;
- what the published roll itself counts in the jurisdiction: its ACTIVE registrations, and all
  its registrations in force (ACTIVE and INACTIVE; a CANCELLED record is no registration).

Each requirement comes from the same functions as the official one (`verify.determination`):
the percent from the EC §11221 table by that basis's own count (a different count may fall in
another band), or the petition's `threshold_percent` when it sets one; the result is the full
count's rule (EC §11224, `sufficient_when`) applied to the petition's VALID lines. None of this
changes the official determination.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from recall_pipeline.contract import PETITION_FILE, PETITIONS_DIR
from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.verify import determination as law
from recall_pipeline.verify import jurisdiction
from recall_pipeline.verify.reasons import VALID

OFFICIAL = "official"
ALTERNATIVE = "alternative"
ROLL = "roll"
KINDS = (OFFICIAL, ALTERNATIVE, ROLL)

OFFICIAL_NAME = "registered voters (official basis)"
ROLL_ACTIVE_NAME = "roll: active registrations"
ROLL_REGISTERED_NAME = "roll: all registrations (active and inactive)"
# The roll's statuses a registration in force has (data contract: INACTIVE voters are still
# registered).
ACTIVE = "ACTIVE"
REGISTERED_STATUSES = ("ACTIVE", "INACTIVE")

# The roll's grouped counts `roll_counts` reads (see `RollExtract.groups`).
GROUP_COLUMNS = ("jurisdiction_code", "zip", "status", "registrations")


@dataclass(frozen=True)
class RollExtract:
    """The published roll, counted: registrations per county code, residence ZIP and status
    (`groups`, columns `GROUP_COLUMNS`), the latest date the roll records (it carries no
    extract date of its own) and the files it was read from."""

    groups: pd.DataFrame
    latest_date: dt.date | None
    files: tuple[str, ...]

    def source(self) -> str:
        shown = ", ".join(self.files[:5])
        more = f" and {len(self.files) - 5} more" if len(self.files) > 5 else ""
        return (
            f"voter_roll as published from {shown or 'no file'}{more} (the extract is undated: "
            "as of is the latest registration or status date it records)"
        )


@dataclass(frozen=True)
class RollCount:
    """What the roll counts in one jurisdiction, and where and when it says so."""

    active: int
    registered: int
    as_of: dt.date | None
    source: str


def roll_counts(roll: RollExtract, code: str, zips: Collection[str]) -> RollCount:
    """The roll's ACTIVE registrations and registrations in force in jurisdiction `code` (whose
    ZIPs are `zips`), by the rule every other cut of the roll uses (`verify.jurisdiction`: the
    roll's county code, or a residence ZIP listed for the jurisdiction)."""
    groups = roll.groups
    inside = groups[jurisdiction.memberships(groups, {code: zips})[code]]
    status = inside["status"]
    return RollCount(
        active=int(inside.loc[status == ACTIVE, "registrations"].sum()),
        registered=int(inside.loc[status.isin(REGISTERED_STATUSES), "registrations"].sum()),
        as_of=roll.latest_date,
        source=roll.source(),
    )


def valid_lines(verdicts: pd.DataFrame) -> int:
    """The petition's VALID lines, every line's verdict counted (as a full count counts them)."""
    return int((verdicts["status"] == VALID).sum())


def requirement(config: PetitionConfig, registered: int, valid: int) -> dict:
    """The requirement under a basis of `registered` voters and what `valid` lines make of it,
    by the official determination's own arithmetic."""
    percent = law.threshold_percent(registered, config.threshold_percent)
    required = law.required_signatures(registered, percent)
    return {
        "registered_voters": registered,
        "threshold_percent": float(percent),
        "required": required,
        "valid": valid,
        "margin": valid - required,
        "result": law.full_count_result(valid, required, config.sufficient_when),
        "lines_to_flip": law.lines_to_flip(valid, required, config.sufficient_when)[0],
    }


def requirement_bases(config: PetitionConfig, valid: int, roll: RollCount | None) -> list[dict]:
    """One row per basis of the petition (see the module's docstring), in the order shown:
    official, the alternatives as the file lists them, then the roll's counts (those it has:
    a roll that counts nobody in the jurisdiction is no basis)."""
    official_source = (
        f"{PETITIONS_DIR}/{config.petition_id}/{PETITION_FILE}: registered_voters_basis, the "
        "county's last report of registration before approval"
    )
    bases: list[tuple[str, str, int, dt.date | None, str]] = [
        (
            OFFICIAL,
            OFFICIAL_NAME,
            config.registered_voters_basis,
            config.basis_report_date,
            official_source,
        ),
        *(
            (ALTERNATIVE, b.name, b.registered_voters, b.as_of, b.source)
            for b in config.alternative_bases
        ),
    ]
    if roll is not None:
        bases += [
            (ROLL, name, count, roll.as_of, roll.source)
            for name, count in (
                (ROLL_ACTIVE_NAME, roll.active),
                (ROLL_REGISTERED_NAME, roll.registered),
            )
            if count > 0
        ]
    return [
        {
            "petition_id": config.petition_id,
            "position": position,
            "kind": kind,
            "basis": name,
            "as_of": as_of,
            "source": source,
            **requirement(config, registered, valid),
        }
        for position, (kind, name, registered, as_of, source) in enumerate(bases, start=1)
    ]
