"""Blocking, comparing and deciding as functions: the passes that find a signer whatever field
was written wrong, the model's decisions, hashes that only ever widen what is compared, and
keying habits that must never lose a valid signer (property-based)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recall_pipeline.verify import frames
from recall_pipeline.verify import match as m
from recall_pipeline.verify.model import default_model
from recall_pipeline.verify.pipeline import prepare_petition_lines, prepare_rolls

ROLL = [
    # voter_id, first, middle, last, house, predir, street, type, zip, city
    ("V1", "JANE", "", "DOE", "100", "N", "MAIN", "ST", "90001", "LOS ANGELES"),
    ("V2", "JOHN", "PAUL", "DOE", "100", "N", "MAIN", "ST", "90001", "LOS ANGELES"),
    ("V3", "ANA", "", "LEE", "200", "", "ELM", "AVE", "90002", "LOS ANGELES"),
    ("V4", "BO", "", "KIM", "300", "", "OAK", "ST", "90001", "LOS ANGELES"),
    ("V5", "MARIA", "ELENA", "DOMINGUEZ-RAMIREZ", "12", "", "6TH", "ST", "90003", "PASADENA"),
    ("V6", "JOSE", "", "DOMINGUEZ", "12", "", "6TH", "ST", "90003", "PASADENA"),
    ("V7", "GUADALUPE", "", "NUNEZ", "77", "S", "FIGUEROA", "BLVD", "90004", "LOS ANGELES"),
]
HISTORY = [("V4", "400", "", "PINE", "RD", "90001")]
ROLL_COLUMNS = [
    "voter_id", "first_name", "middle_name", "last_name", "house_number", "street_predir",
    "street_name", "street_type", "zip", "city",
]  # fmt: skip


# Other registrations elsewhere in the county, so that a name's share of the roll is what it is
# in a county's (one in hundreds at most), not one in seven.
FILLER = [
    (f"F{i:03d}", f"GIVEN{i:03d}", "", f"FAMILY{i // 2:03d}", str(5000 + i), "", "ASH", "ST",
     "90099", "LOS ANGELES")
    for i in range(600)
]  # fmt: skip


def raw_roll(rows=ROLL, filler=FILLER) -> tuple[pd.DataFrame, pd.DataFrame]:
    roll = pd.DataFrame([*rows, *filler], columns=ROLL_COLUMNS).assign(
        street_postdir="", jurisdiction_code="19"
    )
    history = pd.DataFrame(
        HISTORY,
        columns=["voter_id", "house_number", "street_predir", "street_name", "street_type", "zip"],
    ).assign(street_postdir="", valid_from=dt.date(2015, 1, 1), valid_to=dt.date(2020, 1, 1))
    return roll.astype("str"), history


def match(lines: list[tuple[str, str, str, str]], roll=ROLL, *, fit=False, filler=FILLER):
    """(printed name, address, city, zip) lines matched against the roll; the settings' model
    unless `fit`."""
    raw, history = raw_roll(roll, filler)
    prepared_roll, prepared_history, stats = prepare_rolls(raw, history, {"19"})["19"]
    frame = pd.DataFrame(
        lines, columns=["printed_name", "residence_address", "city", "zip"]
    ).astype("str")
    frame = frame.assign(section_id="S1", page=1, line=range(1, len(frame) + 1))
    _, normalized = prepare_petition_lines(frame)
    model = default_model()
    result, candidates, _ = m.match_lines(
        normalized,
        prepared_roll,
        prepared_history,
        model,
        stats,
        fitted=None if fit else m.Fitted(model, model),
    )
    return result, candidates


def voters(result: pd.DataFrame) -> list:
    return [v if isinstance(v, str) else None for v in result["voter_id"]]


def test_each_way_of_finding_a_signer() -> None:
    result, _ = match(
        [
            ("JANE DOE", "100 MAIN", "", "90001"),  # no direction or suffix
            ("JOHN P DOE", "100 N MAIN ST", "", "90001"),  # the dwelling itself
            ("ANA LEE", "900 CEDAR ST", "", "90002"),  # elsewhere; one ANA LEE: registered there
            ("BO KIM", "400 PINE RD", "", "90001"),  # a past address
            ("MAX ROE", "100 N MAIN ST", "", "90001"),  # at a dwelling, nobody of that name
        ]
    )
    assert voters(result) == ["V1", "V2", "V3", "V4", None]
    assert result["match_method"].tolist() == [
        m.METHOD_CURRENT, m.METHOD_CURRENT, m.METHOD_NAME, m.METHOD_HISTORY, m.METHOD_NONE,
    ]  # fmt: skip
    assert result["match_status"].tolist() == [m.MATCHED] * 4 + [m.UNMATCHED]
    assert result["candidates_at_address"].tolist() == [2, 2, 0, 1, 2]


def test_every_pass_finds_what_it_is_for() -> None:
    """Each line hides its signer from the dwelling pass by one field written wrong."""
    result, candidates = match(
        [
            ("JANE DOE", "100 N MAINE ST", "", "90001"),  # street misspelt: house + ZIP
            ("JANE DOE", "100 N MAIN ST", "LOS ANGELES", ""),  # no ZIP: house + street
            ("JANE DOE", "100 N MAIN ST", "", "90009"),  # wrong ZIP: house + street
        ]
    )
    assert voters(result) == ["V1", "V1", "V1"]
    found = candidates[candidates["chosen"]].sort_values("line_index")["passes"]
    passes = [set(m.pass_names(np.array([bits]))[0].split(";")) for bits in found]
    assert "house_zip" in passes[0] and "dwelling" not in passes[0]
    assert "house_street" in passes[1] and "house_street" in passes[2]


def test_a_name_held_by_several_is_not_a_registration_elsewhere() -> None:
    roll = [*ROLL, ("V8", "ANA", "", "LEE", "9", "", "ASH", "ST", "90005", "LOS ANGELES")]
    result, _ = match([("ANA LEE", "900 CEDAR ST", "", "90002")], roll)
    assert voters(result) == [None]
    assert result["roll_records_with_name"].tolist() == [2]


def test_a_written_middle_name_that_contradicts_is_not_the_registration_elsewhere() -> None:
    # One JOHN DOE on the roll, registered as JOHN PAUL: a JOHN Q DOE signing from another
    # street is another man of that name; JOHN DOE or JOHN P DOE may be him.
    result, _ = match(
        [
            ("JOHN Q DOE", "900 CEDAR ST", "", "90002"),
            ("JOHN QUINCY DOE", "900 CEDAR ST", "", "90002"),
            ("JOHN DOE", "900 CEDAR ST", "", "90002"),
            ("JOHN P DOE", "900 CEDAR ST", "", "90002"),
            ("JOHN PAUL DOE", "900 CEDAR ST", "", "90002"),
        ]
    )
    assert voters(result) == [None, None, "V2", "V2", "V2"]
    assert result["match_method"].tolist() == [m.METHOD_NONE] * 2 + [m.METHOD_NAME] * 3


def test_a_relative_who_is_not_registered_is_not_matched_to_the_household() -> None:
    result, _ = match([("CARLOS DOE", "100 N MAIN ST", "", "90001")])
    assert voters(result) == [None]
    assert result["match_status"].tolist() == [m.UNMATCHED]


def test_a_relative_at_the_dwelling_written_with_a_slip_is_not_matched_either() -> None:
    # The dwelling but for a wrong ZIP digit or house digit: the people who might have signed
    # are still the household's, and a surname rare in the county (one in 20,000 here) is no
    # evidence among them.
    roll = [*ROLL, ("V9", "SOFIA", "", "BRADARO", "7470", "", "RESEDA", "BLVD", "91335", "LA")]
    filler = [
        (f"F{i:05d}", f"GIVEN{i % 700:03d}", "", f"FAMILY{i // 2:05d}", str(5000 + i), "",
         "ASH", "ST", "90099", "LOS ANGELES")
        for i in range(20_000)
    ]  # fmt: skip
    result, _ = match(
        [
            ("BRENA BRADARO", "7470 RESEDA BLVD", "", "91336"),
            ("BRENA BRADARO", "7471 RESEDA BLVD", "", "91335"),
            ("SOFIA BRADARO", "7470 RESEDA BLVD", "", "91336"),
        ],
        roll,
        filler=filler,
    )
    assert voters(result) == [None, None, "V9"]
    assert result["match_status"].tolist() == [m.UNMATCHED, m.UNMATCHED, m.MATCHED]


def test_an_uncertain_signer_is_routed_to_an_examiner_never_rejected() -> None:
    # Two slips in a short first name and none in the rest: maybe JANE, maybe a relative.
    result, candidates = match([("JUNA DOE", "100 N MAIN ST", "", "90001")])
    assert result["match_status"].tolist() == [m.REVIEW]
    assert voters(result) == [None]
    assert result["review_reason"].notna().all()
    assert "V1" in set(candidates["voter_id"])


def test_hashes_that_collide_only_widen_what_is_compared(monkeypatch) -> None:
    lines = [
        ("JANE DOE", "100 MAIN", "", "90001"),
        ("ANA LEE", "900 CEDAR ST", "", "90002"),
        ("BO KIM", "400 PINE RD", "", "90001"),
        ("MAX ROE", "100 N MAIN ST", "", "90001"),
    ]
    # A roll small enough that a block of every registration is still paired.
    expected, _ = match(lines, filler=[])
    true_hashes = frames.key_hashes
    for buckets in (2, 1):
        # Every key squeezed into so few values that it collides with all the others.
        monkeypatch.setattr(m, "key_hashes", lambda v, b=buckets: true_hashes(v) % b + 1)
        got, _ = match(lines, filler=[])
        pd.testing.assert_frame_equal(
            got.drop(columns=["blocking_passes"]), expected.drop(columns=["blocking_passes"])
        )


def test_a_roll_prepared_in_parts_is_the_roll_prepared_whole(monkeypatch) -> None:
    from recall_pipeline.verify import pipeline

    rows = [(f"V{i:03d}", *row[1:]) for i, row in enumerate(ROLL * 25)]
    roll, history = raw_roll(rows)
    history = history.assign(voter_id="V003")
    monkeypatch.setattr(pipeline, "_PARTS_FROM", 10**9)
    whole = pipeline.prepare_rolls(roll, history, {"19"})["19"]
    monkeypatch.setattr(pipeline, "_PARTS_FROM", 2)
    assert len(pipeline._parts(roll)) == pipeline._PARTS
    parts = pipeline.prepare_rolls(roll, history, {"19"})["19"]
    for got, expected in zip(parts[:2], whole[:2], strict=True):
        pd.testing.assert_frame_equal(got, expected)
    assert len(whole[0]) == 175 + len(FILLER) and len(whole[1]) == 1


def test_a_prepared_roll_keeps_no_view_of_the_raw_roll() -> None:
    # A view into the frame the roll was read into would keep all of its buffers alive while
    # the lines are matched: gigabytes at a county's scale.
    rows = [(f"V{i:03d}", *row[1:]) for i, row in enumerate(ROLL * 25)]
    raw = pa.Table.from_pylist([dict(zip(ROLL_COLUMNS, row, strict=True)) for row in rows])
    roll = raw.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)
    roll = roll.assign(street_postdir="", jurisdiction_code="19")
    raw_ids = raw.column("voter_id").chunks[0].buffers()[2]
    assert roll["voter_id"].array._pa_array.chunks[0].buffers()[2].address == raw_ids.address

    prepared = pa.array(m.prepare_roll(roll)["voter_id"].array)
    chunks = prepared.chunks if isinstance(prepared, pa.ChunkedArray) else [prepared]
    for chunk in chunks:
        data = chunk.buffers()[2]
        assert not raw_ids.address <= data.address < raw_ids.address + raw_ids.size
    assert prepared.to_pylist() == raw.column("voter_id").to_pylist()


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


def test_the_model_is_fitted_on_the_lines_own_habits(monkeypatch) -> None:
    """Signers who all write their middle name as the first: the fit learns it, and the
    settings' model alone would weigh it less."""
    rows = [
        (f"V{i}", f"FIRST{chr(65 + i % 26)}{i}", f"MIDDLE{i}", f"SURNAME{i}", str(100 + i),
         "", "MAIN", "ST", "90001", "LOS ANGELES")
        for i in range(300)
    ]  # fmt: skip
    lines = [(f"MIDDLE{i} SURNAME{i}", f"{100 + i} MAIN ST", "", "90001") for i in range(300)]
    raw, history = raw_roll(rows)
    history = history.iloc[:0]
    prepared_roll, prepared_history, stats = prepare_rolls(raw, history, {"19"})["19"]
    frame = pd.DataFrame(lines, columns=["printed_name", "residence_address", "city", "zip"])
    _, normalized = prepare_petition_lines(frame.assign(section_id="S", page=1, line=range(300)))
    settings_model = default_model()
    # 300 lines: fitted as a county's petition would be (below FIT_MIN_LINES it is not).
    monkeypatch.setattr(m, "FIT_MIN_LINES", 0)
    _, _, models = m.match_lines(normalized, prepared_roll, prepared_history, settings_model, stats)
    fitted = models.final
    middle_as_first = 2
    assert fitted.m["first_name"][middle_as_first] > 10 * settings_model.m["first_name"][2]
    assert fitted.fitted_pairs > 0


# --- keying habits that must never lose a valid signer ----------------------------------------

CANONICAL = ("MARIA ELENA DOMINGUEZ-RAMIREZ", "12 6TH ST", "PASADENA", "90003")


def _address_variants() -> list[tuple[str, str, str]]:
    """(address, city, zip) as people write and keyers type the same dwelling."""
    return [
        ("12 SIXTH ST", "PASADENA", "90003"),
        ("12 6TH STREET", "PASADENA", "90003"),
        ("12 6th St.", "Pasadena", "90003"),
        ("12  6TH   ST", "PASADENA", "90003"),
        ("12 6TH ST APT24", "PASADENA", "90003"),
        ("12 6TH ST, #21", "PASADENA", "90003"),
        ("12 6TH ST # 6", "PASADENA", "90003"),
        ("12 6TH ST UNIT B", "PASADENA", "90003"),
        ("12 6 ST", "PASADENA", "90003"),
        ("12 6TH", "PASADENA", "90003"),
        ("12 6TH ST", "PASADENA", "900031234"),
        ("12 6TH ST", "PASADENA", "90003-1234"),
        ("12 6TH ST", "PASADENA", ""),
        ("12 6TH ST", "", "90003"),
        ("12 6TH ST PASADENA CA 90003", "", ""),
        ("12 1/2 6TH ST", "PASADENA", "90003"),
        ("12-B 6TH ST", "PASADENA", "90003"),
        ("012 6TH ST", "PASADENA", "90003"),
        ("12 6TH ST.,", "PASADENA", "90003"),
        ("21 6TH ST", "PASADENA", "90003"),  # digits swapped
        ("12 6TH ST", "PASADENA", "90008"),  # one digit of the ZIP wrong
        ("12 SIXHT ST", "PASADENA", "90003"),  # an ordinal word with a slip
        ("12 6TH STREET PASADENA CALIF", "", ""),  # the place keyed into the address
    ]


def _name_variants() -> list[str]:
    return [
        "MARIA DOMINGUEZ-RAMIREZ",
        "Maria E. Dominguez-Ramirez",
        "DOMINGUEZ-RAMIREZ, MARIA ELENA",
        "DOMINGUEZ RAMIREZ, MARIA",
        "MARIA DOMINGUEZ",  # one part of the compound surname
        "MARIA RAMIREZ",
        "MARIA DOMINGUEZRAMIREZ",
        "MARIA DOMINGEZ-RAMIREZ",  # one slip
        "MRAIA DOMINGUEZ-RAMIREZ",  # letters swapped
        "MARIA DOMINGUES RAMIRES",  # two slips in a long name
        "María Domínguez-Ramírez",  # accents
        "M DOMINGUEZ-RAMIREZ",  # an initial
        "ELENA DOMINGUEZ-RAMIREZ",  # the middle name as the first
        "DOMINGUEZ-RAMIREZ MARIA",  # first and last swapped, no comma
        "MARIA ELENA DOMINGUEZ-RAMIREZ JR",
        "mary dominguez-ramirez",  # a nickname beyond Spanish
        "DOMINGUEZ RAMIREZ MARIA ELENA",  # a two-word surname first, no comma
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["address", "name"]),
    pick=st.integers(min_value=0, max_value=100),
)
def test_one_keying_habit_keeps_a_valid_signer_linked(kind: str, pick: int) -> None:
    """Any one perturbation of the way a valid line is written leaves it linked to the same
    voter (MARIA ELENA DOMINGUEZ-RAMIREZ at 12 6TH ST, who shares the dwelling with a JOSE
    DOMINGUEZ)."""
    name, address, city, zip_code = CANONICAL
    if kind == "address":
        address, city, zip_code = _address_variants()[pick % len(_address_variants())]
    else:
        name = _name_variants()[pick % len(_name_variants())]
    result, _ = match([(name, address, city, zip_code)])
    assert voters(result) == ["V5"], (name, address, city, zip_code)
    assert result["match_status"].tolist() == [m.MATCHED]


@pytest.mark.parametrize("variant", _address_variants() + [(n,) for n in _name_variants()])
def test_every_listed_habit_keeps_the_signer(variant: tuple) -> None:
    """The same property, each listed habit checked once (the property test samples them)."""
    name, address, city, zip_code = CANONICAL
    if len(variant) == 1:
        name = variant[0]
    else:
        address, city, zip_code = variant
    result, _ = match([(name, address, city, zip_code)])
    assert voters(result) == ["V5"]
