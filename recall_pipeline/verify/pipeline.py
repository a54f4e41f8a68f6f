"""Verification of one petition, step by step, on pandas frames read from the warehouse.

The Dagster assets are thin: they read tables, call these functions and publish the frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from recall_pipeline.ingest.petition_config import PetitionConfig
from recall_pipeline.verify import jurisdiction
from recall_pipeline.verify import match as m
from recall_pipeline.verify.frames import in_step
from recall_pipeline.verify.reasons import INVALID, VALID, reason_codes, registrar_categories
from recall_pipeline.verify.schemas import VERDICT_MATCH_COLUMNS
from recall_pipeline.verify.verdicts import decide

LINE_KEY = ["section_id", "page", "line"]


def config_from_row(row: dict) -> PetitionConfig:
    fields = {f.name for f in dataclasses.fields(PetitionConfig)}
    values = {k: v for k, v in row.items() if k in fields}
    for name in ("approved_for_circulation", "filed_date", "basis_report_date"):
        value = values[name]
        values[name] = value if isinstance(value, dt.date) else pd.Timestamp(value).date()
    threshold = values.get("threshold_percent")
    values["threshold_percent"] = (
        None if threshold is None or pd.isna(threshold) else float(threshold)
    )
    values["registered_voters_basis"] = int(values["registered_voters_basis"])
    values["sample_seed"] = int(values["sample_seed"])
    return PetitionConfig(**values)


def prepare_rolls(
    roll: pd.DataFrame,
    history: pd.DataFrame,
    jurisdictions: set[str],
    zips: Mapping[str, Collection[str]] | None = None,
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Each jurisdiction's prepared roll and address history (see `match.prepare_roll`): the
    voters who belong to it by `verify.jurisdiction` (`zips`: each code's ZIPs)."""
    codes = sorted(jurisdictions)
    members = jurisdiction.memberships(roll, {code: (zips or {}).get(code, ()) for code in codes})
    prepared = {}
    for code in codes:
        roll_here, history_here = jurisdiction.select(roll, history, members[code])
        # Mostly Arrow kernels, which release the GIL. Matching prepares the roll beside the
        # lines; with the roll in parts and the past addresses as one more task, both cores
        # stay busy through them instead of one waiting for the last long task (joining the
        # names after them runs on one). Each value's preparation does not depend on the other
        # rows, so the parts give what the whole gives.
        with ThreadPoolExecutor(max_workers=2) as pool:
            addresses = pool.submit(m.history_addresses, history_here)
            parts = [pool.submit(m.prepare_roll, part) for part in _parts(roll_here)]
            names = pd.concat([part.result() for part in parts])
            prepared[code] = (names, m.with_names(addresses.result(), names))
    return prepared


# Below this many rows a roll is prepared whole: more tasks would cost more than they save.
_PARTS_FROM = 200_000
_PARTS = 4


def _parts(frame: pd.DataFrame) -> list[pd.DataFrame]:
    if len(frame) < _PARTS_FROM:
        return [frame]
    bounds = np.linspace(0, len(frame), _PARTS + 1).astype(int)
    return [frame[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def prepare_petition_lines(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One petition's lines in line-key order, and their normalized forms (`prepare_lines`)."""
    lines = _in_line_order(lines)
    return lines, m.prepare_lines(lines)


def _in_line_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(LINE_KEY, kind="stable").reset_index(drop=True)


def match_petition(
    petition_id: str,
    lines: pd.DataFrame,
    roll: pd.DataFrame,
    history: pd.DataFrame,
    prepared: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`line_matches` rows (normalized forms + evidence) and `ambiguous_matches` rows.

    `prepared` is `prepare_petition_lines(lines)` when it was computed beforehand."""
    lines, normalized = prepared or prepare_petition_lines(lines)
    result, ambiguous = m.match_lines(normalized, roll, history)
    out = pd.concat(
        [
            lines[LINE_KEY].reset_index(drop=True),
            normalized.drop(columns=["line_index", *m.DWELLING_COLUMNS]).reset_index(drop=True),
            result.reset_index(drop=True),
        ],
        axis=1,
    )
    out.insert(0, "petition_id", petition_id)
    out["source_file"] = lines["source_file"].to_numpy()
    chosen = result["voter_id"]
    amb = pd.DataFrame(
        {
            "petition_id": petition_id,
            "section_id": lines["section_id"].to_numpy()[ambiguous["line_index"].to_numpy()],
            "page": lines["page"].to_numpy()[ambiguous["line_index"].to_numpy()],
            "line": lines["line"].to_numpy()[ambiguous["line_index"].to_numpy()],
            "candidate_voter_id": ambiguous["voter_id"].to_numpy(),
            "source": ambiguous["source"].to_numpy(),
            "score": ambiguous["score"].to_numpy(),
            "chosen": (
                chosen.reindex(ambiguous["line_index"].to_numpy()).to_numpy()
                == ambiguous["voter_id"].to_numpy()
            ),
            "rule": "highest score, then current over past address, then lowest voter_id",
            "source_file": lines["source_file"].to_numpy()[ambiguous["line_index"].to_numpy()],
        }
    )
    return out, amb


def verdicts_for_petition(
    config: PetitionConfig,
    lines: pd.DataFrame,
    matches: pd.DataFrame,
    roll: pd.DataFrame,
    sections: pd.DataFrame,
    reviews: pd.DataFrame,
    withdrawals: pd.DataFrame,
    jurisdiction_zips: set[str],
) -> pd.DataFrame:
    lines = _in_line_order(lines)
    matches = _in_line_order(matches)
    if not in_step(lines, matches, LINE_KEY):
        raise ValueError(f"{config.petition_id}: line_matches is out of step with petition_lines")
    verdicts = decide(
        config, lines, matches, roll, sections, reviews, withdrawals, jurisdiction_zips
    )
    category = {c.code: c.registrar_category for c in reason_codes()}
    verdicts["registrar_category"] = verdicts["reason_code"].map(category)
    for column in VERDICT_MATCH_COLUMNS:
        verdicts[column] = matches[column].array
    for column in ("source_file", "source_row", "source_sha256"):
        verdicts[column] = lines[column].array
    return verdicts


def reason_summary(petition_id: str, verdicts: pd.DataFrame) -> pd.DataFrame:
    counts = verdicts.loc[verdicts["status"] == INVALID, "reason_code"].value_counts()
    return pd.DataFrame(
        [
            {
                "petition_id": petition_id,
                "precedence": c.precedence,
                "reason_code": c.code,
                "registrar_category": c.registrar_category,
                "lines": int(counts.get(c.code, 0)),
            }
            for c in reason_codes()
        ]
    )


def registrar_summary(petition_id: str, verdicts: pd.DataFrame) -> pd.DataFrame:
    invalid = verdicts[verdicts["status"] == INVALID]
    counts = invalid["registrar_category"].value_counts()
    rows = [
        {"petition_id": petition_id, "category": category, "lines": int(counts.get(category, 0))}
        for category in registrar_categories()
    ]
    rows += [
        {"petition_id": petition_id, "category": "Invalid total", "lines": len(invalid)},
        {
            "petition_id": petition_id,
            "category": "Valid",
            "lines": int((verdicts["status"] == VALID).sum()),
        },
        {"petition_id": petition_id, "category": "Raw count", "lines": len(verdicts)},
    ]
    return pd.DataFrame(rows)
