"""Every count traces back to its lines, every line to its raw row, and a line explains itself."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from recall_pipeline import settings
from recall_pipeline.audit.trace import TraceError, explain, trace
from recall_pipeline.cli import main
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify.reasons import reason_codes, registrar_categories
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.datadir import SAMPLE

PROJECT = Path(__file__).resolve().parents[1]
PETITION = "la-2022-da-recall"


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def published(request, tmp_path_factory: pytest.TempPathFactory):
    with (
        pytest.MonkeyPatch.context() as patch,
        fresh_warehouse_url(request.param, tmp_path_factory.mktemp("trace")) as url,
    ):
        patch.setenv(settings.DATA_DIR_ENV, str(SAMPLE))
        patch.setenv(settings.WAREHOUSE_URL_ENV, url)
        assert materialize_all().success
        with Warehouse(url) as store:
            yield store, url


def raw_rows(relative: str) -> dict[int, dict]:
    """A raw file's records by physical line number (the header is line 1), read by hand."""
    lines = (SAMPLE / relative).read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    return {
        n: dict(zip(header, next(csv.reader([text])), strict=True))
        for n, text in enumerate(lines[1:], start=2)
        if text.strip()
    }


def test_every_count_traces_to_exactly_its_lines(published) -> None:
    store, _ = published
    report = load_determination(store, PETITION)
    assert trace(store, PETITION, "VALID")[0] == report["valid"]
    for code in reason_codes():
        count, lines = trace(store, PETITION, code.code)
        assert count == report["by_reason"][code.code] == len(lines)
        assert set(lines["reason_code"]) <= {code.code}
    for category in registrar_categories():
        assert (
            trace(store, PETITION, category.lower())[0] == report["by_registrar_category"][category]
        )


def test_traced_lines_point_to_real_rows_of_the_raw_files(published) -> None:
    store, _ = published
    _, lines = trace(store, PETITION, "INVALID")
    files: dict[str, dict[int, dict]] = {}
    digests: dict[str, str] = {}
    for row in lines.itertuples(index=False):
        if row.source_file not in files:
            files[row.source_file] = raw_rows(row.source_file)
            digests[row.source_file] = hashlib.sha256(
                (SAMPLE / row.source_file).read_bytes()
            ).hexdigest()
        raw = files[row.source_file][row.source_row]
        assert (raw["section_id"], int(raw["page"]), int(raw["line"])) == (
            row.section_id,
            row.page,
            row.line,
        )
        assert row.source_sha256 == digests[row.source_file]


def test_explain_tells_the_story_of_a_line_of_each_reason(published) -> None:
    store, _ = published
    for code in reason_codes():
        _, lines = trace(store, PETITION, code.code, limit=1)
        first = lines.iloc[0]
        story = explain(
            store, PETITION, first["section_id"], int(first["page"]), int(first["line"])
        )
        assert story["verdict"]["status"] == "INVALID"
        assert story["verdict"]["reason_code"] == code.code
        primary = [r["code"] for r in story["rules"] if r["primary"]]
        assert primary == [code.code]
        earlier = [r for r in story["rules"] if r["precedence"] < code.precedence]
        assert not any(r["applies"] for r in earlier), code.code
        assert story["raw_record"]["section_id"] == first["section_id"]
        if code.code in ("DUPLICATE", "SIGNATURE_MISMATCH", "CANCELLED", "REGISTERED_LATE"):
            assert story["match"]["voter_id"] == first["voter_id"]
            chosen = [c for c in story["candidates"] if c["chosen"]]
            assert [c["voter_id"] for c in chosen] == [first["voter_id"]]
            # The chosen candidate carries its evidence: levels, weights, probability.
            assert chosen[0]["probability"] >= 0.9 and chosen[0]["address_agreement"]
            assert set(chosen[0]["weights"]) == {
                "first_name",
                "last_name",
                "middle_name",
                "name_order",
            }
        if code.code == "SIGNATURE_MISMATCH":
            verdict = story["verdict"]
            review = raw_rows(verdict["review_source_file"])[verdict["review_source_row"]]
            assert review["finding"] == "NO_MATCH"
            assert (review["section_id"], int(review["page"]), int(review["line"])) == (
                first["section_id"],
                int(first["page"]),
                int(first["line"]),
            )
    history = store.query(
        "SELECT * FROM line_verdicts WHERE history_source_file IS NOT NULL"
        " AND reason_code = 'ADDRESS_MISMATCH'"
    )
    assert len(history)
    for row in history.itertuples(index=False):
        earlier = raw_rows(row.history_source_file)[row.history_source_row]
        assert earlier["voter_id"] == row.voter_id
    with pytest.raises(TraceError, match="no line"):
        explain(store, PETITION, "NOPE", 1, 1)


def test_trace_and_explain_commands(published, tmp_path: Path, capsys) -> None:
    store, url = published
    out_csv = tmp_path / "not_registered.csv"
    assert main(["trace", PETITION, "--reason", "Not Registered", "--limit", "3",
                 "--csv", str(out_csv), "--warehouse", url]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    count = load_determination(store, PETITION)["by_reason"]["NOT_REGISTERED"]
    assert printed.startswith(f"Not Registered: {count:,} line(s)")
    with out_csv.open() as handle:
        assert len(list(csv.DictReader(handle))) == count
    assert main(["trace", PETITION, "--reason", "bogus", "--warehouse", url]) == 2
    assert "unknown reason 'bogus'" in capsys.readouterr().err
    _, lines = trace(store, PETITION, "DUPLICATE", limit=1)
    line = lines.iloc[0]
    args = ["explain", PETITION, line["section_id"], str(line["page"]), str(line["line"])]
    assert main([*args, "--warehouse", url]) == 0
    assert "verdict: INVALID — DUPLICATE" in capsys.readouterr().out
    assert main([*args, "--json", "--warehouse", url]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"]["reason_code"] == "DUPLICATE"
