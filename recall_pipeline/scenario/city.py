"""A second petition: recalling a city officer of Santa Clarita, a city inside the county.

The county roll serves it (data-contract.md, "Jurisdictions"): voters stay listed under the
county code, and a voter belongs to the city when the ZIP of the registered residence is one of
the city's ZIPs in `reference/jurisdiction_zips.csv`; a line's written address is inside the
city by the same list. The petition is verified by random sample, and its basis is the roll's
registrations (ACTIVE and INACTIVE) in the city.

Who signs it, and the truth a correct verifier must reach for each (domain.md §3 precedence):

- city voters at their address: VALID (the earliest line of a duplicate signer), or the
  reasons the LA petition has too (signature, cancelled, late, withdrawn, dates, sections);
- county voters registered outside the city, writing their own address: OUT_OF_JURISDICTION
  (the written address is outside the city's ZIPs, precedence 7, whatever the match finds);
- county voters registered outside the city who write an address inside it — a friend's flat,
  a place they moved to without re-registering, or the home they left: ADDRESS_MISMATCH. The
  written address is inside the jurisdiction, so it is not OUT_OF_JURISDICTION, and the signer
  is registered, so it is not NOT_REGISTERED: registered, at another address ("Different
  Address"). Those found only by name carry a full name no other roll record holds; those who
  left a city home are found by that address in their history;
- city voters writing an old address outside the city, or an address outside the county:
  OUT_OF_JURISDICTION;
- people not on the roll (new people, common names, family members of city voters):
  NOT_REGISTERED.

City signers are drawn from voters the LA petition did not use and who have no earlier residence
on file, so what the city adds to the roll (history rows, a registration or cancellation date)
never touches a line of the LA petition. Addresses nobody is registered at are new dwellings in
the city, checked against every existing dwelling key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recall_pipeline.scenario.calibration import (
    LA_PERCENT,
    largest_remainder,
    required_signatures,
    statutory_percent,
)
from recall_pipeline.scenario.geography import LA_CODE
from recall_pipeline.scenario.streets import make_dwellings


@dataclass(frozen=True)
class CityPetition:
    petition_id: str = "santa-clarita-2022-recall"
    jurisdiction_code: str = "0669088"  # the city's Census place code
    name: str = "City of Santa Clarita"
    city: str = "SANTA CLARITA"
    target: str = "City Council Member"
    approved: str = "2022-03-01"
    filed: str = "2022-07-28"
    basis_report_date: str = "2022-02-10"
    sample_seed: int = 20220729
    # Lines filed per signature required: enough for a valid count a little above the
    # requirement, so the sample lands in or near the band that asks for a full count.
    raw_per_required: float = 1.45


CITY = CityPetition()

# Line shares of a city recall: fewer duplicates than a county-wide drive, more signers from
# the wrong side of the city limit.
LINE_WEIGHTS: dict[str, int] = {
    "VALID": 7450,
    "NOT_REGISTERED": 850,
    "DUPLICATE": 450,
    "ADDRESS_MISMATCH": 400,
    "OUT_OF_JURISDICTION": 350,
    "SIGNATURE_MISMATCH": 120,
    "CANCELLED": 100,
    "NO_SIGNATURE": 60,
    "NO_RESIDENCE_ADDRESS": 60,
    "SIGNED_OUTSIDE_PERIOD": 40,
    "WITHDRAWN": 20,
    "REGISTERED_LATE": 20,
    "SECTION_NOT_FILED": 40,
    "CIRCULATOR_DECLARATION_DEFECT": 40,
}


@dataclass
class CityPlan:
    spec: CityPetition
    lines: pd.DataFrame
    sec: pd.DataFrame
    never_signed: np.ndarray
    zips: np.ndarray
    basis: int
    threshold_override: int | None
    percent: int
    required: int
    approved: int
    filed: int

    @property
    def line_counts(self) -> dict[str, int]:
        return self.lines["reason"].value_counts().to_dict()


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


class _NewDwellings:
    """Dwellings nobody lives at, created in given ZIPs and handed out in order."""

    def __init__(self, roll, rng: np.random.Generator, zips: np.ndarray, k: int) -> None:
        self.start = len(roll.dwellings)
        self.used = 0
        if k == 0:
            self.k = 0
            return
        existing = roll.dwellings[roll.dwellings["zip5"].isin(zips)]
        key = ["house_number", "street_predir", "street_name", "street_type", "street_postdir",
               "zip5"]  # fmt: skip
        fresh = []
        have = 0
        while have < k:
            d = make_dwellings(rng, zips, int(k * 1.3) + 16)
            d = d.merge(existing[key].drop_duplicates(), on=key, how="left", indicator=True)
            d = d[d["_merge"] == "left_only"].drop(columns="_merge")
            if fresh:
                d = d[~d.set_index(key).index.isin(pd.concat(fresh).set_index(key).index)]
            fresh.append(d)
            have += len(d)
        new = pd.concat(fresh, ignore_index=True).iloc[:k]
        table = roll.zips.drop_duplicates("zip5").set_index("zip5")
        new["city"] = table.loc[new["zip5"], "city"].to_numpy()
        new["community"] = table.loc[new["zip5"], "community"].to_numpy()
        roll.dwellings = pd.concat([roll.dwellings, new[roll.dwellings.columns]], ignore_index=True)
        self.k = k

    def take(self, k: int) -> np.ndarray:
        if self.used + k > self.k:
            raise RuntimeError("new dwellings exhausted")
        out = np.arange(self.start + self.used, self.start + self.used + k)
        self.used += k
        return out


def plan_city(roll, la_lines: pd.DataFrame, la_never_signed: np.ndarray, rng, spec=CITY):
    """Every line of the city petition, placed into sections; the roll gains what they need."""
    from recall_pipeline.scenario.la2022 import (
        NO_DATE,
        Signers,
        _place,
        _settle_duplicates,
        _sign_dates,
        _split,
    )

    approved, filed = _day(spec.approved), _day(spec.filed)

    def dates(k: int, latest: int = filed) -> np.ndarray:
        return _sign_dates(rng, k, latest, approved)

    la = roll.zips[roll.zips["jurisdiction_code"] == LA_CODE]
    city_zips = la.loc[la["city"] == spec.city, "zip5"].to_numpy()
    other_zips = la.loc[la["city"] != spec.city, "zip5"].to_numpy()
    voter_zip = roll.dwellings["zip5"].to_numpy()[roll.household]
    in_city = np.isin(voter_zip, city_zips)
    registered = roll.status != "CANCELLED"
    basis = int((registered & in_city).sum())
    # As for LA: a scaled-down city keeps the percent of its full size.
    override = LA_PERCENT if basis < 100_000 else None
    percent = override if override is not None else statutory_percent(basis)
    required = required_signatures(basis, percent)
    raw = max(int(round(required * spec.raw_per_required)), 30)
    t = largest_remainder(LINE_WEIGHTS, raw)

    taken = np.zeros(roll.n, bool)
    voters = la_lines["voter"].to_numpy()
    taken[voters[voters >= 0]] = True
    taken[la_never_signed] = True
    settled = np.zeros(roll.n, bool)
    settled[roll.history["voter"].to_numpy(np.int64)] = True
    free = ~taken & ~settled
    city = Signers.drawing_from(
        roll,
        rng,
        rng.permutation(np.nonzero(registered & in_city & free)[0]),
        rng.permutation(np.nonzero(~registered & in_city & free)[0]),
        taken,
    )
    county = Signers.drawing_from(
        roll, rng, rng.permutation(np.nonzero(registered & ~in_city & free)[0]), [], taken
    )

    am = _split(
        t["ADDRESS_MISMATCH"],
        {"old_city_address": 0.4, "county_voter_city_address": 0.35, "moved_out_of_city": 0.25},
    )
    oo = _split(
        t["OUT_OF_JURISDICTION"],
        {"county_voter_outside_city": 0.5, "out_of_county": 0.3, "old_address_outside_city": 0.2},
    )
    ooc = _split(oo["out_of_county"], {"roll": 0.6, "unregistered": 0.4})
    nr = _split(t["NOT_REGISTERED"], {"absent": 0.5, "shared": 0.25, "family": 0.25})
    nsig = _split(t["NO_SIGNATURE"], {"roll": 0.7, "unregistered": 0.3})
    nres = _split(t["NO_RESIDENCE_ADDRESS"], {"roll": 0.6, "unregistered": 0.4})
    snf = _split(t["SECTION_NOT_FILED"], {"roll": 0.85, "unregistered": 0.15})
    cdd = _split(t["CIRCULATOR_DECLARATION_DEFECT"], {"roll": 0.85, "unregistered": 0.15})
    vacant = _NewDwellings(
        roll,
        rng,
        city_zips,
        am["old_city_address"]
        + am["county_voter_city_address"]
        + am["moved_out_of_city"]
        + nr["absent"]
        + nr["shared"]
        + nsig["unregistered"]
        + snf["unregistered"]
        + cdd["unregistered"],
    )
    elsewhere = _NewDwellings(
        roll,
        rng,
        rng.choice(other_zips, size=min(12, len(other_zips)), replace=False),
        oo["old_address_outside_city"],
    )
    history = []

    def left_before(v, dwellings):
        left_on = approved - rng.integers(1, 1500, len(v))
        history.append(
            pd.DataFrame(
                {
                    "voter": v,
                    "dwelling": dwellings,
                    "valid_from": left_on - rng.integers(200, 4000, len(v)),
                    "valid_to": left_on,
                }
            )
        )

    parts: list[pd.DataFrame] = []
    n_dup = t["DUPLICATE"]
    triple = n_dup // 12
    double = n_dup - 2 * triple
    dup_voters = city.voters(double + triple)
    dv = np.repeat(dup_voters, np.where(np.arange(len(dup_voters)) < triple, 3, 2))
    parts.append(
        city.roll_part(dv, reason="DUP_GROUP", case="duplicate", dup_group=dv, date=dates(len(dv)))
    )
    valid_left = t["VALID"] - len(dup_voters)
    if valid_left < 0:
        raise AssertionError("VALID target smaller than the duplicate signers")
    blank = int(round(valid_left * 0.002))
    v = city.voters(blank)
    parts.append(city.roll_part(v, reason="VALID", case="blank_date", date=NO_DATE))
    v = city.voters(valid_left - blank)
    parts.append(city.roll_part(v, reason="VALID", case="plain", date=dates(len(v))))

    v = city.voters(am["old_city_address"])
    dw = vacant.take(len(v))
    left_before(v, dw)
    parts.append(
        city.roll_part(
            v, reason="ADDRESS_MISMATCH", case="old_city_address", dwelling=dw, date=dates(len(v))
        )
    )
    v = county.voters(am["county_voter_city_address"], unique_name=True)
    parts.append(
        county.roll_part(
            v,
            reason="ADDRESS_MISMATCH",
            case="county_voter_city_address",
            dwelling=vacant.take(len(v)),
            noisy_name=False,
            date=dates(len(v)),
        )
    )
    v = county.voters(am["moved_out_of_city"])
    dw = vacant.take(len(v))
    left_before(v, dw)
    parts.append(
        county.roll_part(
            v, reason="ADDRESS_MISMATCH", case="moved_out_of_city", dwelling=dw, date=dates(len(v))
        )
    )

    v = county.voters(oo["county_voter_outside_city"])
    parts.append(
        county.roll_part(
            v, reason="OUT_OF_JURISDICTION", case="county_voter_outside_city", date=dates(len(v))
        )
    )
    v = city.voters(ooc["roll"])
    parts.append(
        city.roll_part(
            v,
            reason="OUT_OF_JURISDICTION",
            case="registered_signer",
            addr_kind="ooj",
            date=dates(len(v)),
        )
    )
    k = ooc["unregistered"]
    parts.append(
        city.unregistered_part(
            k,
            reason="OUT_OF_JURISDICTION",
            case="unregistered_signer",
            addr_kind="ooj",
            date=dates(k),
        )
    )
    v = city.voters(oo["old_address_outside_city"])
    dw = elsewhere.take(len(v))
    left_before(v, dw)
    parts.append(
        city.roll_part(
            v,
            reason="OUT_OF_JURISDICTION",
            case="old_address_outside_city",
            dwelling=dw,
            date=dates(len(v)),
        )
    )

    v = city.voters(t["SIGNATURE_MISMATCH"])
    parts.append(
        city.roll_part(
            v,
            reason="SIGNATURE_MISMATCH",
            case="examiner_no_match",
            review="NO_MATCH",
            date=dates(len(v)),
        )
    )
    v = city.cancelled_voters(t["CANCELLED"])
    signed = dates(len(v))
    roll.status_date[v] = np.maximum(
        roll.registration[v] + 1, signed - rng.integers(1, 900, len(v))
    )
    parts.append(
        city.roll_part(v, reason="CANCELLED", case="cancelled_before_signing", date=signed)
    )
    v = city.voters(t["REGISTERED_LATE"])
    roll.registration[v] = filed + rng.integers(1, 120, len(v))
    parts.append(
        city.roll_part(
            v, reason="REGISTERED_LATE", case="registered_after_filing", date=dates(len(v))
        )
    )
    v = city.voters(t["WITHDRAWN"])
    signed = dates(len(v), filed - 2)
    received = signed + 1 + (rng.random(len(v)) * (filed - 1 - signed)).astype(np.int64)
    parts.append(
        city.roll_part(
            v, reason="WITHDRAWN", case="withdrawal_on_file", date=signed, withdrawn_on=received
        )
    )
    v = city.voters(t["SIGNED_OUTSIDE_PERIOD"])
    u = rng.random(len(v))
    outside = np.where(
        u < 0.5, approved - rng.integers(1, 90, len(v)), filed + rng.integers(1, 45, len(v))
    )
    parts.append(
        city.roll_part(v, reason="SIGNED_OUTSIDE_PERIOD", case="dated_outside", date=outside)
    )

    v = city.voters(nres["roll"])
    parts.append(
        city.roll_part(
            v,
            reason="NO_RESIDENCE_ADDRESS",
            case="registered_signer",
            addr_kind="none",
            date=dates(len(v)),
        )
    )
    k = nres["unregistered"]
    parts.append(
        city.unregistered_part(
            k,
            reason="NO_RESIDENCE_ADDRESS",
            case="unregistered_signer",
            addr_kind="none",
            date=dates(k),
        )  # fmt: skip
    )
    v = city.voters(nsig["roll"])
    parts.append(
        city.roll_part(
            v, reason="NO_SIGNATURE", case="registered_signer", signature=False, date=dates(len(v))
        )
    )
    k = nsig["unregistered"]
    parts.append(
        city.unregistered_part(
            k,
            reason="NO_SIGNATURE",
            case="unregistered_signer",
            signature=False,
            dwelling=vacant.take(k),
            date=dates(k),
        )
    )

    k = nr["absent"]
    parts.append(
        city.unregistered_part(
            k, reason="NOT_REGISTERED", case="new_person", dwelling=vacant.take(k), date=dates(k)
        )
    )
    k = nr["shared"]
    parts.append(
        city.unregistered_part(
            k,
            names=city.shared_names(k),
            reason="NOT_REGISTERED",
            case="common_name_elsewhere",
            dwelling=vacant.take(k),
            date=dates(k),
        )
    )
    homes = np.nonzero(np.isin(roll.dwellings["zip5"].to_numpy()[: roll.n_households], city_zips))[
        0
    ]
    k = nr["family"]
    parts.append(
        city.family_members(
            k,
            within=homes,
            reason="NOT_REGISTERED",
            case="family_member_unregistered",
            date=dates(k),
        )
    )

    for reason, kind, split in (
        ("SECTION_NOT_FILED", "snf", snf),
        ("CIRCULATOR_DECLARATION_DEFECT", "cdd", cdd),
    ):
        v = city.voters(split["roll"])
        no_sig = rng.random(len(v)) < 0.08
        parts.append(
            city.roll_part(
                v,
                reason=reason,
                case="section_defect",
                section_kind=kind,
                signature=~no_sig,
                date=dates(len(v)),
            )
        )
        k = split["unregistered"]
        parts.append(
            city.unregistered_part(
                k,
                reason=reason,
                case="section_defect",
                section_kind=kind,
                dwelling=vacant.take(k),
                date=dates(k),
            )
        )

    if history:
        rows = pd.concat(history, ignore_index=True)
        roll.history = rows if roll.history.empty else pd.concat([roll.history, rows])
        roll.history = roll.history.reset_index(drop=True)
    never_signed = city.voters(max(2, int(round(4 * raw / 1000))))
    lines = pd.concat([p for p in parts if len(p)], ignore_index=True)
    lines, sec = _place(lines, rng)
    sec["section_id"] = "C" + pd.Series(np.arange(1, len(sec) + 1)).astype(str).str.zfill(5)
    lines = _settle_duplicates(lines)
    lines = lines.sort_values(["section_no", "slot"], kind="stable").reset_index(drop=True)
    return CityPlan(
        spec=spec,
        lines=lines,
        sec=sec,
        never_signed=never_signed,
        zips=city_zips,
        basis=basis,
        threshold_override=override,
        percent=percent,
        required=required,
        approved=approved,
        filed=filed,
    )


def petition_yaml(plan: CityPlan) -> str:
    spec = plan.spec
    if plan.threshold_override is None:
        threshold = "threshold_percent: null            # null: EC §11221 table"
    else:
        threshold = (
            f"threshold_percent: {plan.threshold_override}"
            "                # a scaled scenario keeps the full-size city's percent"
        )
    return f"""petition_id: {spec.petition_id}
kind: local_recall                 # selects the statutory defaults (percent table, 5 %, 90–110 %)
jurisdiction_code: "{spec.jurisdiction_code}"   # {spec.name}, inside Los Angeles County
target: {spec.target}
approved_for_circulation: {spec.approved}
filed_date: {spec.filed}
registered_voters_basis: {plan.basis}   # the roll's registrations in the city
basis_report_date: {spec.basis_report_date}
{threshold}
verification:
  method: random_sample            # the city clerk asked for the sample only
  sample_seed: {spec.sample_seed}
  sufficient_when: greater_than    # greater_than | at_least
registration_cutoff: filed_date    # filed_date | signing_date
duplicates_keep: earliest          # which of a voter's valid lines counts
unreviewed_signatures: presume_valid   # presume_valid | pending
"""
