"""Keying profiles and the city petition: the truth does not move with the keying, each habit
shows up at about its configured rate and in the text, the fairness guards hold, and the city
petition's files are valid per the data contract."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recall_pipeline.reference import read_reference
from recall_pipeline.scenario import generate_scenario
from recall_pipeline.scenario.city import CITY
from recall_pipeline.scenario.keying import HARD, PROFILES, heavy_rates
from recall_pipeline.scenario.written_forms import TRICKY_STREETS_DIRECTION

SCALE = 0.01
SEED = 7
LA = "la-2022-da-recall"
SC = CITY.petition_id
KEY = ["section_id", "page", "line"]
HEAVY = list(heavy_rates(HARD.names, HARD.addresses))


def _generate(root: Path, keying: str, city: bool) -> Path:
    generate_scenario("la-2022", SCALE, SEED, root / "d", root / "t", keying, city)
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("keying")
    return {
        ("standard", False): _generate(base / "standard", "standard", False),
        ("standard", True): _generate(base / "standard_city", "standard", True),
        ("hard", True): _generate(base / "hard_city", "hard", True),
        ("hardest", True): _generate(base / "hardest_city", "hardest", True),
    }


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return frame.astype(object).where(frame.notna(), "").astype(str)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _scans(root: Path, petition: str) -> pd.DataFrame:
    files = sorted((root / "d" / "petitions" / petition / "scans").glob("batch_*"))
    return pd.concat([_read(f) for f in files], ignore_index=True)


def _roll(root: Path) -> pd.DataFrame:
    files = sorted((root / "d" / "voter_roll").glob("roll_part_*.csv"))
    return pd.concat([_read(f) for f in files], ignore_index=True)


def _truth(root: Path) -> pd.DataFrame:
    return _read(root / "t" / "line_truth.csv")


def _lines(root: Path, petition: str) -> pd.DataFrame:
    truth = _truth(root)
    truth = truth[truth["petition_id"] == petition]
    return truth.merge(_scans(root, petition), on=KEY, how="left", validate="one_to_one")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def _home(roll: pd.DataFrame) -> pd.Series:
    """The unit-free dwelling key of each roll record, whatever words the county wrote."""
    suffix = dict(read_reference("street_suffixes.csv")[["written", "standard"]].values)
    direction = dict(read_reference("directionals.csv")[["written", "standard"]].values)
    parts = [
        roll["house_number"].str.split(" ").str[0],
        roll["street_predir"].str.upper().map(direction).fillna(""),
        roll["street_name"].str.upper(),
        roll["street_type"].str.upper().map(suffix).fillna(""),
        roll["street_postdir"].str.upper().map(direction).fillna(""),
        roll["zip"].str[:5],
    ]
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


# ---- the truth does not move ------------------------------------------------------------------


def test_truth_unchanged_by_keying(runs):
    reference = runs[("standard", True)]
    for keying in ("hard", "hardest"):
        root = runs[(keying, True)]
        for name in ("line_truth.csv", "expected_determination.json"):
            assert (root / "t" / name).read_bytes() == (reference / "t" / name).read_bytes()
        assert (root / "t" / "expected_determinations.json").read_bytes() == (
            reference / "t" / "expected_determinations.json"
        ).read_bytes()


def test_city_petition_leaves_the_la_petition_alone(runs):
    alone, both = runs[("standard", False)], runs[("standard", True)]
    folder = Path("d") / "petitions" / LA
    for path in sorted((alone / folder).rglob("*")):
        if path.is_file():
            assert path.read_bytes() == (both / path.relative_to(alone)).read_bytes(), path
    truth = _truth(both)
    assert truth[truth["petition_id"] == LA].reset_index(drop=True).equals(_truth(alone))
    assert (alone / "t" / "expected_determination.json").read_bytes() == (
        both / "t" / "expected_determination.json"
    ).read_bytes()
    assert not (alone / "t" / "expected_determinations.json").exists()
    assert not (alone / "t" / "keying_log.parquet").exists()


def test_regenerating_leaves_nothing_stale(tmp_path):
    fresh = _generate_small(tmp_path / "fresh", "standard", False)
    reused = _generate_small(tmp_path / "reused", "hardest", True)
    _generate_small(tmp_path / "reused", "standard", False)
    for part in ("d", "t"):
        a = sorted(p.relative_to(fresh) for p in (fresh / part).rglob("*"))
        b = sorted(p.relative_to(reused) for p in (reused / part).rglob("*"))
        assert a == b
        for path in a:
            if (fresh / path).is_file():
                assert (fresh / path).read_bytes() == (reused / path).read_bytes(), path


def _generate_small(root: Path, keying: str, city: bool) -> Path:
    generate_scenario("la-2022", 0.002, 3, root / "d", root / "t", keying, city)
    return root


def test_unknown_profile(tmp_path):
    with pytest.raises(ValueError, match="keying profile"):
        generate_scenario("la-2022", 0.001, 1, tmp_path / "d", tmp_path / "t", "sloppy")
    assert set(PROFILES) == {"standard", "hard", "hardest"}


# ---- habits occur at their rates, and in the text ---------------------------------------------


def _close(observed: float, rate: float, n: int) -> bool:
    return abs(observed - rate) <= 4 * math.sqrt(rate * (1 - rate) / n) + 0.01


@pytest.mark.parametrize("keying", ["hard", "hardest"])
def test_habit_rates(runs, keying):
    summary = json.loads((runs[(keying, True)] / "t" / "keying_summary.json").read_text())
    assert summary["profile"] == keying
    la = summary["petitions"][LA]
    checked = 0
    for name, entry in la.items():
        if "rate" not in entry or entry["eligible"] < 50:
            continue
        assert _close(entry["observed"], entry["rate"], entry["eligible"]), (name, entry)
        checked += 1
    assert checked >= 20
    habits = PROFILES[keying]
    forms = {
        "direction_form": habits.addresses.direction,
        "type_form": habits.addresses.street_type,
        "unit_form": habits.addresses.unit,
        "zip_form": habits.addresses.zip,
        "middle_form": habits.names.middle,
        "name_case": habits.names.case,
        "address_case": habits.addresses.case,
    }
    for name, configured in forms.items():
        counts = la[name]
        total = sum(counts.values())
        for form, rate in configured.items():
            assert _close(counts.get(form, 0) / total, rate, total), (name, form, counts)
    # Heavy habits that can apply to most lines happen on them.
    for name in ("name_typo1", "house_slip", "zip_missing", "nickname", "first_initial"):
        assert la[name]["applied"] > 0


@pytest.mark.parametrize("keying", ["hard", "hardest"])
def test_at_most_one_heavy_habit_per_line(runs, keying):
    log = pd.read_parquet(runs[(keying, True)] / "t" / "keying_log.parquet")
    assert (log[HEAVY].sum(axis=1) <= 1).all()
    assert (log[HEAVY].sum(axis=1) == 1).mean() > 0.1
    truth = _truth(runs[(keying, True)])
    assert log[["petition_id", *KEY]].astype(str).equals(truth[["petition_id", *KEY]])


def _logged_lines(root: Path, petition: str = LA) -> pd.DataFrame:
    log = pd.read_parquet(root / "t" / "keying_log.parquet")
    log = log[log["petition_id"] == petition].astype({"page": str, "line": str})
    return _lines(root, petition).merge(log, on=["petition_id", *KEY], validate="one_to_one")


@pytest.mark.parametrize("keying", ["hard", "hardest"])
def test_habits_show_in_the_text(runs, keying):
    x = _logged_lines(runs[(keying, True)])
    # An OCR misreading or a stray mark may land anywhere: those lines rest on the log alone.
    x = x[~x["address_ocr"] & ~x["address_stray_punct"]]
    address = x["residence_address"].str.upper()
    glued = x["unit_form"] == "glued"
    assert address[glued].str.contains(r"(?:APT|UNIT|SPC|STE|#)[0-9A-D]+\b").all()
    assert (x.loc[x["unit_form"] == "hash_space", "residence_address"].str.contains("# ")).all()
    nohyphen = (x["zip_form"] == "plus4_nohyphen") & (x["zip"] != "")
    assert x.loc[nohyphen, "zip"].str.fullmatch(r"\d{9}").all()
    missing = x["zip_missing"]
    assert (x.loc[missing, "zip"] == "").all()
    assert not address[missing].str.contains(r"\b\d{5}(?:-?\d{4})?$").any()
    # No ZIP: a city is written, in its field or in the address.
    assert ((x.loc[missing, "city"] != "") | address[missing].str.contains(",| CA|CALIF")).all()
    two = x["direction_form"] == "two"
    assert address[two].str.contains(r"\b(?:NO|SO|E|W)\b").all()
    assert address[x["direction_form"] == "full"].str.contains("NORTH|SOUTH|EAST|WEST").all()
    initial = x["first_initial"]
    assert x.loc[initial, "printed_name"].map(lambda n: bool(re.search(r"\b\w\b\.?", n))).all()
    ordinal = x["ordinal_form"] == "word"
    assert address[ordinal].str.contains(r"(?:FIRST|SECOND|THIRD|TH)\b").all()
    assert not address[x["ordinal_form"] == "bare"].str.contains(r"\d(?:ST|ND|RD|TH)\b").any()
    inside = x["city_in_address"]
    assert address[inside].str.contains(r" CA\b|CALIF").all()
    # A nickname replaces the registered first name.
    roll = _roll(runs[(keying, True)]).set_index("voter_id")
    nick = x[x["nickname"]]
    rec = roll.loc[nick["true_voter_id"]]
    # (Someone whose middle name is their first name, JOSE JOSE, still writes it as the middle.)
    same = [f.startswith(m) for f, m in zip(rec["first_name"], rec["middle_name"], strict=True)]
    nick = nick[~(np.array(same) & (rec["middle_name"] != "").to_numpy())]
    registered = roll.loc[nick["true_voter_id"], "first_name"].map(_ascii).to_numpy()
    written = nick["printed_name"].map(_ascii).str.split(r"[ ,]+").map(set)
    assert not any(first in words for first, words in zip(registered, written, strict=True))


def test_scan_batches_are_delivered_differently(runs):
    hard = runs[("hard", True)] / "d" / "petitions" / LA / "scans"
    headers = {
        tuple(f.read_text(encoding="utf-8-sig").splitlines()[0].split(","))
        for f in hard.glob("*.csv")
    }
    assert len(headers) == len(list(hard.glob("*.csv"))) >= 3
    assert all('"keyer_id"' in h for h in headers)
    hardest = runs[("hardest", True)] / "d" / "petitions" / LA / "scans"
    assert len(list(hardest.glob("*.parquet"))) == 1
    assert sum(f.read_bytes().startswith(b"\xef\xbb\xbf") for f in hardest.glob("*.csv")) == 1
    standard = runs[("standard", True)] / "d" / "petitions" / LA / "scans"
    assert not list(standard.glob("*.parquet"))


@pytest.mark.parametrize("keying", ["hard", "hardest"])
def test_roll_written_by_another_county(runs, keying):
    roll = _roll(runs[(keying, True)])
    last = roll["last_name"].str.upper()
    compound = last.str.contains(r"-|\s") & ~last.str.contains(r"\b(?:JR|SR|II|III)$")
    share = PROFILES[keying].roll.compound_surnames
    assert share * 0.5 < compound.mean() < share * 1.5
    assert last.str.contains("-").any() and last.str.contains(r"^\w+ \w+$").any()
    assert last.str.contains(r"^DE (?:LA |LOS )?\w+$").any()
    name = roll["street_name"].str.upper()
    assert name.str.contains(r"\b(?:PARK|VIEW|PLAZA|COURT)\b").any()
    numbered = name.str.fullmatch(r"AVENUE \d+")
    assert numbered.any() and (roll.loc[numbered, "street_type"] == "").all()
    assert name.isin(TRICKY_STREETS_DIRECTION).any()
    # Renamed streets never merge two dwellings: one address key, one unit.
    units = roll.groupby(_home(roll))["unit_number"].nunique()
    assert (units <= 1).all()


def test_hardest_roll_habits(runs):
    roll = _roll(runs[("hardest", True)])
    assert roll["middle_name"].str.fullmatch(r"\w").any()
    assert roll["last_name"].str.contains(r" (?:JR|SR|II|III)$", case=False).any()
    parts = sorted((runs[("hardest", True)] / "d" / "voter_roll").glob("roll_part_*.csv"))
    titled = _read(parts[1])
    assert titled["last_name"].str.match(r"^[A-Z][a-z]").mean() > 0.9
    assert roll["city"].str.upper().isin(["NORTH HOLLYWOOD", "VAN NUYS", "VALENCIA"]).any()


# ---- fairness guards -----------------------------------------------------------------------


@pytest.mark.parametrize("keying", ["hard", "hardest"])
def test_initial_or_middle_never_points_to_a_housemate(runs, keying):
    root = runs[(keying, True)]
    roll = _roll(root)
    roll["home"] = _home(roll)
    roll["F"] = roll["first_name"].map(_ascii)
    firsts = roll.groupby("home")["F"].apply(list)
    x = _logged_lines(root)
    at_home = x[x["true_case"].isin(["plain", "duplicate_signer_first_line", "repeat_signature"])]
    rec = roll.set_index("voter_id").loc[at_home["true_voter_id"]]
    housemates = firsts.loc[rec["home"]].to_numpy()
    for flagged, first, mates in zip(at_home["first_initial"], rec["F"], housemates, strict=True):
        if flagged:
            others = list(mates)
            others.remove(first)
            assert all(o[0] != first[0] for o in others)
    # (A county that writes middle initials leaves nothing to compare.)
    middle = rec["middle_name"].map(_ascii).to_numpy()
    for flagged, mid, mates, first in zip(
        at_home["middle_as_first"], middle, housemates, rec["F"], strict=True
    ):
        if flagged and len(mid) > 1:
            assert mid not in [m for m in mates if m != first]


@pytest.mark.parametrize("keying", ["hard", "hardest"])
def test_names_that_are_the_only_link_keep_their_identity(runs, keying):
    x = _logged_lines(runs[(keying, True)])
    only_name = x[x["true_case"] == "unique_name_elsewhere"]
    assert len(only_name) > 0
    identity = ["nickname", "name_typo1", "name_typo2", "first_initial", "middle_as_first"]
    assert not only_name[identity + ["name_ocr"]].any().any()
    assert (only_name["name_order"] != "last_first").all()


# ---- the city petition -----------------------------------------------------------------------


@pytest.mark.parametrize("keying", ["standard", "hardest"])
def test_city_petition_is_valid_per_contract(runs, keying):
    from recall_pipeline.contract import INPUTS
    from recall_pipeline.ingest.pipeline import ingest_input, load_petitions

    data = runs[(keying, True)] / "d"
    configs = {c.petition_id: c for c, _, _ in load_petitions(data)}
    city = configs[SC]
    assert city.jurisdiction_code == CITY.jurisdiction_code
    assert city.verification_method == "random_sample"
    assert configs[LA].jurisdiction_code == "19"
    for spec in INPUTS:
        result = ingest_input(spec, data)
        assert result.quarantined.num_rows == 0, spec.name
        assert not result.parse_failures, spec.name
    lines = ingest_input(next(s for s in INPUTS if s.name == "petition_lines"), data)
    per_petition = pd.Series(lines.accepted.column("petition_id").to_pylist()).value_counts()
    truth = _truth(runs[(keying, True)])
    assert per_petition.to_dict() == truth["petition_id"].value_counts().to_dict()


def test_city_jurisdiction_and_basis(runs):
    root = runs[("standard", True)]
    ref = root / "d" / "reference"
    jur = _read(ref / "jurisdictions.csv")
    assert CITY.jurisdiction_code in set(jur["jurisdiction_code"])
    zips = _read(ref / "jurisdiction_zips.csv")
    city_zips = set(zips.loc[zips["jurisdiction_code"] == CITY.jurisdiction_code, "zip5"])
    county_zips = set(zips.loc[zips["jurisdiction_code"] == "19", "zip5"])
    assert city_zips and city_zips < county_zips
    roll = _roll(root)
    assert (roll["jurisdiction_code"] == "19").all()
    in_city = roll["zip"].str[:5].isin(city_zips)
    basis = int((in_city & roll["status"].isin(["ACTIVE", "INACTIVE"])).sum())
    petition = yaml.safe_load((root / "d" / "petitions" / SC / "petition.yaml").read_text())
    assert petition["registered_voters_basis"] == basis
    assert petition["verification"]["method"] == "random_sample"
    sections = _read(root / "d" / "petitions" / SC / "sections.csv")
    assert (sections["jurisdiction_code"] == CITY.jurisdiction_code).all()
    dets = json.loads((root / "t" / "expected_determinations.json").read_text())["petitions"]
    assert [d["petition_id"] for d in dets] == [LA, SC]
    city = dets[1]
    assert city["registered_voters_basis"] == basis
    assert city["required"] == -(-city["threshold_percent"] * basis // 100)
    truth = _truth(root)
    t = truth[truth["petition_id"] == SC]
    assert city["raw_count"] == len(t) and city["valid"] == (t["true_status"] == "VALID").sum()
    assert sum(city["by_reason"].values()) == city["invalid"]


def test_city_truth_follows_the_city_limits(runs):
    root = runs[("standard", True)]
    zips = _read(root / "d" / "reference" / "jurisdiction_zips.csv")
    city_zips = set(zips.loc[zips["jurisdiction_code"] == CITY.jurisdiction_code, "zip5"])
    x = _lines(root, SC)
    roll = _roll(root).set_index("voter_id")
    history = _read(root / "d" / "voter_roll" / "address_history" / "history.csv")
    written_in = x["zip"].str[:5].isin(city_zips)
    ooj = x["true_reason_code"] == "OUT_OF_JURISDICTION"
    assert ooj.any() and not written_in[ooj].any()
    others = ~ooj & (x["true_reason_code"] != "NO_RESIDENCE_ADDRESS")
    assert written_in[others].all()
    registered_in = x["true_voter_id"].map(lambda v: roll.at[v, "zip"][:5] if v else "")
    registered_in = registered_in.isin(city_zips)
    valid = x["true_status"] == "VALID"
    assert registered_in[valid].all()
    for case, in_city in (
        ("county_voter_city_address", False),
        ("moved_out_of_city", False),
        ("old_city_address", True),
        ("county_voter_outside_city", False),
    ):
        rows = x["true_case"] == case
        assert rows.any(), case
        assert (registered_in[rows] == in_city).all(), case
    # The voters who left a city home have it in their history, ended before approval.
    for case in ("moved_out_of_city", "old_city_address", "old_address_outside_city"):
        rows = x[x["true_case"] == case]
        h = history[history["voter_id"].isin(rows["true_voter_id"])]
        assert set(h["voter_id"]) == set(rows["true_voter_id"])
        assert (h.groupby("voter_id")["valid_to"].max() < CITY.approved).all()
    # Found only by name: a full name nobody else on the roll holds.
    names = (roll["first_name"].map(_ascii) + " " + roll["last_name"].map(_ascii)).value_counts()
    found_by_name = x[x["true_case"] == "county_voter_city_address"]
    for voter in found_by_name["true_voter_id"]:
        rec = roll.loc[voter]
        assert names[_ascii(rec["first_name"]) + " " + _ascii(rec["last_name"])] == 1
    # City signers never signed the LA petition, so nothing the city added touches it.
    truth = _truth(root)
    la_voters = set(truth.loc[truth["petition_id"] == LA, "true_voter_id"]) - {""}
    assert not la_voters & (set(x["true_voter_id"]) - {""})
    reasons = set(x["true_reason_code"])
    assert {"", "DUPLICATE", "NOT_REGISTERED", "ADDRESS_MISMATCH"} <= reasons
