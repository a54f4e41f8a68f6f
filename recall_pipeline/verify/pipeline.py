"""Verification of one petition, step by step, on pandas frames read from the warehouse.

The Dagster assets are thin: they read tables, call these functions and publish the frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recall_pipeline.ingest.petition_config import PetitionConfig, bases_from_json
from recall_pipeline.verify import challenges as ch
from recall_pipeline.verify import compare as c
from recall_pipeline.verify import jurisdiction
from recall_pipeline.verify import match as m
from recall_pipeline.verify.corrections import SetAside
from recall_pipeline.verify.frames import in_step, key_hashes
from recall_pipeline.verify.grounds import ACCEPTS_ADDRESS
from recall_pipeline.verify.match_reviews import ADDRESS_COLUMNS, apply_match_reviews
from recall_pipeline.verify.model import (
    NAME_COMPARISONS,
    OTHER_ORDERS,
    MatchModel,
    RollStatistics,
    default_model,
    roll_statistics,
)
from recall_pipeline.verify.reasons import INVALID, VALID, reason_codes, registrar_categories
from recall_pipeline.verify.schemas import MATCH_CANDIDATES, MATCH_MODELS, VERDICT_MATCH_COLUMNS
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
    values["alternative_bases"] = bases_from_json(values.get("alternative_bases"))
    started = values.get("examination_started")
    values["examination_started"] = (
        None if started is None or pd.isna(started) else pd.Timestamp(started).date()
    )
    return PetitionConfig(**values)


def prepare_rolls(
    roll: pd.DataFrame,
    history: pd.DataFrame,
    jurisdictions: set[str],
    zips: Mapping[str, Collection[str]] | None = None,
    *,
    measure: bool = True,
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, RollStatistics | None]]:
    """Each jurisdiction's prepared roll and address history (see `match.prepare_roll`): the
    voters who belong to it by `verify.jurisdiction` (`zips`: each code's ZIPs); and what the
    model measures on that roll (`model.roll_statistics`; not when `measure` is off: a part of
    the roll measures nothing)."""
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
            stats = pool.submit(roll_statistics, names, default_model()) if measure else None
            prepared[code] = (
                names,
                m.with_names(addresses.result(), names),
                stats.result() if stats else None,
            )
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
    stats: RollStatistics,
    prepared: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    *,
    model: MatchModel | None = None,
    fitted: m.Fitted | None = None,
    total_lines: int | None = None,
    earlier: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`line_matches` rows (normalized forms + evidence), `match_candidates` rows and the
    `match_models` rows of the models the lines were weighed with.

    `prepared` is `prepare_petition_lines(lines)` when it was computed beforehand. The
    settings' `model` (by default the shipped one) is fitted on the petition's lines: these,
    and, when they are some of its `total_lines`, the candidates published for the others
    (`earlier`, `match_candidates` rows); `fitted` gives the models instead."""
    lines, normalized = prepared or prepare_petition_lines(lines)
    model = model or default_model()
    keys = m.line_keys(lines["section_id"], lines["page"], lines["line"])
    sample = m.FitSample(keys, total_lines or len(lines), fit_rows(earlier))
    result, candidates, used = m.match_lines(
        normalized, roll, history, model, stats, fitted=fitted, sample=sample
    )
    out = pd.concat(
        [
            lines[LINE_KEY].reset_index(drop=True),
            normalized.drop(columns=["line_index", "street_key", "dwelling_hash"]).reset_index(
                drop=True
            ),
            result.reset_index(drop=True),
        ],
        axis=1,
    )
    out.insert(0, "petition_id", petition_id)
    out["source_file"] = lines["source_file"].to_numpy()
    for column in ("history_valid_from", "history_valid_to"):
        out[column] = _dates(out[column])
    at = candidates["line_index"].to_numpy()
    published = candidates_table(candidates).assign(
        petition_id=petition_id,
        section_id=lines["section_id"].to_numpy()[at],
        page=lines["page"].to_numpy()[at],
        line=lines["line"].to_numpy()[at],
        source_file=lines["source_file"].to_numpy()[at],
    )[MATCH_CANDIDATES.column_names]
    models = pd.concat(
        [
            model_rows(petition_id, used.cascade, model, stats).assign(stage="cascade"),
            model_rows(petition_id, used.final, model, stats).assign(stage="final"),
        ],
        ignore_index=True,
    )
    return out, published, models


def fit_rows(candidates: pd.DataFrame | None) -> pd.DataFrame | None:
    """Published `match_candidates` rows as the rows a fit reads (`match.FitSample.extra`):
    the levels in every reading, the name shares, the passes as bits, the line's key."""
    if candidates is None or candidates.empty:
        return None
    rows = candidates.drop(columns=["passes"]).rename(columns={"pass_bits": "passes"})
    rows["line_key"] = m.line_keys(rows["section_id"], rows["page"], rows["line"])
    rows["voter_code"] = key_hashes(rows["voter_id"])
    return rows


def stored_models(store, petition_id: str) -> m.Fitted | None:
    """The models a petition's lines were last weighed with (`match_models`), if they were
    fitted from the settings file as it is now."""
    if MATCH_MODELS.name not in store.table_names():
        return None
    rows = store.read_frame(MATCH_MODELS.name, where={"petition_id": petition_id})
    settings = default_model()
    if rows.empty or rows["settings_sha256"].iloc[0] != settings.sha256:
        return None
    return models_from_rows(rows, settings)


def models_from_rows(rows: pd.DataFrame, settings: MatchModel) -> m.Fitted:
    """`match_models` rows of one petition as the models they describe."""
    stages = {stage: model_from_rows(part, settings) for stage, part in rows.groupby("stage")}
    return m.Fitted(cascade=stages["cascade"], final=stages["final"])


def same_models(a: m.Fitted, b: m.Fitted | None) -> bool:
    """Whether two fits weigh every line alike (their parameters, as kept, are equal)."""
    if b is None:
        return False
    for one, other in ((a.cascade, b.cascade), (a.final, b.final)):
        if one.fitted_pairs != other.fitted_pairs:
            return False
        if any(not np.array_equal(one.m[k], other.m[k]) for k in one.m):
            return False
        for name in ("registrant_share", "address_prior", "order_shares"):
            if getattr(one, name) != getattr(other, name):
                return False
    return True


def model_from_rows(rows: pd.DataFrame, settings: MatchModel) -> MatchModel:
    from dataclasses import replace

    m_values = {
        name: rows[rows["comparison"] == name]
        .set_index("level")["m"]
        .reindex(list(levels))
        .to_numpy(dtype=float)
        for name, levels in NAME_COMPARISONS.items()
    }
    prior = rows[rows["comparison"] == "prior"].set_index("level")["m"].astype(float)
    return replace(
        settings,
        m=m_values,
        registrant_share={k: float(prior[f"registrant_share_{k}"]) for k in c.ADDRESS_CLASSES},
        order_shares={k: float(prior[f"order_share_{k}"]) for k in OTHER_ORDERS},
        address_prior={k: float(prior[f"address_{k}"]) for k in c.ADDRESS_CLASSES},
        fitted_pairs=int(rows["fitted_pairs"].iloc[0]),
    )


def candidates_table(candidates: pd.DataFrame) -> pd.DataFrame:
    """Weighed candidates as `match_candidates` columns (levels by name, weights, passes)."""
    names = {
        "address_agreement": ("address_level", c.ADDRESS_LEVELS),
        "first_name_agreement": ("first_level", c.FIRST_LEVELS),
        "last_name_agreement": ("last_level", c.LAST_LEVELS),
        "middle_name_agreement": ("middle_level", c.MIDDLE_LEVELS),
    }
    out = candidates.rename(
        columns={
            "first_weight": "first_name_weight",
            "last_weight": "last_name_weight",
            "middle_weight": "middle_name_weight",
            "order_weight": "name_order_weight",
            "valid_from": "history_valid_from",
            "valid_to": "history_valid_to",
            "passes": "pass_bits",
        }
    )
    for column, (level, labels) in names.items():
        out[column] = np.array(labels, dtype=object)[out[level].to_numpy(dtype=np.int64)]
    out["passes"] = m.pass_names(out["pass_bits"].to_numpy())
    for column in ("history_valid_from", "history_valid_to", *m.HISTORY_EXTRA):
        if column not in out:
            out[column] = None
    for column in ("history_valid_from", "history_valid_to"):
        out[column] = _dates(out[column])
    return out


def _dates(values: pd.Series) -> np.ndarray:
    """Dates as Python dates, None where missing, whatever layout the column came in."""
    found = pd.to_datetime(pd.Series(values), errors="coerce")
    return np.where(found.isna().to_numpy(), None, found.dt.date.to_numpy(dtype=object))


def model_rows(
    petition_id: str, used: MatchModel, settings: MatchModel, stats: RollStatistics
) -> pd.DataFrame:
    """The model's parameters as `match_models` rows."""
    rows = used.frame(stats).assign(settings_m=settings.frame()["m"].to_numpy())
    priors = [
        *[
            (f"registrant_share_{k}", used.registrant_share[k], settings.registrant_share[k])
            for k in c.ADDRESS_CLASSES
        ],
        *[
            (f"order_share_{k}", used.order_shares[k], settings.order_shares[k])
            for k in OTHER_ORDERS
        ],
        *[
            (f"address_{k}", used.address_prior[k], settings.address_prior[k])
            for k in c.ADDRESS_CLASSES
        ],
    ]
    prior = pd.DataFrame(
        [
            {"comparison": "prior", "level": name, "m": value, "settings_m": given}
            for name, value, given in priors
        ]
    )
    out = pd.concat([rows, prior], ignore_index=True)
    out.insert(0, "petition_id", petition_id)
    out["fitted_pairs"] = used.fitted_pairs
    out["settings_sha256"] = settings.sha256
    return out


@dataclass(frozen=True)
class Decided:
    """A petition's verdicts, and the challenge and ruling rows set aside in deciding them."""

    verdicts: pd.DataFrame
    set_aside: pd.DataFrame


def decide_petition(
    config: PetitionConfig,
    lines: pd.DataFrame,
    matches: pd.DataFrame,
    roll: pd.DataFrame,
    sections: pd.DataFrame,
    reviews: pd.DataFrame,
    withdrawals: pd.DataFrame,
    jurisdiction_zips: set[str],
    match_reviews: pd.DataFrame | None = None,
    reviewed_history: pd.DataFrame | None = None,
    doubts: SetAside | None = None,
    challenges: pd.DataFrame | None = None,
    rulings: pd.DataFrame | None = None,
) -> Decided:
    """Every line's verdict. `match_reviews` (the petition's examiner decisions on who signed)
    replace the matcher's links; `roll` then holds the reviewed voters' registrations with
    their addresses, `reviewed_history` their past addresses — the voters that `challenges`
    claim included.

    The lines are decided once without any ruling: the finding, against which `challenges` and
    `rulings` are judged (`verify.challenges.examine`). The lines an accepted ruling concerns are
    then decided again, with the ruling among the inputs the rules read; the others keep their
    verdict at the finding."""
    lines = _in_line_order(lines)
    matches = _in_line_order(matches)
    if not in_step(lines, matches, LINE_KEY):
        raise ValueError(f"{config.petition_id}: line_matches is out of step with petition_lines")
    rules = (roll, sections, reviews, withdrawals, jurisdiction_zips, match_reviews)
    finding = _decided(config, lines, matches, *rules, reviewed_history, doubts)
    finding = finding.assign(
        challenge_id=None, ruling_source_file=None, ruling_source_row=None, finding_reason_code=None
    )
    if challenges is None or challenges.empty:
        return Decided(finding, pd.DataFrame(columns=ch.SET_ASIDE_COLUMNS))
    examined = ch.examine(config.petition_id, finding, challenges, rulings)
    applied = examined.applied
    if applied.empty:
        return Decided(finding, examined.set_aside)
    # Only the lines an accepted ruling touches are decided again: a handful of a petition's.
    at = (
        lines[LINE_KEY]
        .astype(_LINE_KEY_TYPES)
        .reset_index(drop=True)
        .reset_index()
        .merge(applied, on=LINE_KEY)
    )
    rows = at["index"].to_numpy()
    address_accepted = at["decides_again_as"].isin(ACCEPTS_ADDRESS).to_numpy()
    again = _decided(
        config,
        lines.iloc[rows].reset_index(drop=True),
        matches.iloc[rows].reset_index(drop=True),
        roll,
        sections,
        pd.concat([reviews, ch.as_signature_reviews(applied)], ignore_index=True),
        withdrawals,
        jurisdiction_zips,
        pd.concat(
            [frame for frame in (match_reviews, ch.as_match_reviews(applied)) if frame is not None],
            ignore_index=True,
        ),
        reviewed_history,
        doubts,
        address_accepted,
    )
    again = again.assign(
        challenge_id=at["challenge_id"].to_numpy(),
        ruling_source_file=at["ruling_source_file"].to_numpy(),
        ruling_source_row=at["ruling_source_row"].to_numpy(),
        finding_reason_code=finding["reason_code"].to_numpy()[rows],
    )
    # The finding's rows but those decided again, then those, back in line order (a copy of
    # each column, not a cell at a time).
    verdicts = pd.concat([finding.drop(index=rows), again.set_axis(rows)]).sort_index()
    redecided = np.zeros(len(verdicts), dtype=bool)
    redecided[rows] = True
    duplicate = ch.keep_counted_lines(verdicts, redecided)
    verdicts.loc[duplicate, "status"] = INVALID
    verdicts.loc[duplicate, "reason_code"] = "DUPLICATE"
    verdicts.loc[duplicate, "registrar_category"] = _categories()["DUPLICATE"]
    return Decided(verdicts, examined.set_aside)


_LINE_KEY_TYPES = {"section_id": "str", "page": "int64", "line": "int64"}


def _categories() -> dict[str, str]:
    return {c.code: c.registrar_category for c in reason_codes()}


def _decided(
    config: PetitionConfig,
    lines: pd.DataFrame,
    matches: pd.DataFrame,
    roll: pd.DataFrame,
    sections: pd.DataFrame,
    reviews: pd.DataFrame,
    withdrawals: pd.DataFrame,
    jurisdiction_zips: set[str],
    match_reviews: pd.DataFrame | None,
    reviewed_history: pd.DataFrame | None,
    doubts: SetAside | None,
    address_accepted: np.ndarray | None = None,
) -> pd.DataFrame:
    """The verdict rows of `lines` (aligned with `matches`, in line order). `address_accepted`:
    the lines whose written address a ruling accepted as their voter's registered one."""
    if match_reviews is not None and not match_reviews.empty:
        empty = pd.DataFrame(columns=[*ADDRESS_COLUMNS, "valid_from", "valid_to"])
        matches = apply_match_reviews(
            matches,
            match_reviews,
            roll[roll.columns.intersection(ADDRESS_COLUMNS)] if "house_number" in roll else empty,
            reviewed_history if reviewed_history is not None else empty,
        )
    else:
        matches = matches.assign(match_review_source_file=None, match_review_source_row=None)
    if address_accepted is not None and address_accepted.any():
        # As an examiner's decision does when the line names the voter's dwelling: the match
        # is at the registered address, and no past address's dates are weighed.
        matches = matches.copy()
        for column, value in (
            ("match_method", m.METHOD_CURRENT),
            ("history_valid_from", None),
            ("history_valid_to", None),
        ):
            matches[column] = matches[column].astype(object)
            matches.loc[address_accepted, column] = value
    verdicts = decide(
        config, lines, matches, roll, sections, reviews, withdrawals, jurisdiction_zips, doubts
    )
    verdicts["registrar_category"] = verdicts["reason_code"].map(_categories())
    for column in VERDICT_MATCH_COLUMNS:
        verdicts[column] = matches[column].array
    for column in ("source_file", "source_row", "source_sha256"):
        verdicts[column] = lines[column].array
    for column in ("match_review_source_file", "match_review_source_row"):
        verdicts[column] = matches[column].to_numpy()
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
