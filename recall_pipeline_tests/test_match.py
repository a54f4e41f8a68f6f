"""Blocking and matching as functions: the loose fallback, the name-alone rule, and hashes that
only ever narrow what is compared."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from recall_pipeline.verify import frames
from recall_pipeline.verify import match as m
from recall_pipeline.verify.pipeline import prepare_petition_lines

ROLL = [
    # voter_id, first, last, house, predir, street, type, zip
    ("V1", "JANE", "DOE", "100", "N", "MAIN", "ST", "90001"),
    ("V2", "JOHN", "DOE", "100", "N", "MAIN", "ST", "90001"),
    ("V3", "ANA", "LEE", "200", "", "ELM", "AVE", "90002"),
    ("V4", "BO", "KIM", "300", "", "OAK", "ST", "90001"),
]
HISTORY = [("V4", "400", "", "PINE", "RD", "90001")]
LINES = [
    # written address, printed name: what each should match, and how
    ("100 MAIN 90001", "JANE DOE"),  # no direction or suffix: the loose key finds V1
    ("100 N MAIN ST 90001", "JOHN DOE"),  # the dwelling itself: V2
    ("200 ELM ST 90001", "ANA LEE"),  # nobody there; ANA LEE is one registration: V3
    ("400 PINE RD 90001", "BO KIM"),  # a past address of V4
    ("100 N MAIN ST 90001", "MAX ROE"),  # at a dwelling, but nobody of that name
]
EXPECTED = [
    ("V1", m.METHOD_CURRENT),
    ("V2", m.METHOD_CURRENT),
    ("V3", m.METHOD_NAME),
    ("V4", m.METHOD_HISTORY),
    (None, m.METHOD_NONE),
]


def prepared() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    roll = pd.DataFrame(
        ROLL,
        columns=["voter_id", "first_name", "last_name", "house_number", "street_predir",
                 "street_name", "street_type", "zip"],
    ).assign(middle_name="", street_postdir="")  # fmt: skip
    history = pd.DataFrame(
        HISTORY,
        columns=["voter_id", "house_number", "street_predir", "street_name", "street_type", "zip"],
    ).assign(street_postdir="", valid_from=dt.date(2015, 1, 1), valid_to=dt.date(2020, 1, 1))
    lines = pd.DataFrame(
        {
            "residence_address": [a.rsplit(" ", 1)[0] for a, _ in LINES],
            "zip": [a.rsplit(" ", 1)[1] for a, _ in LINES],
            "city": "LOS ANGELES",
            "printed_name": [n for _, n in LINES],
        }
    )
    roll_keys = m.prepare_roll(roll.astype("str"))
    return m.prepare_lines(lines.astype("str")), roll_keys, m.prepare_history(history, roll_keys)


def collide(frame: pd.DataFrame, buckets: int) -> pd.DataFrame:
    return frame.assign(**{h: frame[h] % buckets for h in m.DWELLING_HASHES.values()})


@pytest.mark.parametrize("buckets", [None, 2, 1], ids=["true-hashes", "2-values", "1-value"])
def test_lines_find_their_voter_whatever_the_hashes_collide(buckets: int | None) -> None:
    lines, roll, history = prepared()
    if buckets:
        # Hashes squeezed into so few values that every address collides with the others.
        lines, roll, history = (collide(f, buckets) for f in (lines, roll, history))
    result, _ = m.match_lines(lines, roll, history)
    voters = [v if isinstance(v, str) else None for v in result["voter_id"]]
    got = list(zip(voters, result["match_method"], strict=True))
    assert got == EXPECTED
    # The candidates are the people at the line's dwelling, not everyone sharing a hash.
    assert result["candidates_at_address"].tolist() == [2, 2, 0, 1, 2]


def test_a_roll_prepared_in_parts_is_the_roll_prepared_whole(monkeypatch) -> None:
    from recall_pipeline.verify import pipeline

    rows = [(f"V{i:03d}", *row[1:]) for i, row in enumerate(ROLL * 25)]
    roll = pd.DataFrame(
        rows,
        columns=["voter_id", "first_name", "last_name", "house_number", "street_predir",
                 "street_name", "street_type", "zip"],
    ).assign(middle_name="", street_postdir="", jurisdiction_code="19").astype("str")  # fmt: skip
    raw_history = pd.DataFrame(
        [("V003", *HISTORY[0][1:])],
        columns=["voter_id", "house_number", "street_predir", "street_name", "street_type", "zip"],
    ).assign(street_postdir="", valid_from=dt.date(2015, 1, 1), valid_to=dt.date(2020, 1, 1))
    monkeypatch.setattr(pipeline, "_PARTS_FROM", 10**9)
    whole = pipeline.prepare_rolls(roll, raw_history, {"19"})["19"]
    monkeypatch.setattr(pipeline, "_PARTS_FROM", 2)
    assert len(pipeline._parts(roll)) == pipeline._PARTS
    parts = pipeline.prepare_rolls(roll, raw_history, {"19"})["19"]
    for got, expected in zip(parts, whole, strict=True):
        pd.testing.assert_frame_equal(got, expected)
    assert len(whole[0]) == 100 and len(whole[1]) == 1


def test_a_prepared_roll_keeps_no_view_of_the_raw_roll() -> None:
    # A view into the frame the roll was read into would keep all of its buffers alive while
    # the lines are matched: gigabytes at a county's scale.
    rows = [(f"V{i:03d}", *row[1:]) for i, row in enumerate(ROLL * 25)]
    columns = ["voter_id", "first_name", "last_name", "house_number", "street_predir",
               "street_name", "street_type", "zip"]  # fmt: skip
    raw = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows])
    roll = raw.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)
    roll = roll.assign(middle_name="", street_postdir="", jurisdiction_code="19")
    raw_ids = raw.column("voter_id").chunks[0].buffers()[2]
    assert roll["voter_id"].array._pa_array.chunks[0].buffers()[2].address == raw_ids.address

    prepared = pa.array(m.prepare_roll(roll)["voter_id"].array)
    chunks = prepared.chunks if isinstance(prepared, pa.ChunkedArray) else [prepared]
    for chunk in chunks:
        data = chunk.buffers()[2]
        assert not raw_ids.address <= data.address < raw_ids.address + raw_ids.size
    assert prepared.to_pylist() == raw.column("voter_id").to_pylist()


def test_one_edit_prefilter_keeps_every_pair_one_edit_apart() -> None:
    """Every pair of words up to four letters over a small alphabet: the length and end-letter
    pre-filter never drops a pair the letter-by-letter comparison would accept."""
    import itertools

    import numpy as np
    import pyarrow as pa

    from recall_pipeline.verify import normalize as nz

    words = ["".join(p) for n in range(5) for p in itertools.product("ABC", repeat=n)]
    a, b = zip(*itertools.product(words, words), strict=True)
    expected = nz.one_edit_apart(list(a), list(b))
    got = m._one_edit(pa.array(a), pa.array(b), np.ones(len(a), dtype=bool))
    assert got.tolist() == expected.tolist()


def test_a_petitions_lines_are_prepared_in_stable_line_order() -> None:
    frame = pd.DataFrame(
        {
            # Accented and capital letters, a missing key and ties broken by the next columns,
            # then by the row's place.
            "section_id": ["é", "e", "z", "É", None, "e", "e"],
            "page": [1, 2, 1, 1, 1, 1, 1],
            "line": [3, 1, 2, 2, 1, 7, 7],
            "row": range(7),
            "printed_name": "Maria Garcia",
            "residence_address": "100 Main St",
            "city": "",
            "zip": "90012",
        }
    ).astype({"section_id": "str"})
    key = ["section_id", "page", "line"]
    expected = frame.sort_values(key, kind="stable").reset_index(drop=True)
    ordered, prepared = prepare_petition_lines(frame)
    pd.testing.assert_frame_equal(ordered, expected)
    assert ordered["row"].tolist() == [5, 6, 1, 2, 3, 0, 4]
    assert prepared["line_index"].tolist() == list(range(7))


def test_in_step_compares_every_key_column_row_by_row() -> None:
    left = pd.DataFrame({"section_id": ["S1", "S1"], "line": [1, 2]}).astype({"section_id": "str"})
    assert frames.in_step(left, left.copy(), ["section_id", "line"])
    assert not frames.in_step(left, left.assign(line=[1, 3]), ["section_id", "line"])
    assert not frames.in_step(left, left.iloc[:1], ["section_id", "line"])
    missing = left.assign(section_id=pd.Series(["S1", None], dtype="str"))
    assert not frames.in_step(missing, missing, ["section_id"])
