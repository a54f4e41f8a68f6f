"""A petition's lines keyed under a (non-standard) profile, its scan files, and the habit log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recall_pipeline.scenario import output as o
from recall_pipeline.scenario.keyed_addresses import CityWriter, key_addresses
from recall_pipeline.scenario.keyed_names import Nicknames, key_names
from recall_pipeline.scenario.keying import FileHabits, HabitLog, KeyingProfile, heavy_draw

UTF8_BOM = b"\xef\xbb\xbf"


def key_lines(
    lines: pd.DataFrame,
    roll,
    world,
    profile: KeyingProfile,
    rng: np.random.Generator,
    none_zips: np.ndarray,
) -> tuple[pd.Series, pd.DataFrame, HabitLog]:
    """printed_name; residence_address, city and zip; and which habits each line got."""
    n = len(lines)
    log = HabitLog(n)
    heavy = heavy_draw(rng, profile.names, profile.addresses, n)
    printed = key_names(lines, roll, world, profile.names, heavy, Nicknames(roll.pools), rng, log)
    where = key_addresses(
        lines, roll, profile.addresses, heavy, CityWriter(roll.zips), rng, log, none_zips
    )
    return printed, where, log


def write_scans(
    scans: pd.DataFrame,
    batch_of_line: np.ndarray,
    folder: Path,
    habits: FileHabits,
    rng: np.random.Generator,
) -> list[str]:
    """One file per batch, each with its own column order, some as Parquet or with a BOM."""
    batches = np.unique(batch_of_line)
    parquet = set(
        rng.choice(batches, size=min(habits.parquet_batches, len(batches)), replace=False)
    )
    as_csv = [b for b in batches if b not in parquet]
    bom = set(rng.choice(as_csv, size=min(habits.bom_batches, len(as_csv)), replace=False))
    # A keyer keys a whole section.
    sections = scans["section_id"].unique()
    keyer = pd.Series(
        "K" + pd.Series(rng.integers(1, 30, len(sections))).astype(str).str.zfill(2).to_numpy(),
        index=sections,
    )
    written = []
    for b in batches:
        frame = scans[batch_of_line == b].copy()
        k = len(frame)
        extra = {
            "keyer_id": keyer.loc[frame["section_id"]].to_numpy(),
            "keyed_at": np.datetime_as_string(
                np.datetime64("2022-07-07T08:00:00") + rng.integers(0, 20 * 86400, k), unit="s"
            ),
            "ocr_confidence": np.round(rng.uniform(0.55, 1.0, k), 2).astype(str),
        }
        for name in habits.extra_columns:
            frame[name] = extra[name]
        if habits.shuffle_columns:
            frame = frame[list(rng.permutation(frame.columns))]
        if b in parquet:
            path = folder / f"batch_{b:04d}.parquet"
            o.write_parquet(frame, path)
        else:
            path = folder / f"batch_{b:04d}.csv"
            o.write_csv(frame, path)
            if b in bom:
                path.write_bytes(UTF8_BOM + path.read_bytes())
        written.append(path.name)
    return written


def write_keying_log(
    truth_out: Path, profile: KeyingProfile, entries: list[tuple[pd.DataFrame, HabitLog]], world
) -> None:
    """keying_log.parquet (per line: the habits and forms it got) and keying_summary.json."""
    frames = []
    summary = {
        "profile": profile.name,
        "description": profile.description,
        "renamed_streets": int(world.renamed_streets),
        "compound_surnames": int((world.compound_kind != 0).sum()),
        "petitions": {},
    }
    for keys, log in entries:
        frame = log.frame()
        frame.insert(0, "line", keys["line"].to_numpy())
        frame.insert(0, "page", keys["page"].to_numpy())
        frame.insert(0, "section_id", keys["section_id"].to_numpy())
        frame.insert(0, "petition_id", keys["petition_id"].to_numpy())
        frames.append(frame)
        summary["petitions"][str(keys["petition_id"].iat[0])] = log.summary()
    table = pd.concat(frames, ignore_index=True)
    table.to_parquet(truth_out / "keying_log.parquet", index=False)
    o.write_json(summary, truth_out / "keying_summary.json")
