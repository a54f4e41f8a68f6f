"""The link-accuracy scoring of benchmarks/splink_compare.py (pure pandas; Splink not needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.splink_compare import KEY, MODEL_COLUMNS, best_threshold, model_plan, score_links


def _truth(*voters: str, cases: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "petition_id": "p",
            "section_id": "S1",
            "page": 1,
            "line": range(1, len(voters) + 1),
            "true_voter_id": list(voters),
        }
    )
    if cases is not None:
        frame["true_case"] = cases
    return frame


def _links(*voters: str | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "petition_id": "p",
            "section_id": "S1",
            "page": 1,
            "line": range(1, len(voters) + 1),
            "voter_id": list(voters),
        }
    )


def test_right_links_and_right_nones_both_count():
    truth = _truth("V1", "V2", "", "", "V5", cases=["a", "a", "b", "b", "c"])
    links = _links("V1", "V9", None, "V3", "")
    got = score_links(truth, links)
    # right: line 1 (same voter), line 3 (none == none); wrong: 2 (other voter), 4, 5.
    assert got["accuracy"] == pytest.approx(2 / 5)
    assert got["links"] == 3 and got["true_links"] == 3
    assert got["precision"] == pytest.approx(1 / 3)
    assert got["recall"] == pytest.approx(1 / 3)
    assert got["wrong"] == 3
    assert got["wrong_by_case"] == {"a": 1, "b": 1, "c": 1}


def test_a_line_the_system_never_mentions_is_unlinked():
    truth = _truth("V1", "")
    got = score_links(truth, _links("V1"))
    assert got["accuracy"] == 1.0 and got["links"] == 1


def test_two_links_for_one_line_are_refused():
    truth = _truth("V1")
    links = pd.concat([_links("V1"), _links("V2")])
    with pytest.raises(ValueError, match="at most one row per line"):
        score_links(truth, links)


def test_best_threshold_keeps_only_each_lines_best_voter_and_sweeps_the_cut():
    truth = _truth("V1", "V2", "", "V4")
    candidates = _links("V1", "V9", "V7", "V4", "V2").assign(
        match_weight=[20.0, 5.0, 8.0, 2.0, 12.0]
    )
    # The fifth row is line 2's second candidate: it outscores V9, so line 2's best is V2.
    candidates.loc[4, "line"] = 2
    got = best_threshold(truth, candidates)
    # Best weights: line 1 V1 20 (right), line 2 V2 12 (right), line 3 V7 8 (wrong: nobody
    # signed it), line 4 V4 2 (right). Cutting at 12 gets 3 of 4 (line 4 missed); cutting at 2
    # also 3 of 4 (line 3 a false link): the higher cut wins the tie.
    assert got["threshold_match_weight"] == 12.0
    assert got["accuracy"] == pytest.approx(3 / 4)
    assert got["links"] == 2 and got["precision"] == 1.0
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["lines_with_candidate"] == 4
    assert 0.999 < got["threshold_match_probability"] < 1


def test_best_threshold_ties_in_weight_go_to_the_lowest_voter_id():
    truth = _truth("V2")
    candidates = pd.concat([_links("V3"), _links("V2")]).assign(match_weight=[9.0, 9.0])
    got = best_threshold(truth, candidates)
    assert got["accuracy"] == 1.0


def test_best_threshold_may_link_nothing():
    truth = _truth("", "")
    candidates = _links("V1", "V2").assign(match_weight=[3.0, 4.0])
    got = best_threshold(truth, candidates)
    assert got["threshold_match_weight"] is None
    assert got["accuracy"] == 1.0 and got["links"] == 0


def test_columns_in_any_order_and_the_key_is_the_four_columns():
    assert KEY == ["petition_id", "section_id", "page", "line"]
    truth = _truth("V1")[["true_voter_id", *reversed(KEY)]]
    assert score_links(truth, _links("V1"))["accuracy"] == 1.0


# --- any data directory of the contract -----------------------------------------------------

FIRST = ["ANNA", "BRUNO", "CARLA", "DAVID", "ELENA", "FRANK", "GINA", "HUGO", "IRIS", "JONAS"]
LAST = ["ABEL", "BAKER", "CRUZ", "DIAZ", "EVANS", "FOX", "GARCIA", "HILL", "IBARRA", "JONES"]
STREETS = ["MAPLE", "OAK", "CEDAR", "PINE", "ELM", "BIRCH", "ASH", "WILLOW"]


def _roll(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "voter_id": [f"V{i:04d}" for i in range(n)],
            "jurisdiction_code": "19",
            "last_name": [LAST[i % 10] + LAST[(i // 10) % 10] for i in range(n)],
            "first_name": [FIRST[(i * 3) % 10] for i in range(n)],
            "house_number": [str(100 + i) for i in range(n)],
            "street_name": [STREETS[i % 8] for i in range(n)],
            "street_type": "ST",
            "city": "TOWN",
            "state": "CA",
            "zip": [f"9{i % 7:04d}" for i in range(n)],
            "registration_date": "2020-01-01",
            "status": "ACTIVE",
        }
    )


def _scan(roll: pd.DataFrame, rows: range, with_place: bool) -> pd.DataFrame:
    signers = roll.iloc[list(rows)]
    scan = pd.DataFrame(
        {
            "section_id": "S1",
            "page": 1,
            "line": range(1, len(signers) + 1),
            "printed_name": (signers["first_name"] + " " + signers["last_name"]).str.title(),
            "residence_address": signers["house_number"] + " " + signers["street_name"] + " St",
            "signature_present": "Y",
        }
    )
    if with_place:
        scan["city"] = signers["city"].to_numpy()
        scan["zip"] = signers["zip"].to_numpy()
    return scan


def _data_dir(tmp_path, with_place: bool = True):
    """Two petitions (one scanned to Parquet), lines signed by the first voters of the roll."""
    roll = _roll(200)
    (tmp_path / "voter_roll").mkdir(parents=True)
    roll.iloc[:120].to_csv(tmp_path / "voter_roll" / "a.csv", index=False)
    roll.iloc[120:].to_parquet(tmp_path / "voter_roll" / "b.parquet", index=False)
    for petition, rows in (("p1", range(0, 40)), ("p2", range(40, 70))):
        scans = tmp_path / "petitions" / petition / "scans"
        scans.mkdir(parents=True)
        scan = _scan(roll, rows, with_place)
        if petition == "p2":
            scan.to_parquet(scans / "batch.parquet", index=False)
        else:
            scan.iloc[:20].to_csv(scans / "batch_1.csv", index=False)
            # A later batch keyed without the optional columns at all.
            scan.iloc[20:].drop(columns=["city", "zip"], errors="ignore").to_csv(
                scans / "batch_2.csv", index=False
            )
    return roll


def test_prepare_reads_every_petition_csv_and_parquet_with_optional_columns_absent(tmp_path):
    import duckdb

    from benchmarks.splink_compare import _prepare, _usable_columns

    _data_dir(tmp_path)
    con = duckdb.connect()
    lines, roll = _prepare(con, tmp_path)
    keys = con.execute("SELECT petition_id, count(*) FROM line_keys GROUP BY 1 ORDER BY 1")
    assert keys.fetchall() == [("p1", 40), ("p2", 30)]
    assert con.execute(f"SELECT count(*) FROM {roll}").fetchone()[0] == 200
    first = con.execute(
        f"SELECT first_name, last_name, house_number, street_name, zip5 FROM {lines} "
        "JOIN line_keys USING (unique_id) WHERE petition_id = 'p1' AND line = 1"
    ).fetchone()
    assert first == ("ANNA", "ABELABEL", "100", "MAPLE", "90000")
    # p1's second batch has no city or ZIP: those lines hold none, the others do.
    assert con.execute(f"SELECT count(zip5) FROM {lines}").fetchone()[0] == 50
    assert _usable_columns(con, lines, roll) == set(MODEL_COLUMNS)


def test_columns_empty_on_one_side_leave_the_model(tmp_path):
    import duckdb

    from benchmarks.splink_compare import _prepare, _usable_columns

    _data_dir(tmp_path, with_place=False)
    con = duckdb.connect()
    usable = _usable_columns(con, *_prepare(con, tmp_path))
    assert usable == set(MODEL_COLUMNS) - {"zip5", "city"}
    plan = model_plan("tuned", usable)
    assert plan["columns"] == ["first_name", "last_name", "house_number", "street_name"]
    # Prediction rules on a missing column go; training rules keep their other columns.
    assert plan["predict"] == [("house_number", "street_name"), ("last_name", "house_number")]
    assert plan["em"] == [("house_number",), ("first_name", "last_name", "street_name")]
    assert plan["prior"] == ("first_name", "last_name", "house_number")


def test_a_model_needs_a_prediction_rule():
    with pytest.raises(SystemExit, match="too few columns"):
        model_plan("tuned", {"first_name", "city"})


def test_splink_links_a_small_two_petition_directory(tmp_path):
    pytest.importorskip("splink", reason="the bench dependency group is not installed")
    from benchmarks.splink_compare import run_splink

    roll = _data_dir(tmp_path)
    best, run = run_splink(tmp_path, u_max_pairs=1e4)
    assert run["line_records"] == 70 and run["roll_records"] == 200
    assert set(best["petition_id"]) == {"p1", "p2"}
    signers = dict(zip(range(1, 41), roll["voter_id"].iloc[:40], strict=True))
    p1 = best[best["petition_id"] == "p1"].set_index("line")["voter_id"]
    right = sum(p1.get(line) == voter for line, voter in signers.items())
    assert right >= 36
