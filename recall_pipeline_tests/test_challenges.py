"""The proponents' challenges and the registrar's rulings: what is set aside and why, and how an
accepted ruling decides its line again through the rules (never by writing a verdict)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline.audit.trace import trace
from recall_pipeline.contract import CHALLENGE_RULINGS, CHALLENGES
from recall_pipeline.ingest.pipeline import ingest_input
from recall_pipeline.publication import open_publication
from recall_pipeline.services.determination import determine_sufficiency
from recall_pipeline.services.examination import examination_standing
from recall_pipeline.services.matching import match_lines
from recall_pipeline.services.verdicts import decide_verdicts
from recall_pipeline.verify import reconcile
from recall_pipeline.verify.challenges import examine
from recall_pipeline.verify.examination import ONE_SIGNATURE_COMPARED
from recall_pipeline.verify.grounds import challenge_grounds, ground_codes
from recall_pipeline.verify.pipeline import decide_petition
from recall_pipeline.verify.reasons import reason_codes
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests import datadir
from recall_pipeline_tests.datadir import PETITION_ID, build_data_dir, petition_dir, write_lines
from recall_pipeline_tests.test_services import PUBLICATION, ingest
from recall_pipeline_tests.test_verdicts import (
    CONFIG,
    HISTORY,
    NO_REVIEWS,
    NO_WITHDRAWALS,
    ROLL,
    SECTIONS,
    ZIPS,
    line,
)

CHALLENGES_FILE = "petitions/p/challenges/c1.csv"
RULINGS_FILE = "petitions/p/rulings/r1.csv"


def challenge(cid, n, ground, voter=None, filed_at="2022-09-10T10:00", row=None):
    return {
        "petition_id": "p",
        "challenge_id": cid,
        "section_id": "S1",
        "page": 1,
        "line": n,
        "ground": ground,
        "claimed_voter_id": voter,
        "evidence": None,
        "filed_by": "PROPONENT",
        "filed_at": filed_at,
        "source_file": CHALLENGES_FILE,
        "source_row": row if row is not None else n + 1,
        "source_sha256": "c" * 64,
    }


def ruling(cid, verdict, row, ruled_at="2022-09-20T10:00"):
    return {
        "petition_id": "p",
        "challenge_id": cid,
        "ruling": verdict,
        "ruled_by": "REG01",
        "ruled_at": ruled_at,
        "note": None,
        "source_file": RULINGS_FILE,
        "source_row": row,
        "source_sha256": "r" * 64,
    }


def decided(lines, challenges=(), rulings=(), reviews=NO_REVIEWS):
    """Match `lines` on the test roll and decide them with the challenges and rulings given."""
    from recall_pipeline.verify import match as m
    from recall_pipeline.verify.model import default_model, roll_statistics
    from recall_pipeline.verify.pipeline import match_petition

    roll = pd.DataFrame(ROLL)
    frame = pd.DataFrame(lines)
    prepared = m.prepare_roll(roll)
    history = m.prepare_history(pd.DataFrame(HISTORY), prepared)
    matches, _, _ = match_petition(
        "p", frame, prepared, history, roll_statistics(prepared, default_model())
    )
    out = decide_petition(
        CONFIG,
        frame,
        matches,
        roll,
        SECTIONS,
        reviews,
        NO_WITHDRAWALS,
        ZIPS,
        None,
        pd.DataFrame(HISTORY),
        None,
        pd.DataFrame(list(challenges)) if challenges else None,
        pd.DataFrame(list(rulings)) if rulings else None,
    )
    return out.verdicts.set_index("line"), out.set_aside


def state(out, n):
    row = out.loc[n]
    return tuple(
        None if pd.isna(v) else v for v in (row["status"], row["reason_code"], row["voter_id"])
    )


def pointer(out, n):
    row = out.loc[n]
    return tuple(
        None if pd.isna(v) else v
        for v in (row["challenge_id"], row["ruling_source_file"], row["ruling_source_row"])
    )


def reasons(set_aside) -> dict[tuple[str, int], str]:
    return {(r.input_name, int(r.source_row)): r.reason for r in set_aside.itertuples(index=False)}


# Line 1 counts for V2; line 2 is nobody's on the roll; line 3 names V3 at a past address she
# left before circulation; line 4 is Zelda Quixote, whose signature an examiner rejected.
LINES = [
    line(1, "Bob Smith", "100 main st", signed="2022-03-05"),
    line(2, "Nobody Atall", "100 Main St", signed="2022-03-01"),
    line(3, "Ana Lopez", "12 Rose St"),
    line(4, "Zelda Quixote", "500 Cedar St"),
]
NO_MATCH_4 = pd.DataFrame(
    [("S1", 1, 4, "NO_MATCH", "EX1", "2022-07-20T10:00", "petitions/p/reviews/a.csv", 2)],
    columns=[
        "section_id", "page", "line", "finding", "examiner_id", "reviewed_at", "source_file",
        "source_row",
    ],
)  # fmt: skip


def test_the_finding_is_what_the_rules_say_without_rulings() -> None:
    out, set_aside = decided(LINES, reviews=NO_MATCH_4)
    assert state(out, 1) == ("VALID", None, "V2")
    assert state(out, 2) == ("INVALID", "NOT_REGISTERED", None)
    assert state(out, 3) == ("INVALID", "ADDRESS_MISMATCH", "V3")
    assert state(out, 4) == ("INVALID", "SIGNATURE_MISMATCH", "V6")
    assert out["challenge_id"].isna().all() and set_aside.empty


def test_an_accepted_signer_is_registered_challenge_makes_the_line_valid_and_names_the_ruling():
    # V1 (Maria Garcia, 100 Main St) has no other line: the examiner-like decision holds.
    out, set_aside = decided(
        LINES, [challenge("C1", 2, "SIGNER_REGISTERED", "V1")], [ruling("C1", "ACCEPTED", 2)]
    )
    assert state(out, 2) == ("VALID", None, "V1")
    assert pointer(out, 2) == ("C1", RULINGS_FILE, 2)
    assert out.loc[2, "finding_reason_code"] == "NOT_REGISTERED"
    # It acts as an examiner's decision: the match evidence names the ruling row.
    assert out.loc[2, "match_status"] == "REVIEWED"
    assert (out.loc[2, "match_review_source_file"], out.loc[2, "match_review_source_row"]) == (
        RULINGS_FILE,
        2,
    )
    # The other lines keep their verdict at the finding, and name no ruling.
    assert state(out, 1) == ("VALID", None, "V2") and pointer(out, 1) == (None, None, None)
    assert set_aside.empty


def test_the_rules_still_apply_to_the_claimed_voter() -> None:
    # V2 already has a counted line (line 1), though line 2 was signed earlier: the counted
    # line keeps counting and the reinstated one is the duplicate.
    out, _ = decided(
        LINES, [challenge("C1", 2, "SIGNER_REGISTERED", "V2")], [ruling("C1", "ACCEPTED", 2)]
    )
    assert state(out, 2) == ("INVALID", "DUPLICATE", "V2")
    assert out.loc[2, "registrar_category"] == "Max Number of Times Signed (Duplicate)"
    assert pointer(out, 2) == ("C1", RULINGS_FILE, 2)
    assert state(out, 1) == ("VALID", None, "V2")
    # V4's registration was cancelled before the line was signed.
    out, _ = decided(
        LINES, [challenge("C1", 2, "SIGNER_REGISTERED", "V4")], [ruling("C1", "ACCEPTED", 2)]
    )
    assert state(out, 2) == ("INVALID", "CANCELLED", "V4")
    # V6 lives at 500 Cedar: the line's 100 Main St is not her address.
    out, _ = decided(
        LINES, [challenge("C1", 2, "SIGNER_REGISTERED", "V6")], [ruling("C1", "ACCEPTED", 2)]
    )
    assert state(out, 2) == ("INVALID", "ADDRESS_MISMATCH", "V6")


def test_a_claim_of_the_signer_at_the_written_address_is_ruled_on_the_address_too() -> None:
    # V7 lives at 600 Birch St. Named alone, the line's 100 Main St is weighed against that.
    claim = [challenge("C1", 2, "SIGNER_REGISTERED", "V7")]
    out, _ = decided(LINES, claim, [ruling("C1", "ACCEPTED", 2)])
    assert state(out, 2) == ("INVALID", "ADDRESS_MISMATCH", "V7")
    # A ruling that accepted the line's address as his as well: ADDRESS_MISMATCH no longer
    # applies, and the ruling row is the evidence.
    claim = [challenge("C1", 2, "REGISTERED_AT_WRITTEN_ADDRESS", "V7")]
    out, set_aside = decided(LINES, claim, [ruling("C1", "ACCEPTED", 2)])
    assert state(out, 2) == ("VALID", None, "V7") and set_aside.empty
    assert pointer(out, 2) == ("C1", RULINGS_FILE, 2)
    assert out.loc[2, "match_method"] == "CURRENT_ADDRESS"
    assert out.loc[2, "match_review_source_row"] == 2
    # Every rule that does not read the address still applies: V4's cancelled registration,
    # V2's counted line.
    for voter, reason in (("V4", "CANCELLED"), ("V2", "DUPLICATE")):
        claim = [challenge("C1", 2, "REGISTERED_AT_WRITTEN_ADDRESS", voter)]
        out, _ = decided(LINES, claim, [ruling("C1", "ACCEPTED", 2)])
        assert state(out, 2) == ("INVALID", reason, voter)
    # Rejected, it changes nothing.
    out, _ = decided(LINES, claim, [ruling("C1", "REJECTED", 2)])
    assert state(out, 2) == ("INVALID", "NOT_REGISTERED", None)
    # Accepted beside a claim of the same voter that leaves the address to the rules, the two
    # would decide the line differently: neither does.
    out, set_aside = decided(
        LINES,
        [
            challenge("A", 2, "REGISTERED_AT_WRITTEN_ADDRESS", "V7", row=2),
            challenge("B", 2, "SIGNER_REGISTERED", "V7", row=3),
        ],
        [ruling("A", "ACCEPTED", 2), ruling("B", "ACCEPTED", 3)],
    )
    assert state(out, 2) == ("INVALID", "NOT_REGISTERED", None)
    assert set(reasons(set_aside)) == {("challenge_rulings", 2), ("challenge_rulings", 3)}


def test_accepted_address_and_signature_grounds() -> None:
    out, _ = decided(
        LINES,
        [
            challenge("C3", 3, "MOVED_DURING_CIRCULATION"),
            challenge("C4", 4, "SIGNATURE_COMPARES"),
        ],
        [ruling("C3", "ACCEPTED", 2), ruling("C4", "ACCEPTED", 3)],
        reviews=NO_MATCH_4,
    )
    assert state(out, 3) == ("VALID", None, "V3") and pointer(out, 3) == ("C3", RULINGS_FILE, 2)
    assert out.loc[3, "match_method"] == "CURRENT_ADDRESS"
    assert state(out, 4) == ("VALID", None, "V6") and pointer(out, 4) == ("C4", RULINGS_FILE, 3)
    assert out.loc[4, "review_finding"] == "MATCH"
    assert (out.loc[4, "review_source_file"], out.loc[4, "review_source_row"]) == (RULINGS_FILE, 3)


def test_a_rejected_ruling_or_an_open_challenge_changes_nothing() -> None:
    before, _ = decided(LINES, reviews=NO_MATCH_4)
    after, set_aside = decided(
        LINES,
        [challenge("C1", 2, "SIGNER_REGISTERED", "V1"), challenge("C4", 4, "SIGNATURE_COMPARES")],
        [ruling("C1", "REJECTED", 2)],
        reviews=NO_MATCH_4,
    )
    pd.testing.assert_frame_equal(after, before)
    assert set_aside.empty


def test_two_rulings_on_one_challenge_are_both_set_aside_and_change_nothing() -> None:
    before, _ = decided(LINES)
    after, set_aside = decided(
        LINES,
        [challenge("C1", 2, "SIGNER_REGISTERED", "V1")],
        [ruling("C1", "ACCEPTED", 2), ruling("C1", "ACCEPTED", 3, ruled_at="2022-09-21T10:00")],
    )
    pd.testing.assert_frame_equal(after, before)
    twice = "challenge_id: the challenge is ruled on more than once"
    assert reasons(set_aside) == {("challenge_rulings", 2): twice, ("challenge_rulings", 3): twice}


def test_each_cross_file_rule_sets_its_row_aside_with_its_reason() -> None:
    finding = pd.DataFrame(
        {
            "section_id": ["S1"] * 4,
            "page": [1] * 4,
            "line": [1, 2, 3, 4],
            "status": ["VALID", "INVALID", "INVALID", "PENDING"],
            "reason_code": [None, "NOT_REGISTERED", "ADDRESS_MISMATCH", None],
        }
    )
    challenges = pd.DataFrame(
        [
            challenge("OK", 2, "SIGNER_REGISTERED", "V1", row=2),
            challenge("NOLINE", 9, "SIGNER_REGISTERED", "V1", row=3),
            challenge("VALID", 1, "SIGNER_REGISTERED", "V1", row=4),
            challenge("PENDING", 4, "SIGNER_REGISTERED", "V1", row=5),
            challenge("WRONGGROUND", 3, "SIGNATURE_COMPARES", row=6),
            challenge("NOVOTER", 2, "SIGNER_REGISTERED", None, row=7),
            challenge("ADDRESS", 3, "ADDRESS_ON_FILE_MATCHES", row=8, filed_at="2022-09-15 09:00"),
        ]
    )
    rulings = pd.DataFrame(
        [
            ruling("GHOST", "ACCEPTED", 2),
            ruling("VALID", "ACCEPTED", 3),
            ruling("ADDRESS", "ACCEPTED", 4, ruled_at="2022-09-14T17:00"),
            ruling("OK", "ACCEPTED", 5),
        ]
    )
    examined = examine("p", finding, challenges, rulings)
    assert reasons(examined.set_aside) == {
        ("challenges", 3): "line: no such line among the petition's decided lines",
        ("challenges", 4): "line: VALID at the finding, not INVALID",
        ("challenges", 5): "line: PENDING at the finding, not INVALID",
        ("challenges", 6): "ground: SIGNATURE_COMPARES does not answer the line's reason "
        "ADDRESS_MISMATCH",
        ("challenges", 7): "claimed_voter_id: missing (the ground names the signer's registration)",
        ("challenge_rulings", 2): "challenge_id: no such challenge in the petition",
        ("challenge_rulings", 3): "challenge_id: its challenge is set aside",
        ("challenge_rulings", 4): "ruled_at: before the challenge was filed",
    }
    assert set(examined.set_aside["petition_id"]) == {"p"}
    assert examined.applied[["challenge_id", "line", "decides_again_as"]].values.tolist() == [
        ["OK", 2, "match_review"]
    ]


def test_accepted_rulings_that_decide_one_line_differently_are_both_set_aside() -> None:
    finding = pd.DataFrame(
        {"section_id": ["S1"], "page": [1], "line": [2], "status": ["INVALID"],
         "reason_code": ["NOT_REGISTERED"]}
    )  # fmt: skip
    challenges = pd.DataFrame(
        [
            challenge("A", 2, "SIGNER_REGISTERED", "V1", row=2),
            challenge("B", 2, "SIGNER_REGISTERED", "V3", row=3),
        ]
    )
    examined = examine(
        "p",
        finding,
        challenges,
        pd.DataFrame([ruling("A", "ACCEPTED", 2), ruling("B", "ACCEPTED", 3)]),
    )
    assert examined.applied.empty
    assert set(reasons(examined.set_aside)) == {("challenge_rulings", 2), ("challenge_rulings", 3)}
    # The same decision twice is no conflict: the earlier ruling is the one named.
    same = challenges.assign(claimed_voter_id="V1")
    examined = examine(
        "p",
        finding,
        same,
        pd.DataFrame([ruling("B", "ACCEPTED", 3, "2022-09-20T09:00"), ruling("A", "ACCEPTED", 2)]),
    )
    assert examined.set_aside.empty
    assert examined.applied["challenge_id"].tolist() == ["B"]


def test_the_grounds_table_answers_real_reason_codes() -> None:
    codes = {c.code for c in reason_codes()}
    grounds = challenge_grounds()
    assert {g.reason_code for g in grounds} <= codes
    by_ground = {(g.reason_code, g.ground): g for g in grounds}
    assert by_ground[("NOT_REGISTERED", "SIGNER_REGISTERED")].needs_voter_id
    assert {("ADDRESS_MISMATCH", "MOVED_DURING_CIRCULATION"),
            ("ADDRESS_MISMATCH", "ADDRESS_ON_FILE_MATCHES"),
            ("DUPLICATE", "NO_LINE_OF_VOTER_COUNTED"),
            ("SIGNATURE_MISMATCH", "SIGNATURE_COMPARES")} <= set(by_ground)  # fmt: skip
    assert CHALLENGES.field("ground").allowed == ground_codes()


# --- ingestion: the contract's rules on both files ----------------------------------------------

CHALLENGE_HEADER = (
    "challenge_id,section_id,page,line,ground,claimed_voter_id,evidence,filed_by,filed_at"
)
RULING_HEADER = "challenge_id,ruling,ruled_by,ruled_at,note"


def _lookup(challenge_ids: set[str]):
    def known(table: str, column: str, values: list[str]) -> set[str]:
        if table == "voter_roll":
            return datadir.roll_lookup(table, column, values)
        assert (table, column) == ("challenges", "challenge_id")
        return set(values) & challenge_ids

    return known


def test_bad_challenge_and_ruling_rows_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    root = build_data_dir(tmp_path / "data")
    folder = petition_dir(root)
    write_lines(
        folder / "challenges" / "challenges_001.csv",
        [
            CHALLENGE_HEADER,
            "C1,S001,1,2,SIGNER_REGISTERED,V0002,saw the roll,PROPONENT,2022-09-10T10:00",
            "C2,S001,1,2,SIGNER_REGISTERED,V9999,,PROPONENT,2022-09-10T10:00",
            "C3,S001,1,2,REGISTERED_SOMEWHERE,,,PROPONENT,2022-09-10T10:00",
            "C4,S001,x,2,SIGNATURE_COMPARES,,,PROPONENT,2022-09-10",
            ",S001,1,3,SIGNATURE_COMPARES,,,PROPONENT,2022-09-10T10:00",
        ],
    )
    write_lines(
        folder / "rulings" / "rulings_001.csv",
        [
            RULING_HEADER,
            "C1,ACCEPTED,REG01,2022-09-20T10:00,",
            "C1,MAYBE,REG01,2022-09-20T10:00,",
            "C9,REJECTED,REG01,2022-09-20T10:00,",
            "C1,REJECTED,REG01,20/09/2022,",
        ],
    )
    challenges = ingest_input(CHALLENGES, root, lookup=_lookup(set()))
    got = dict(
        zip(
            challenges.quarantined.column("source_row").to_pylist(),
            challenges.quarantined.column("reason").to_pylist(),
            strict=True,
        )
    )
    assert got == {
        3: "claimed_voter_id: no such voter_id in voter_roll",
        4: "ground: unknown value (allowed: " + ", ".join(ground_codes()) + ")",
        5: "page: not a whole number; filed_at: not an ISO date and time (YYYY-MM-DDTHH:MM[:SS])",
        6: "challenge_id: missing required value",
    }
    assert challenges.accepted.column("challenge_id").to_pylist() == ["C1"]
    rulings = ingest_input(CHALLENGE_RULINGS, root, lookup=_lookup({"C1"}))
    got = dict(
        zip(
            rulings.quarantined.column("source_row").to_pylist(),
            rulings.quarantined.column("reason").to_pylist(),
            strict=True,
        )
    )
    assert got == {
        3: "ruling: unknown value (allowed: ACCEPTED, REJECTED)",
        4: "challenge_id: no such challenge_id in challenges",
        5: "ruled_at: not an ISO date and time (YYYY-MM-DDTHH:MM[:SS])",
    }
    # Every row read lands once: accepted or quarantined.
    for result in (challenges, rulings):
        files = result.files.to_pylist()
        assert [(f["rows_read"], f["rows_accepted"] + f["rows_quarantined"]) for f in files] == [
            (result.accepted.num_rows + result.quarantined.num_rows,) * 2
        ]


# --- the stages on a warehouse: the determination moves by the reinstated lines ------------------


@pytest.fixture
def examined_dir(tmp_path: Path) -> Path:
    root = build_data_dir(tmp_path / "data")
    # Without the examiner's NO_MATCH on S001 1 2, a registration found for it is all it lacks.
    reviews = petition_dir(root) / "reviews" / "reviews_001.csv"
    write_lines(reviews, [line for line in datadir.REVIEWS if "NO_MATCH" not in line])
    return root


def test_a_signature_rejected_against_one_signature_on_file_is_examined_first(
    warehouse_url: str, tmp_path: Path
) -> None:
    root = build_data_dir(tmp_path / "data")
    reviews = petition_dir(root) / "reviews" / "reviews_001.csv"
    write_lines(
        reviews,
        [
            "section_id,page,line,finding,examiner_id,reviewed_at,signatures_compared",
            "S001,1,1,NO_MATCH,EX01,2022-07-20T10:00:00,3",
            # The finding the verdict cites is the latest: against one signature.
            "S001,1,1,NO_MATCH,EX02,2022-07-21T10:00:00,1",
            # A count that is no number is nulled (no rule reads it); the finding stands.
            "S001,1,3,NO_MATCH,EX02,2022-07-20T10:05:00,two",
        ],
    )
    open_publication(warehouse_url, PUBLICATION)
    scope = [PETITION_ID]
    with Warehouse(warehouse_url, publication=PUBLICATION) as store:
        ingest(store, root)
        match_lines(store, root, [f"{PETITION_ID}/batch_0001", f"{PETITION_ID}/batch_0002"], True)
        decide_verdicts(store, scope, True, "run-1")
        determine_sufficiency(store, scope, True)
        examination_standing(store, scope, True, as_of=dt.date(2022, 9, 6))
        published = store.read_frame("signature_reviews").set_index("source_row")
        nulled = store.query("SELECT source_row, column_name FROM nulled_values").to_dict("records")
        shown = store.read_frame("examination_set").set_index(["section_id", "page", "line"])
    assert len(published) == 3
    assert published["signatures_compared"].isna().tolist() == [False, False, True]
    assert {"source_row": 4, "column_name": "signatures_compared"} in nulled
    assert shown.loc[("S001", 1, 3), "reason_code"] == "NO_SIGNATURE"
    first = shown.loc[("S001", 1, 1)]
    assert first["reason_code"] == "SIGNATURE_MISMATCH"
    assert first["review_priority"] == pytest.approx(ONE_SIGNATURE_COMPARED)
    assert first["priority_evidence"] == "signature compared with one on file only"


def test_rulings_through_the_stages_move_the_valid_count_by_the_reinstated_lines(
    warehouse_url: str, examined_dir: Path
) -> None:
    open_publication(warehouse_url, PUBLICATION)
    scope = [PETITION_ID]
    with Warehouse(warehouse_url, publication=PUBLICATION) as store:
        ingest(store, examined_dir)
        match_lines(
            store, examined_dir, [f"{PETITION_ID}/batch_0001", f"{PETITION_ID}/batch_0002"], True
        )
        decide_verdicts(store, scope, True, "run-1")
        determine_sufficiency(store, scope, True)
        examination_standing(store, scope, True, as_of=dt.date(2022, 9, 6))
        flip_before = store.read_frame("examination_status").iloc[0]
        finding = store.read_frame("line_verdicts").set_index(["section_id", "page", "line"])
        valid_before = int(store.read_frame("sufficiency_determination")["valid"].iloc[0])
        assert finding.loc[("S001", 1, 2), "reason_code"] == "NOT_REGISTERED"

        folder = petition_dir(examined_dir)
        write_lines(
            folder / "challenges" / "challenges_001.csv",
            [
                CHALLENGE_HEADER,
                "C1,S001,1,2,SIGNER_REGISTERED,V0002,,PROPONENT,2022-09-10T10:00",
                "C2,S001,1,1,SIGNER_REGISTERED,V0001,,PROPONENT,2022-09-10T10:00",
                "C3,S001,1,3,SIGNATURE_COMPARES,,,PROPONENT,2022-09-10T10:00",
                "C4,S002,1,1,NO_LINE_OF_VOTER_COUNTED,,,PROPONENT,2022-09-10T10:00",
            ],
        )
        write_lines(
            folder / "rulings" / "rulings_001.csv",
            [
                RULING_HEADER,
                "C1,ACCEPTED,REG01,2022-09-20T10:00,registration found",
                "C3,REJECTED,REG01,2022-09-20T10:00,",
                "C4,ACCEPTED,REG01,2022-09-20T10:00,",
                "C4,REJECTED,REG01,2022-09-21T10:00,",
            ],
        )
        for spec in (CHALLENGES, CHALLENGE_RULINGS):
            ingest(store, examined_dir, spec)
        outcome = decide_verdicts(store, scope, True, "run-2")
        determine_sufficiency(store, scope, True)
        examination_standing(store, scope, True, as_of=dt.date(2022, 9, 20))
        flip_after = store.read_frame("examination_status").iloc[0]
        by_reason = store.read_frame("examination_reasons").set_index("reason_code")
        ruled_count, ruled_lines = trace(store, PETITION_ID, "ruled")
        after = store.read_frame("line_verdicts").set_index(["section_id", "page", "line"])
        valid_after = int(store.read_frame("sufficiency_determination")["valid"].iloc[0])
        set_aside = store.read_frame("challenges_set_aside")
        accounted = reconcile.rulings_accounted(store, scope)
        # A verdict that lost its ruling's mark, or names a ruling never made, is caught.
        store.execute("UPDATE line_verdicts SET challenge_id = NULL WHERE challenge_id = 'C1'")
        lost = reconcile.rulings_accounted(store, scope)
        store.execute("UPDATE line_verdicts SET challenge_id = 'C9' WHERE line = 3")
        invented = reconcile.rulings_accounted(store, scope)

    line = after.loc[("S001", 1, 2)]
    assert (line["status"], line["voter_id"], line["challenge_id"]) == ("VALID", "V0002", "C1")
    rulings_file = f"petitions/{PETITION_ID}/rulings/rulings_001.csv"
    assert (line["ruling_source_file"], int(line["ruling_source_row"])) == (rulings_file, 2)
    assert line["finding_reason_code"] == "NOT_REGISTERED"
    reinstated = int(((after["status"] == "VALID") & (finding["status"] != "VALID")).sum())
    assert reinstated == 1 and valid_after - valid_before == reinstated
    assert outcome.lines_decided_by_rulings == 1
    # Only the ruled line moved.
    others = after.index != ("S001", 1, 2)
    assert after.loc[others, "status"].tolist() == finding.loc[others, "status"].tolist()
    assert dict(
        zip(
            zip(set_aside["input_name"], set_aside["source_row"], strict=True),
            set_aside["reason"],
            strict=True,
        )
    ) == {
        ("challenges", 3): "line: VALID at the finding, not INVALID",
        ("challenges", 4): "ground: SIGNATURE_COMPARES does not answer the line's reason "
        "NO_SIGNATURE",
        ("challenges", 5): "ground: NO_LINE_OF_VOTER_COUNTED does not answer the line's reason "
        "CIRCULATOR_DECLARATION_DEFECT",
        ("challenge_rulings", 3): "challenge_id: its challenge is set aside",
        ("challenge_rulings", 4): "challenge_id: its challenge is set aside; challenge_id: the "
        "challenge is ruled on more than once",
        ("challenge_rulings", 5): "challenge_id: its challenge is set aside; challenge_id: the "
        "challenge is ruled on more than once",
    }
    assert outcome.set_aside_rows == len(set_aside)
    # The examination's standing counts the admitted challenge and its ruling, not the rows
    # set aside; the reinstated line still counts among its reason's lines at the finding.
    assert (flip_before["challenged_lines"], flip_before["invalid_lines"]) == (
        0,
        len(finding[finding["status"] == "INVALID"]),
    )
    assert (flip_after["challenged_lines"], flip_after["ruled"], flip_after["accepted"]) == (
        1,
        1,
        1,
    )
    assert flip_after["invalid_lines"] == flip_before["invalid_lines"]
    if flip_before["flip_direction"] == "reinstate":
        assert flip_after["lines_to_flip"] == flip_before["lines_to_flip"] - 1
    assert flip_after["valid_at_finding"] == valid_before == flip_before["valid"]
    assert accounted.passed and accounted.metadata["accepted_rulings"] == 1
    assert not lost.passed and lost.metadata["accepted_but_not_applied"] == 1
    assert not invented.passed and invented.metadata["decided_by_no_admitted_ruling"] >= 1
    # `trace --reason RULED` follows the count through the rulings.
    assert ruled_count == 1
    assert ruled_lines[["line", "challenge_id", "finding_reason_code"]].values.tolist() == [
        [2, "C1", "NOT_REGISTERED"]
    ]
    assert by_reason.loc["NOT_REGISTERED", "accepted"] == 1
    assert by_reason.loc["NOT_REGISTERED", "acceptance_rate"] == 1.0
