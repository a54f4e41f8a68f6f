"""The LA 2022 scenario generator: calibration, determinism, and that every planted cause is
visible in the raw data and decidable by the rules a verifier follows."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recall_pipeline.reference import read_reference
from recall_pipeline.scenario import generate_scenario, targets
from recall_pipeline.scenario.calibration import LINE_COUNTS, largest_remainder
from recall_pipeline.scenario.names import osa_distance

# A larger scale (e.g. SCENARIO_TEST_SCALE=0.03) makes the decidability checks much stricter.
SCALE = float(os.environ.get("SCENARIO_TEST_SCALE", "0.003"))
PETITION = "petitions/la-2022-da-recall"
APPROVED, FILED = "2022-01-27", "2022-07-06"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenario")
    summary = generate_scenario("la-2022", SCALE, 11, root / "data", root / "truth")
    return root, summary


def _read_all(folder: Path, pattern: str) -> pd.DataFrame:
    files = sorted(folder.glob(pattern))
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True
    )


@pytest.fixture(scope="module")
def data(generated):
    root, _ = generated
    d = root / "data"
    truth = pd.read_csv(root / "truth" / "line_truth.csv", dtype=str, keep_default_na=False)
    scans = _read_all(d / PETITION / "scans", "*.csv")
    key = ["section_id", "page", "line"]
    lines = truth.merge(scans, on=key, how="left", validate="one_to_one")
    return {
        "root": root,
        "truth": truth,
        "scans": scans,
        "lines": lines,
        "roll": _read_all(d / "voter_roll", "roll_part_*.csv"),
        "history": _read_all(d / "voter_roll" / "address_history", "*.csv"),
        "sections": pd.read_csv(d / PETITION / "sections.csv", dtype=str, keep_default_na=False),
        "reviews": _read_all(d / PETITION / "reviews", "*.csv"),
        "withdrawals": pd.read_csv(
            d / PETITION / "withdrawals.csv", dtype=str, keep_default_na=False
        ),
        "zips": pd.read_csv(d / "reference" / "jurisdiction_zips.csv", dtype=str),
        "determination": json.loads((root / "truth" / "expected_determination.json").read_text()),
        "petition": yaml.safe_load((d / PETITION / "petition.yaml").read_text()),
    }


# ---- calibration -----------------------------------------------------------------------------


def test_scale_one_reproduces_published_figures():
    t = targets(1)
    assert t.lines == LINE_COUNTS
    assert t.raw_count == 715_833
    assert t.registered_voters_basis == 5_668_569
    assert t.threshold_override is None and t.threshold_percent == 10
    assert t.required == 566_857
    assert t.result == "INSUFFICIENT" and t.margin == -46_807
    other = [
        "SECTION_NOT_FILED",
        "CIRCULATOR_DECLARATION_DEFECT",
        "NO_SIGNATURE",
        "WITHDRAWN",
        "NO_RESIDENCE_ADDRESS",
        "SIGNED_OUTSIDE_PERIOD",
        "REGISTERED_LATE",
    ]
    assert sum(t.lines[c] for c in other) == 9_331
    assert sum(v for k, v in t.lines.items() if k != "VALID") == 195_783


@pytest.mark.parametrize("scale", [0.0005, 0.003, 0.1, 0.37, 2.5])
def test_scaled_targets_sum_exactly(scale):
    t = targets(scale)
    assert sum(t.lines.values()) == t.raw_count == int(np.floor(715_833 * scale + 0.5))
    assert t.registered_voters_basis == t.active + t.inactive
    if t.registered_voters_basis < 100_000:
        assert t.threshold_override == 10
    assert t.required == -(-t.threshold_percent * t.registered_voters_basis // 100)


def test_largest_remainder():
    assert largest_remainder({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    assert sum(largest_remainder(LINE_COUNTS, 12_345).values()) == 12_345


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_scenario("la-2024", 0.01, 1, tmp_path / "d", tmp_path / "t")
    with pytest.raises(ValueError):
        generate_scenario("la-2022", 0, 1, tmp_path / "d", tmp_path / "t")
    with pytest.raises(ValueError):
        generate_scenario("la-2022", 0.01, 1, tmp_path / "d", tmp_path / "d" / "truth")


# ---- counts and determination -------------------------------------------------------------


def test_truth_counts_match_targets(data):
    t = targets(SCALE)
    truth = data["truth"]
    counts = truth["true_reason_code"].replace("", "VALID").value_counts().to_dict()
    assert counts == {k: v for k, v in t.lines.items() if v}
    assert len(truth) == t.raw_count == len(data["scans"])
    assert (truth["true_status"] == "VALID").sum() == t.lines["VALID"]
    assert not truth[["section_id", "page", "line"]].duplicated().any()


def test_expected_determination(data):
    t = targets(SCALE)
    det = data["determination"]
    assert det["raw_count"] == t.raw_count and det["pending"] == 0
    assert det["valid"] + det["invalid"] == det["raw_count"]
    assert sum(det["by_reason"].values()) == det["invalid"]
    assert sum(det["by_registrar_category"].values()) == det["invalid"]
    basis = det["registered_voters_basis"]
    assert basis == data["petition"]["registered_voters_basis"] == t.active + t.inactive
    assert det["threshold_percent"] == data["petition"]["threshold_percent"] == 10
    assert det["required"] == -(-10 * basis // 100)
    assert det["margin"] == det["valid"] - det["required"]
    assert det["result"] == ("SUFFICIENT" if det["margin"] > 0 else "INSUFFICIENT")


def test_petition_yaml(data):
    p = data["petition"]
    assert p["petition_id"] == "la-2022-da-recall" and p["jurisdiction_code"] == "19"
    assert str(p["approved_for_circulation"]) == APPROVED and str(p["filed_date"]) == FILED
    assert p["verification"] == {
        "method": "auto",
        "sample_seed": 20220709,
        "sufficient_when": "greater_than",
    }
    assert p["registration_cutoff"] == "filed_date" and p["duplicates_keep"] == "earliest"


def test_roll_status_counts(data):
    t = targets(SCALE)
    status = data["roll"]["status"].value_counts().to_dict()
    assert status == {"ACTIVE": t.active, "INACTIVE": t.inactive, "CANCELLED": t.cancelled}
    assert data["roll"]["voter_id"].is_unique
    assert len(list((data["root"] / "data" / "voter_roll").glob("roll_part_*.csv"))) >= 2
    assert len(list((data["root"] / "data" / PETITION / "scans").glob("batch_*.csv"))) >= 3


def test_layout(data):
    root = data["root"]
    assert sorted(p.name for p in (root / "data").iterdir()) == [
        "petitions",
        "reference",
        "voter_roll",
    ]
    assert sorted(p.name for p in (root / "truth").iterdir()) == [
        "expected_determination.json",
        "line_truth.csv",
    ]
    zips = data["zips"]
    assert zips["zip5"].is_unique


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# Digests of every file of the scale-0.003, seed-11 scenario as the generator wrote it before
# keying profiles existed: `standard` must keep writing exactly these bytes.
STANDARD_FINGERPRINT = {
    "data": "2b7255be6c18de73c4e79b82417dd114d3830fdeaed4a2a951fe7509ea17985a",
    "truth": "6af8dc10b2fc4d49f88dd48a52d00990236b34dfc3874dd203fc6bf6e220e12f",
}


@pytest.mark.skipif(SCALE != 0.003, reason="the fingerprint is of the scale-0.003 scenario")
def test_standard_keying_unchanged(generated):
    root, _ = generated
    for name, folder in (("data", root / "data"), ("truth", root / "truth")):
        digest = hashlib.sha256(json.dumps(_hashes(folder), sort_keys=True).encode()).hexdigest()
        assert digest == STANDARD_FINGERPRINT[name], name


def test_deterministic(generated, tmp_path):
    root, _ = generated
    generate_scenario("la-2022", SCALE, 11, tmp_path / "same" / "d", tmp_path / "same" / "t")
    assert _hashes(tmp_path / "same" / "d") == _hashes(root / "data")
    assert _hashes(tmp_path / "same" / "t") == _hashes(root / "truth")
    generate_scenario("la-2022", SCALE, 12, tmp_path / "other" / "d", tmp_path / "other" / "t")
    other = _hashes(tmp_path / "other" / "t")
    assert other["line_truth.csv"] != _hashes(root / "truth")["line_truth.csv"]


# ---- planted causes are visible in the raw data -------------------------------------------


def _of(data, reason: str) -> pd.DataFrame:
    return data["lines"][data["lines"]["true_reason_code"] == reason]


def test_signature_mismatch_has_no_match_review(data):
    sig = _of(data, "SIGNATURE_MISMATCH")
    reviews = data["reviews"]
    no_match = reviews[reviews["finding"] == "NO_MATCH"]
    got = sig.merge(no_match, on=["section_id", "page", "line"])
    assert len(got) == len(sig) > 0
    # No NO_MATCH finding on a line that counts.
    counted = data["lines"][data["lines"]["true_reason_code"].isin(["", "DUPLICATE"])]
    assert counted.merge(no_match, on=["section_id", "page", "line"]).empty


def test_withdrawn_voters_have_requests(data):
    wd = _of(data, "WITHDRAWN")
    w = data["withdrawals"]
    assert set(wd["true_voter_id"]) <= set(w["voter_id"])
    assert (w["received_date"] < FILED).all()
    signed_ids = set(data["truth"]["true_voter_id"])
    assert len(set(w["voter_id"]) - signed_ids) >= 2


def test_cancelled_before_signing(data):
    roll = data["roll"].set_index("voter_id")
    c = _of(data, "CANCELLED")
    rec = roll.loc[c["true_voter_id"]]
    assert (rec["status"] == "CANCELLED").all()
    assert (rec["status_date"].to_numpy() < c["date_signed"].to_numpy()).all()
    valid = data["lines"][data["lines"]["true_status"] == "VALID"]
    vrec = roll.loc[valid["true_voter_id"]]
    cancelled = (vrec["status"] == "CANCELLED").to_numpy()
    assert (
        vrec["status_date"].to_numpy()[cancelled] > valid["date_signed"].to_numpy()[cancelled]
    ).all()


def test_registration_dates(data):
    roll = data["roll"].set_index("voter_id")
    late = roll.loc[_of(data, "REGISTERED_LATE")["true_voter_id"], "registration_date"]
    assert (late > FILED).all()
    valid = data["lines"][data["lines"]["true_status"] == "VALID"]
    assert (roll.loc[valid["true_voter_id"], "registration_date"] <= FILED).all()


def test_dates_signed(data):
    lines = data["lines"]
    outside = _of(data, "SIGNED_OUTSIDE_PERIOD")["date_signed"]
    assert ((outside < APPROVED) | (outside > FILED)).all()
    valid = lines[lines["true_status"] == "VALID"]["date_signed"]
    dated = valid[valid != ""]
    assert ((dated >= APPROVED) & (dated <= FILED)).all()


def test_out_of_jurisdiction_zips(data):
    la = set(data["zips"].loc[data["zips"]["jurisdiction_code"] == "19", "zip5"])
    ooj = _of(data, "OUT_OF_JURISDICTION")["zip"].str[:5]
    assert not ooj.isin(la).any()
    others = data["lines"][
        ~data["lines"]["true_reason_code"].isin(["OUT_OF_JURISDICTION", "NO_RESIDENCE_ADDRESS"])
    ]
    assert others["zip"].str[:5].isin(la).all()


def test_section_level_reasons(data):
    sec = data["sections"].set_index("section_id")
    snf = sec.loc[_of(data, "SECTION_NOT_FILED")["section_id"]]
    assert (snf["filed_with_petition"] == "N").all()
    cdd = sec.loc[_of(data, "CIRCULATOR_DECLARATION_DEFECT")["section_id"]]
    defect = (
        (cdd["declaration_signed"] == "N")
        | (cdd["circulator_name"] == "")
        | (cdd["declaration_date"] == "")
    )
    assert defect.all() and (cdd["filed_with_petition"] == "Y").all()
    good = data["lines"][
        ~data["lines"]["true_reason_code"].isin(
            ["SECTION_NOT_FILED", "CIRCULATOR_DECLARATION_DEFECT"]
        )
    ]
    g = sec.loc[good["section_id"].unique()]
    assert ((g["filed_with_petition"] == "Y") & (g["declaration_signed"] == "Y")).all()
    assert ((g["circulator_name"] != "") & (g["declaration_date"] != "")).all()


def test_no_signature_and_no_address(data):
    assert (_of(data, "NO_SIGNATURE")["signature_present"] == "N").all()
    later = data["lines"][
        data["lines"]["true_reason_code"].isin(["", "NOT_REGISTERED", "DUPLICATE"])
    ]
    assert (later["signature_present"] == "Y").all()
    no_addr = _of(data, "NO_RESIDENCE_ADDRESS")["residence_address"]
    assert (~no_addr.str.match(r"^\d")).all()


# ---- decidability: a small reference matcher reproduces the truth --------------------------


class _Rules:
    def __init__(self):
        self.suffix = dict(read_reference("street_suffixes.csv")[["written", "standard"]].values)
        self.direction = dict(read_reference("directionals.csv")[["written", "standard"]].values)
        self.units = set(read_reference("unit_designators.csv")["written"])
        nick = read_reference("nicknames.csv")
        self.nick = set(zip(nick["nickname"], nick["given_name"], strict=True))

    def address_key(self, text: str, zip_: str) -> tuple:
        tokens = text.upper().replace(".", " ").replace(",", " ").split()
        if not tokens or not tokens[0].isdigit():
            return ()
        house, rest = tokens[0], tokens[1:]
        if rest and "/" in rest[0]:
            rest = rest[1:]
        for i in range(len(rest) - 1, -1, -1):
            if rest[i] in self.units or rest[i].startswith("#"):
                rest = rest[:i]
                break
        post = self.direction.get(rest[-1], "") if len(rest) > 1 else ""
        if post:
            rest = rest[:-1]
        typ = self.suffix.get(rest[-1], "") if len(rest) > 1 else ""
        if typ:
            rest = rest[:-1]
        pre = self.direction.get(rest[0], "") if len(rest) > 1 else ""
        if pre:
            rest = rest[1:]
        return (house, pre, " ".join(rest), typ, post, zip_[:5])

    def roll_key(self, r) -> tuple:
        return (
            r["house_number"].split(" ")[0],
            self.direction.get(r["street_predir"], ""),
            r["street_name"],
            self.suffix.get(r["street_type"], ""),
            self.direction.get(r["street_postdir"], ""),
            r["zip"][:5],
        )

    @staticmethod
    def name(printed: str) -> tuple[str, str]:
        from unicodedata import normalize

        text = normalize("NFKD", printed).encode("ascii", "ignore").decode().upper()
        text = text.replace(".", " ")
        drop = {"JR", "SR", "II", "III", "IV"}
        if "," in text:
            last, first = text.split(",", 1)
            return first.split()[0], [t for t in last.split() if t not in drop][0]
        tokens = [t for t in text.split() if t not in drop]
        return tokens[0], tokens[-1]

    def first_matches(self, written: str, registered: str) -> bool:
        return (
            written == registered
            or (written, registered) in self.nick
            or osa_distance(np.array([written]), np.array([registered]))[0] <= 1
        )


def test_reference_matcher_reproduces_truth(data):
    """Address key first (current, then history), then the unique-full-name fallback."""
    from unicodedata import normalize

    rules = _Rules()
    roll = data["roll"].copy()
    strip = lambda s: normalize("NFKD", s).encode("ascii", "ignore").decode().upper()  # noqa: E731
    roll["F"] = roll["first_name"].map(strip)
    roll["L"] = roll["last_name"].map(strip)
    roll["key"] = [rules.roll_key(r) for _, r in roll.iterrows()]
    by_key = roll.groupby("key").indices
    hist = data["history"].merge(roll[["voter_id", "F", "L"]], on="voter_id")
    hist["key"] = [rules.roll_key(r) for _, r in hist.iterrows()]
    hist_by_key = hist.groupby("key").indices
    name_count = roll.groupby(["F", "L"]).size()

    lines = data["lines"]
    matched = lines[
        ~lines["true_reason_code"].isin(
            [
                "SECTION_NOT_FILED",
                "CIRCULATOR_DECLARATION_DEFECT",
                "NO_SIGNATURE",
                "NO_RESIDENCE_ADDRESS",
                "OUT_OF_JURISDICTION",
                "SIGNED_OUTSIDE_PERIOD",
            ]
        )
    ]
    wrong = []
    for _, ln in matched.iterrows():
        key = rules.address_key(ln["residence_address"], ln["zip"])
        first, last = rules.name(ln["printed_name"])

        def pick(frame, rows, first=first, last=last):
            hits = [
                i
                for i in rows
                if rules.first_matches(first, frame["F"].iat[i])
                and osa_distance(np.array([last]), np.array([frame["L"].iat[i]]))[0] <= 1
            ]
            return hits

        found, how = None, None
        hits = pick(roll, by_key.get(key, []))
        assert len(hits) <= 1, ln.to_dict()
        if hits:
            found, how = roll["voter_id"].iat[hits[0]], "current"
        else:
            hh = pick(hist, hist_by_key.get(key, []))
            assert len(hh) <= 1
            if hh:
                h = hist.iloc[hh[0]]
                found = h["voter_id"]
                inside = h["valid_from"] <= ln["date_signed"] <= h["valid_to"]
                how = "history_valid" if inside else "history_old"
            elif name_count.get((first, last), 0) == 1:
                found = roll.loc[(roll["F"] == first) & (roll["L"] == last), "voter_id"].iat[0]
                how = "unique_name"
        expected = ln["true_voter_id"] if ln["true_reason_code"] != "NOT_REGISTERED" else ""
        if (found or "") != expected:
            wrong.append((ln["true_reason_code"], ln["true_case"], ln["printed_name"], how))
        elif ln["true_reason_code"] == "ADDRESS_MISMATCH":
            assert how in ("history_old", "unique_name")
        elif ln["true_case"] == "moved_during_circulation":
            assert how == "history_valid"
        elif found:
            assert how == "current", (ln.to_dict(), how)
    assert not wrong, wrong[:10]


def test_unregistered_names_never_unique(data):
    from unicodedata import normalize

    strip = lambda s: normalize("NFKD", s).encode("ascii", "ignore").decode().upper()  # noqa: E731
    roll = data["roll"]
    counts = (roll["first_name"].map(strip) + " " + roll["last_name"].map(strip)).value_counts()
    nr = _of(data, "NOT_REGISTERED")
    assert (nr["true_voter_id"] == "").all()
    names = [" ".join(_Rules.name(p)) for p in nr["printed_name"]]
    assert all(counts.get(n, 0) != 1 for n in names)
    am = _of(data, "ADDRESS_MISMATCH")
    unique_case = am[am["true_case"] == "unique_name_elsewhere"]
    assert len(unique_case) > 0
    assert all(counts.get(" ".join(_Rules.name(p)), 0) == 1 for p in unique_case["printed_name"])


def test_duplicates_keep_the_earliest(data):
    lines = data["lines"]
    dup = lines[lines["true_reason_code"] == "DUPLICATE"]
    first = lines[
        lines["true_voter_id"].isin(dup["true_voter_id"]) & (lines["true_status"] == "VALID")
    ]
    assert first["true_voter_id"].is_unique
    assert set(first["true_voter_id"]) == set(dup["true_voter_id"])
    order = ["date_signed", "section_id", "page_n", "line_n"]
    both = pd.concat([first, dup]).assign(
        page_n=lambda f: f["page"].astype(int), line_n=lambda f: f["line"].astype(int)
    )
    earliest = both.sort_values(order).drop_duplicates("true_voter_id")
    assert (earliest["true_status"] == "VALID").all()
    counts = dup["true_voter_id"].value_counts()
    assert counts.max() <= 2
    # Every other voter signs once.
    signed = lines[(lines["true_voter_id"] != "") & (lines["true_reason_code"] != "DUPLICATE")]
    assert signed["true_voter_id"].is_unique
