"""A line filed is a line counted: a petition line quarantined at ingestion stays in the raw
count, PENDING (INPUT_NEEDS_CORRECTION) with its problem, until the scan file is corrected."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from recall_pipeline import settings
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify.corrections import INPUT_NEEDS_CORRECTION, verdicts_needing_correction
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import PETITION_ID, build_data_dir, petition_dir, write_lines


def quarantined(rows: list[tuple[object, int]]) -> pd.DataFrame:
    """quarantined_rows of petition_lines: (raw_record, source_row)."""
    return pd.DataFrame(
        {
            "petition_id": PETITION_ID,
            "source_file": "petitions/p/scans/b1.csv",
            "source_row": [row for _, row in rows],
            "source_sha256": "h",
            "reason": "signature_present: not one of Y/N",
            "raw_record": [text for text, _ in rows],
        }
    )


def cells(section, page, line) -> str:
    return json.dumps({"section_id": section, "page": page, "line": line, "printed_name": "x"})


def test_a_quarantined_line_keeps_its_written_key_when_it_can() -> None:
    taken = pd.DataFrame(
        {"petition_id": [PETITION_ID], "section_id": ["S001"], "page": [1], "line": [1]}
    )
    rows = quarantined(
        [
            (cells("S001", "1", "2"), 3),  # a whole key nobody holds: kept
            (cells("S001", "1", "1"), 4),  # held by an accepted line
            (cells("S001", "one", "3"), 5),  # not a number
            ('S001,1,9,"Bob Smith,1 Main St', 6),  # the parser could not split it
            (cells("S002", "2", "2"), 7),  # two quarantined lines with one key
            (cells("S002", "2", "2"), 8),
        ]
    )
    out = verdicts_needing_correction(rows, taken)
    keys = list(zip(out["section_id"], out["page"], out["line"], strict=True))
    where = "of petitions/p/scans/b1.csv)"
    assert keys == [
        ("S001", 1, 2),
        (f"(line 4 {where}", 0, 4),
        (f"(line 5 {where}", 0, 5),
        (f"(line 6 {where}", 0, 6),
        (f"(line 7 {where}", 0, 7),
        (f"(line 8 {where}", 0, 8),
    ]
    assert set(out["status"]) == {"PENDING"}
    assert set(out["pending_reason"]) == {INPUT_NEEDS_CORRECTION}
    assert out["input_problem"].tolist() == ["signature_present: not one of Y/N"] * 6
    assert out["voter_id"].isna().all() and out["reason_code"].isna().all()


def test_quarantined_lines_stay_in_the_raw_count(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_data_dir(tmp_path / "data")
    scans = petition_dir(root) / "scans" / "batch_0001.csv"
    lines = scans.read_text(encoding="utf-8").splitlines()
    filed = len(lines) - 1
    assert ",Y," in lines[2]
    lines[2] = lines[2].replace(",Y,", ",maybe,")
    lines.append('S001,1,9,"Bob Smith,1 Main St,LA,90012,2022-03-05,Y,')
    write_lines(scans, lines)
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(settings.WAREHOUSE_URL_ENV, warehouse_url)

    outcome = materialize_all()

    assert outcome.success, outcome.errors
    checks = {(c.asset, c.name): c for c in outcome.checks}
    assert checks[("line_verdicts", "one_verdict_per_line")].metadata["quarantined_lines"] == 2
    with Warehouse(warehouse_url) as store:
        batches = store.query("SELECT count(*) AS n FROM petition_lines").iloc[0]["n"]
        report = load_determination(store, PETITION_ID)
        to_correct = store.query(
            "SELECT section_id, page, line, source_row, input_problem FROM line_verdicts"
            " WHERE pending_reason = 'INPUT_NEEDS_CORRECTION' ORDER BY source_row"
        ).to_dict("records")
    assert report["raw_count"] == batches + 2
    assert report["valid"] + report["invalid"] + report["pending"] == report["raw_count"]
    assert report["lines_to_correct"] == 2
    assert [(r["section_id"], r["page"], r["line"], r["source_row"]) for r in to_correct] == [
        ("S001", 1, 2, 3),
        ("(line " f"{filed + 2} of petitions/{PETITION_ID}/scans/batch_0001.csv)", 0, filed + 2,
         filed + 2),
    ]  # fmt: skip
    assert to_correct[0]["input_problem"] == "signature_present: not one of Y/N"
    assert to_correct[1]["input_problem"].startswith("the line opens a quoted value")
