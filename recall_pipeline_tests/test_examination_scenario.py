"""The examination played on a generated scenario: challenges and rulings generated after the
published finding, the run repeated with them, and its count held against the recount the truth
expects (`recall_pipeline/scenario/examination.py`).

On the standard keying profile at small scales the finding equals the truth on every line, so no
challenge could be sound and the recount would equal the finding whatever the pipeline did. The
scenario here is therefore given registrar errors before its finding, of the kinds an
examination exists to catch: an examiner who could not find a registered signer, one who linked a
line to another voter's registration (a cancelled one, or one elsewhere), a signature judged
unlike when it was the voter's, and a duplicate signer's lines mislaid (so that the duplicate
rule decides what a reinstatement is worth). The truth is unchanged by them.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recall_pipeline.cli import main
from recall_pipeline.scenario import examination as ex
from recall_pipeline.scenario import generate_scenario
from recall_pipeline.scenario.output import write_csv
from recall_pipeline.verify.grounds import challenge_grounds
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.room_server import run_pipeline

SCALE = 0.01
SEED = 20220706
PETITION = "la-2022-da-recall"
KEY = ["section_id", "page", "line"]
# Before the examination, after the generator's own reviews (which end by 2022-08-11).
ERRORS_AT = "2022-08-12T10:00:00"


@dataclasses.dataclass(frozen=True)
class Examined:
    data: Path
    truth: Path
    url: str
    # The finding's verdicts, determination and standing, read before the rerun.
    finding: pd.DataFrame
    finding_determination: pd.Series
    finding_status: pd.Series
    # The verdicts, determination and standing after the rulings.
    after: pd.DataFrame
    determination: pd.Series
    status: pd.Series
    certificate: str
    check_exit: int


def _read_csvs(folder: Path) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(folder.glob("*.csv"))],
        ignore_index=True,
    )


def _count_in_full(data: Path) -> None:
    # At this scale LA's `auto` stops at the sample; the examination follows a full count.
    path = data / "petitions" / PETITION / "petition.yaml"
    text = path.read_text(encoding="utf-8")
    assert "method: auto" in text
    path.write_text(text.replace("method: auto", "method: full_count", 1), encoding="utf-8")


def plant_registrar_errors(data: Path, truth_dir: Path, rng: np.random.Generator) -> dict:
    """Examiners' mistakes on lines the truth says are valid, as review files dated before the
    finding; returns the lines of each kind."""
    truth = pd.read_csv(truth_dir / "line_truth.csv", dtype=str, keep_default_na=False)
    petition = data / "petitions" / PETITION
    roll = _read_csvs(data / "voter_roll")
    withdrawn = set(pd.read_csv(petition / "withdrawals.csv", dtype=str)["voter_id"])
    signers = set(truth["true_voter_id"])
    plain = truth[truth["true_case"] == "plain"].sample(frac=1, random_state=rng)
    kinds = {"not_found": plain[:8], "no_match": plain[8:12], "cancelled": plain[12:16]}
    kinds["elsewhere"] = plain[16:20]
    # Registrations no line is really by, nor withdrawn: the wrong links of the errors.
    free = roll[~roll["voter_id"].isin(signers | withdrawn)]
    cancelled = free[(free["status"] == "CANCELLED") & (free["status_date"] < "2021-01-01")]
    active = free[(free["status"] == "ACTIVE") & (free["registration_date"] < "2021-01-01")]
    # Duplicate signers with two lines: the first mislaid (the second is then counted), or both.
    pairs = truth[truth["true_case"].isin(["duplicate_signer_first_line", "repeat_signature"])]
    two = pairs.groupby("true_voter_id").filter(lambda g: len(g) == 2)
    voters = two["true_voter_id"].drop_duplicates().sample(n=2, random_state=rng).tolist()
    first = two[(two["true_voter_id"] == voters[0]) & (two["true_status"] == "VALID")]
    both = two[two["true_voter_id"] == voters[1]]
    kinds["duplicate_first_mislaid"], kinds["duplicate_both_mislaid"] = first, both
    not_found = pd.concat([kinds["not_found"], first, both])
    decisions = pd.concat(
        [
            not_found[KEY].assign(voter_id=""),
            kinds["cancelled"][KEY].assign(voter_id=cancelled["voter_id"].to_numpy()[:4]),
            kinds["elsewhere"][KEY].assign(voter_id=active["voter_id"].to_numpy()[:4]),
        ],
        ignore_index=True,
    ).assign(examiner_id="EX041", reviewed_at=ERRORS_AT)
    write_csv(decisions, petition / "match_reviews" / "registrar_errors.csv")
    findings = kinds["no_match"][KEY].assign(
        finding="NO_MATCH", examiner_id="EX041", reviewed_at=ERRORS_AT
    )
    write_csv(findings, petition / "reviews" / "registrar_errors.csv")
    return kinds


def _run(data: Path, url: str) -> None:
    run_pipeline(data, url)


def _published(url: str) -> tuple[pd.DataFrame, pd.Series, pd.Series, str]:
    with Warehouse(url, read_only=True) as store:
        where = {"petition_id": PETITION}
        verdicts = store.read_frame("line_verdicts", where=where)
        determination = store.read_frame("sufficiency_determination", where=where).iloc[0]
        status = store.read_frame("examination_status", where=where).iloc[0]
        html = store.read_frame("determination_certificates", where=where)["html"].iloc[0]
    verdicts = verdicts.astype({"section_id": "str", "page": "int64", "line": "int64"})
    return verdicts, determination, status, html


@pytest.fixture(scope="module")
def examined(tmp_path_factory: pytest.TempPathFactory) -> Examined:
    root = tmp_path_factory.mktemp("examination")
    data, truth = root / "data", root / "truth"
    generate_scenario("la-2022", SCALE, SEED, data, truth)
    _count_in_full(data)
    plant_registrar_errors(data, truth, np.random.default_rng(SEED))
    url = f"duckdb:///{root / 'warehouse.duckdb'}"
    _run(data, url)
    finding, finding_determination, finding_status, _ = _published(url)
    args = ["--data-dir", str(data), "--truth-dir", str(truth), "--warehouse", url]
    assert main(["generate-examination", *args, "--seed", "5"]) == 0
    _run(data, url)
    after, determination, status, html = _published(url)
    check_exit = main(["check-examination", "--truth-dir", str(truth), "--warehouse", url])
    return Examined(
        data, truth, url, finding, finding_determination, finding_status, after, determination,
        status, html, check_exit,
    )  # fmt: skip


def _expected(examined: Examined) -> tuple[dict, pd.DataFrame]:
    summaries, lines = ex.read_expected(examined.truth)
    (summary,) = summaries
    return summary, lines


def test_the_generated_challenges_mix_sound_and_unsound_across_reasons(examined) -> None:
    folder = examined.data / "petitions" / PETITION
    challenges = _read_csvs(folder / "challenges")
    rulings = _read_csvs(folder / "rulings")
    assert list(challenges.columns) == ex.CHALLENGE_COLUMNS
    assert list(rulings.columns) == ex.RULING_COLUMNS
    summary, lines = _expected(examined)
    assert len(challenges) == len(lines) == summary["challenges"]["filed"]
    # Every challenge is against a line invalid at the finding, on a ground its reason admits,
    # naming a registration when its ground needs one.
    found = challenges.astype({"page": "int64", "line": "int64"}).merge(
        examined.finding, on=KEY, validate="one_to_one"
    )
    assert (found["status"] == "INVALID").all()
    admits = {(g.reason_code, g.ground) for g in challenge_grounds()}
    assert all(pair in admits for pair in zip(found["reason_code"], found["ground"], strict=True))
    needs = {g.ground for g in challenge_grounds() if g.needs_voter_id}
    assert (found.loc[found["ground"].isin(needs), "claimed_voter_id"] != "").all()
    # Sound challenges (in several reasons) accepted, unsound ones rejected, some left open.
    ruled = lines.merge(rulings, on="challenge_id", how="left", suffixes=("", "_filed"))
    assert (ruled["ruling"] == ruled["ruling_filed"].fillna("")).all()
    sound = ruled["sound"] == "Y"
    assert set(ruled.loc[sound & (ruled["ruling"] != ""), "ruling"]) == {ex.ACCEPTED}
    assert set(ruled.loc[~sound & (ruled["ruling"] != ""), "ruling"]) == {ex.REJECTED}
    assert (ruled["ruling"] == "").sum() > 0
    assert ruled.loc[sound & (ruled["ruling"] == ex.ACCEPTED), "reason_code"].nunique() >= 3
    assert ruled.loc[~sound, "reason_code"].nunique() >= 4
    # A sound claim of a registration names the true signer; an unsound one someone else.
    truth = pd.read_csv(examined.truth / "line_truth.csv", dtype=str, keep_default_na=False)
    named = challenges.merge(truth, on=KEY)
    named = named[named["claimed_voter_id"] != ""].merge(lines[["challenge_id", "sound"]])
    right = named["claimed_voter_id"] == named["true_voter_id"]
    assert (right == (named["sound"] == "Y")).all()
    # Each ruling comes after its challenge, inside the examination's 60 days.
    times = ruled.merge(challenges[["challenge_id", "filed_at"]], on="challenge_id")
    times = times[times["ruling"] != ""]
    filed, at = pd.to_datetime(times["filed_at"]), pd.to_datetime(times["ruled_at"])
    started = pd.Timestamp(summary["examination_started"])
    assert (at > filed).all() and (filed >= started).all()
    assert (at < started + pd.Timedelta(days=ex.EXAMINATION_DAYS)).all()


def test_after_the_rulings_the_count_equals_the_truths_recount(examined) -> None:
    summary, lines = _expected(examined)
    after = summary["after_rulings"]
    assert summary["reinstated"] > 0
    assert examined.determination["method"] == "full_count"
    assert int(examined.determination["valid"]) == after["valid"]
    assert examined.determination["result"] == after["result"]
    assert int(examined.finding_determination["valid"]) == summary["at_finding"]["valid"]
    assert int(examined.determination["valid"]) == (
        int(examined.finding_determination["valid"]) + summary["reinstated"]
    )
    published = examined.after
    invalid = published.loc[published["status"] == "INVALID", "reason_code"].value_counts()
    assert invalid.to_dict() == after["by_reason"]
    # Each challenged line as the recount says, and every other line as found.
    joined = lines.merge(published, on=KEY, suffixes=("", "_published"))
    assert (joined["status_published"] == joined["expected_status"]).all()
    assert (joined["reason_code_published"].fillna("") == joined["expected_reason_code"]).all()
    others = examined.finding.merge(published, on=KEY, suffixes=("", "_after"))
    others = others[~others.set_index(KEY).index.isin(lines.set_index(KEY).index)]
    assert (others["status"] == others["status_after"]).all()
    assert (others["reason_code"].fillna("") == others["reason_code_after"].fillna("")).all()
    assert examined.check_exit == 0


def test_every_changed_verdict_traces_to_its_accepted_ruling_row(examined) -> None:
    before = examined.finding[[*KEY, "status", "reason_code"]]
    joined = before.merge(examined.after, on=KEY, suffixes=("_found", ""))
    changed = joined[
        (joined["status_found"] != joined["status"])
        | (joined["reason_code_found"].fillna("") != joined["reason_code"].fillna(""))
    ]
    assert len(changed) > 0 and (changed["status"] == "VALID").any()
    challenges = _read_csvs(examined.data / "petitions" / PETITION / "challenges")
    by_id = challenges.set_index("challenge_id")
    for line in changed.itertuples():
        assert pd.notna(line.challenge_id), (line.section_id, line.page, line.line)
        assert line.finding_reason_code == line.reason_code_found
        # The ruling's file and physical row (the header is row 1) hold an ACCEPTED ruling on
        # this line's challenge.
        with (examined.data / line.ruling_source_file).open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        row = dict(zip(rows[0], rows[int(line.ruling_source_row) - 1], strict=True))
        assert row["challenge_id"] == line.challenge_id and row["ruling"] == ex.ACCEPTED
        filed = by_id.loc[line.challenge_id]
        assert (filed["section_id"], int(filed["page"]), int(filed["line"])) == (
            line.section_id,
            line.page,
            line.line,
        )


def test_the_status_and_certificate_give_the_count_before_and_after(examined) -> None:
    summary, _ = _expected(examined)
    before, after = summary["at_finding"], summary["after_rulings"]
    found, status = examined.finding_status, examined.status
    # At the finding the standing has no ruling; after them it keeps the count found beside it.
    assert int(found["valid"]) == int(found["valid_at_finding"]) == before["valid"]
    assert int(found["challenged_lines"]) == 0
    assert int(status["valid_at_finding"]) == before["valid"]
    assert int(status["valid"]) == after["valid"]
    assert status["result_at_finding"] == before["result"] and status["result"] == after["result"]
    tally = summary["challenges"]
    assert (int(status["challenged_lines"]), int(status["accepted"])) == (
        tally["filed"],
        tally["accepted"],
    )
    assert (int(status["rejected"]), int(status["open_challenges"])) == (
        tally["rejected"],
        tally["open"],
    )
    assert int(status["lines_to_flip"]) == int(found["lines_to_flip"]) - summary["reinstated"]
    assert f"At the finding: {before['valid']:,} valid" in examined.certificate
    assert f"After the rulings: {after['valid']:,} valid" in examined.certificate


def test_the_check_fails_when_the_count_is_not_the_recount(examined, tmp_path, capsys) -> None:
    wrong = tmp_path / "truth"
    shutil.copytree(examined.truth, wrong)
    recount = json.loads((wrong / ex.RECOUNT_FILE).read_text())
    recount["petitions"][0]["after_rulings"]["valid"] += 1
    (wrong / ex.RECOUNT_FILE).write_text(json.dumps(recount))
    args = ["check-examination", "--warehouse", examined.url]
    assert main([*args, "--truth-dir", str(wrong)]) == 4
    assert "PROBLEM: valid lines after the rulings" in capsys.readouterr().out
    # A line the recount says counts, published otherwise.
    shutil.copy(examined.truth / ex.RECOUNT_FILE, wrong / ex.RECOUNT_FILE)
    lines = pd.read_csv(wrong / ex.CHALLENGES_TRUTH_FILE, dtype=str, keep_default_na=False)
    at = lines.index[lines["expected_status"] == "VALID"][0]
    lines.loc[at, ["expected_status", "expected_reason_code"]] = ["INVALID", "NOT_REGISTERED"]
    lines.to_csv(wrong / ex.CHALLENGES_TRUTH_FILE, index=False)
    assert main([*args, "--truth-dir", str(wrong)]) == 4
    assert "PROBLEM: 1 challenged line(s) not as the recount says" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# The generator's rules on hand-made lines


def _finding(lines: list[tuple], keep: str = "earliest") -> ex.Finding:
    frame = pd.DataFrame(
        lines, columns=["section_id", "page", "line", "status", "reason_code", "voter_id"]
    ).assign(date_signed=lambda f: [f"2022-03-{10 + i:02d}" for i in range(len(f))])
    return ex.Finding(
        petition_id="p",
        lines=frame,
        candidates=pd.DataFrame(columns=[*KEY, "voter_id", "match_probability"]),
        required=10,
        sufficient_when="greater_than",
        method="full_count",
        duplicates_keep=keep,
        filed_date=pd.Timestamp("2022-07-06").date(),
        examination_started=None,
    )


def _planned(finding: ex.Finding, challenged: list[tuple]) -> pd.DataFrame:
    """challenged: (line, true voter, true reason, ruling) for lines of section S1 page 1."""
    rows = pd.DataFrame(challenged, columns=["line", "true_voter_id", "true_reason_code", "ruling"])
    planned = finding.lines.merge(rows.assign(section_id="S1", page=1), on=KEY)
    return planned.assign(
        challenge_id=[f"C{i}" for i in range(len(planned))],
        ground="SIGNER_REGISTERED",
        sound=planned["ruling"] == ex.ACCEPTED,
    )


def test_the_recount_keeps_the_lines_the_finding_counted() -> None:
    finding = _finding(
        [
            ("S1", 1, 1, "VALID", None, "V1"),  # V1 counted at the finding
            ("S1", 1, 2, "INVALID", "NOT_REGISTERED", None),  # V1's too, mislaid
            ("S1", 1, 3, "INVALID", "NOT_REGISTERED", None),  # V2's, signed first
            ("S1", 1, 4, "INVALID", "NOT_REGISTERED", None),  # V2's again
            ("S1", 1, 5, "INVALID", "NOT_REGISTERED", None),  # V3's, who withdrew
            ("S1", 1, 6, "INVALID", "NOT_REGISTERED", None),  # an unsound claim, rejected
            ("S1", 1, 7, "INVALID", "NOT_REGISTERED", None),  # V5's, not ruled yet
            ("S1", 1, 8, "VALID", None, "V6"),
        ]
    )
    planned = _planned(
        finding,
        [
            (2, "V1", "", ex.ACCEPTED),
            (3, "V2", "", ex.ACCEPTED),
            (4, "V2", "DUPLICATE", ex.ACCEPTED),
            (5, "V3", "WITHDRAWN", ex.ACCEPTED),
            (6, "", "NOT_REGISTERED", ex.REJECTED),
            (7, "V5", "", ""),
        ],
    )
    summary, after = ex.expected_recount(finding, planned)
    got = {int(r.line): (r.expected_status, r.expected_reason_code) for r in after.itertuples()}
    assert got == {
        2: ("INVALID", "DUPLICATE"),  # V1 keeps the line counted at the finding
        3: ("VALID", ""),  # V2's earliest accepted line counts
        4: ("INVALID", "DUPLICATE"),
        5: ("INVALID", "WITHDRAWN"),
        6: ("INVALID", "NOT_REGISTERED"),
        7: ("INVALID", "NOT_REGISTERED"),  # open: as found
    }
    assert summary["at_finding"]["valid"] == 2 and summary["after_rulings"]["valid"] == 3
    assert summary["reinstated"] == 1 and summary["changed_lines"] == 4
    assert summary["after_rulings"]["by_reason"] == {
        "DUPLICATE": 2,
        "NOT_REGISTERED": 2,
        "WITHDRAWN": 1,
    }
    # Under `duplicates_keep: latest` V2's later line is the one that counts.
    latest = ex.expected_recount(_finding(finding.lines.values[:, :6].tolist(), "latest"), planned)
    assert latest[1].set_index("line").loc[[3, 4], "expected_status"].tolist() == [
        "INVALID",
        "VALID",
    ]


def test_each_ground_is_sound_only_when_the_truth_bears_out_its_claim() -> None:
    finding = _finding(
        [
            ("S1", 1, 1, "INVALID", "NOT_REGISTERED", None),
            ("S1", 1, 2, "INVALID", "NOT_REGISTERED", None),
            ("S1", 1, 3, "INVALID", "CANCELLED", "W3"),
            ("S1", 1, 4, "INVALID", "ADDRESS_MISMATCH", "V4"),
            ("S1", 1, 5, "INVALID", "ADDRESS_MISMATCH", "V5"),
            ("S1", 1, 6, "INVALID", "ADDRESS_MISMATCH", "V6"),
            ("S1", 1, 7, "INVALID", "SIGNATURE_MISMATCH", "V7"),
            ("S1", 1, 8, "INVALID", "DUPLICATE", "V8"),
            ("S1", 1, 9, "INVALID", "DUPLICATE", "V9"),
            ("S1", 2, 1, "VALID", None, "V8"),  # another's line, linked to V8
            ("S1", 2, 2, "VALID", None, "V9"),  # V9's own
            ("S1", 2, 3, "INVALID", "NOT_REGISTERED", None),
            ("S1", 2, 4, "INVALID", "NOT_REGISTERED", None),
            ("S1", 2, 5, "INVALID", "CANCELLED", "W5"),
        ]
    )
    finding = dataclasses.replace(
        finding,
        candidates=pd.DataFrame(
            [("S1", 1, 2, "N2", 0.4), ("S1", 1, 3, "A3", 0.3), ("S1", 2, 3, "X", 0.2)],
            columns=[*KEY, "voter_id", "match_probability"],
        ),
    )
    truth = pd.DataFrame(
        [
            ("S1", 1, 1, "V1", "VALID", "", "plain"),
            ("S1", 1, 2, "", "INVALID", "NOT_REGISTERED", "new_person"),
            ("S1", 1, 3, "V3", "VALID", "", "plain"),
            ("S1", 1, 4, "V4", "VALID", "", "moved_during_circulation"),
            ("S1", 1, 5, "V5", "VALID", "", "plain"),
            ("S1", 1, 6, "V6", "INVALID", "ADDRESS_MISMATCH", "old_address"),
            ("S1", 1, 7, "V7", "INVALID", "SIGNATURE_MISMATCH", "examiner_no_match"),
            ("S1", 1, 8, "V8", "VALID", "", "duplicate_signer_first_line"),
            ("S1", 1, 9, "V9", "INVALID", "DUPLICATE", "repeat_signature"),
            ("S1", 2, 1, "", "INVALID", "NOT_REGISTERED", "family_member_unregistered"),
            ("S1", 2, 2, "V9", "VALID", "", "duplicate_signer_first_line"),
            # A registered signer whose line is out of the jurisdiction: no ruling revisits it.
            ("S1", 2, 3, "V10", "INVALID", "OUT_OF_JURISDICTION", "registered_signer"),
            # Signers registered at another address than the one they wrote.
            ("S1", 2, 4, "V11", "INVALID", "ADDRESS_MISMATCH", "unique_name_elsewhere"),
            ("S1", 2, 5, "V12", "INVALID", "ADDRESS_MISMATCH", "old_address"),
        ],
        columns=[*KEY, "true_voter_id", "true_status", "true_reason_code", "true_case"],
    )
    found = ex.candidate_challenges(finding, truth)
    got = {
        (r.page, r.line): (r.ground, r.claimed_voter_id, bool(r.sound)) for r in found.itertuples()
    }
    assert got == {
        # The signer wrote the address of their registration: the claim says so too.
        (1, 1): ("REGISTERED_AT_WRITTEN_ADDRESS", "V1", True),
        (1, 2): ("REGISTERED_AT_WRITTEN_ADDRESS", "N2", False),  # the namesake the matcher weighed
        (1, 3): ("REGISTERED_AT_WRITTEN_ADDRESS", "V3", True),
        (1, 4): ("MOVED_DURING_CIRCULATION", "", True),
        (1, 5): ("ADDRESS_ON_FILE_MATCHES", "", True),
        (1, 6): ("MOVED_DURING_CIRCULATION", "", False),  # moved before circulation
        (1, 7): ("SIGNATURE_COMPARES", "", False),
        (1, 8): ("NO_LINE_OF_VOTER_COUNTED", "", True),  # the line counted for V8 is not V8's
        (1, 9): ("NO_LINE_OF_VOTER_COUNTED", "", False),  # V9's own line is counted
        # V10 did sign, but accepting that could not bring the line to its truth (out of the
        # jurisdiction, which the finding missed): only a claim that is wrong anyway is filed.
        (2, 3): ("SIGNER_REGISTERED", "X", False),
        # The signer is registered, but not at the written address: the claim names the voter
        # alone and leaves the address to the rules.
        (2, 4): ("SIGNER_REGISTERED", "V11", True),
        (2, 5): ("ANOTHER_REGISTRATION", "V12", True),
    }


def test_challenge_count_takes_a_count_or_a_share() -> None:
    assert ex.challenge_count("25", 1_000) == 25
    assert ex.challenge_count("0.25", 1_000) == 250
    assert ex.challenge_count(None, 195_783) == 20_587
    for bad in ("-3", "1.5", "a few"):
        with pytest.raises(ValueError):
            ex.challenge_count(bad, 1_000)
    assert main(["generate-examination", "--data-dir", ".", "--truth-dir", ".",
                 "--challenges", "lots"]) == 2  # fmt: skip


def test_the_generator_touches_only_its_own_files(tmp_path) -> None:
    folder = ex.petition_folder(tmp_path, "p")
    (folder / "challenges").mkdir(parents=True)
    (folder / "rulings").mkdir()
    yaml = folder / "petition.yaml"
    yaml.write_text("petition_id: p\nfiled_date: 2022-07-06\n", encoding="utf-8")
    # A folder of hard links to another (as make run EXAMINATION=1 makes) leaves the other as is.
    other = tmp_path / "other.yaml"
    other.hardlink_to(yaml)
    start = pd.Timestamp("2022-09-06").date()
    ex.ensure_examination_start(tmp_path, "p", start)
    ex.ensure_examination_start(tmp_path, "p", start)
    assert yaml.read_text().count("examination:") == 1 and "started: 2022-09-06" in yaml.read_text()
    assert "examination" not in other.read_text()
    (folder / "challenges" / "examination_week_01.csv").write_text("x\n")
    (folder / "rulings" / "examination_week_01.csv").write_text("x\n")
    assert ex.remove_examination(tmp_path, "p") == 2
    # Challenges someone else wrote: the recount would not know them, so nothing is written.
    (folder / "challenges" / "by_hand.csv").write_text("x\n")
    planned = pd.DataFrame(columns=[*KEY, "challenge_id", "ground", "ruling", "filed_at"])
    with pytest.raises(ex.ExaminationInputError, match="by_hand.csv"):
        ex.write_examination(tmp_path, "p", planned, start)
    assert ex.remove_examination(tmp_path, "p") == 0
    assert (folder / "challenges" / "by_hand.csv").exists()
