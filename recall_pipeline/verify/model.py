"""The Fellegi–Sunter model that weighs a line's candidates, and the decision it supports.

Every candidate pair (a line and a registration found by a blocking pass) gets an agreement
level per comparison (`verify/compare.py`). A level's weight is log2(m / u): m is the chance of
that level when the line is the registration's voter, u when it is someone else. The m values
are settings (`reference/match_model.yaml`, hashed into the code version and the manifest);
the u values are measured on the roll at every run, so they fit the county:

- names are weighed among the people a line could otherwise be: those registered at the same
  dwelling. u for each name level is its share among pairs of different people registered at
  one dwelling — where surnames are shared far more often than between strangers;
- an exact first name is weighed by its share of the roll (term frequency): MARIA says less
  than ZENOBIA.

The decision follows the law's presumption of validity. A line written with a registered
dwelling's address was signed by one of the people registered there, or by somebody else (a
relative or neighbour who is not registered): `registrant_share` of such lines are the former.
Bayes' rule over those hypotheses gives each candidate's probability; their sum is the chance
that a registrant signed. At or above `accept` the best candidate is the match; from `review` to
`accept` the line goes to an examiner (PENDING), never to rejection; below `review` nobody
registered there signed it, and the line is attributed elsewhere only by an exact full name
that one registration alone in the jurisdiction holds (the voter registered at another address).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, StrictInt

from recall_pipeline.reference import reference_path
from recall_pipeline.verify import compare as c
from recall_pipeline.verify.frames import strings
from recall_pipeline.yaml_settings import SettingsFileError, StrictSettings, read_yaml, validate

NAME_COMPARISONS = {
    "first_name": c.FIRST_LEVELS,
    "last_name": c.LAST_LEVELS,
    "middle_name": c.MIDDLE_LEVELS,
}
MODEL_FILE = "match_model.yaml"
# The readings of a line's names other than as written (`match.name_readings`), each with its
# own share of registrants' lines.
OTHER_ORDERS = ("reversed", "surname_first", "compound_first")
# Co-resident pairs measured for u: enough for shares of a tenth of a percent.
U_SAMPLE_PAIRS = 400_000
# Pairs within a dwelling are taken up to this many registrations apart in dwelling order.
_MAX_GAP = 8


class ModelError(ValueError):
    """A matching model file that cannot be used, with what is wrong in it."""


class _ModelFileError(SettingsFileError):
    def __init__(self, file: str, problems: list[str]):
        super().__init__(file, problems, "matching model")


class _Comparison(StrictSettings):
    levels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]


class _Comparisons(StrictSettings):
    first_name: _Comparison
    last_name: _Comparison
    middle_name: _Comparison


class _Thresholds(StrictSettings):
    accept: float
    review: float


class ModelSettings(StrictSettings):
    """The schema of match_model.yaml (its values are checked against each other by
    `MatchModel.load`)."""

    version: StrictInt
    comparisons: _Comparisons
    u_prior_pairs: StrictInt = Field(ge=0)
    registrant_share: dict[str, float]
    address_prior: dict[str, float]
    order_shares: dict[str, float]
    thresholds: _Thresholds
    u_floor: float = Field(gt=0)


@dataclass(frozen=True)
class MatchModel:
    m: dict[str, np.ndarray]
    u_prior: dict[str, np.ndarray]
    u_prior_pairs: int
    registrant_share: dict[str, float]
    address_prior: dict[str, float]
    order_shares: dict[str, float]
    accept: float
    review: float
    u_floor: float
    sha256: str
    source: str
    # How many candidate pairs the m values were fitted on (0: the settings' own).
    fitted_pairs: int = 0

    def frame(self, stats: RollStatistics | None = None) -> pd.DataFrame:
        """Every comparison level's m (and u and weight, given the roll's statistics)."""
        rows = []
        for name, levels in NAME_COMPARISONS.items():
            for i, level in enumerate(levels):
                row = {"comparison": name, "level": level, "m": float(self.m[name][i])}
                if stats is not None:
                    row["u"] = float(stats.u[name][i])
                    row["weight"] = float(np.log2(self.m[name][i] / stats.u[name][i]))
                rows.append(row)
        return pd.DataFrame(rows)

    @classmethod
    def load(cls, path: Path | None = None) -> MatchModel:
        path = Path(path) if path else reference_path(MODEL_FILE)
        raw = path.read_bytes()
        try:
            values, lines = read_yaml(raw.decode("utf-8"), str(path), _ModelFileError)
        except (SettingsFileError, UnicodeDecodeError) as error:
            raise ModelError(str(error)) from error
        spec, problems = validate(ModelSettings, values, lines)
        if problems or not isinstance(spec, ModelSettings):
            raise ModelError(str(_ModelFileError(str(path), problems)))
        m, u = {}, {}
        for name, levels in NAME_COMPARISONS.items():
            given = getattr(spec.comparisons, name)
            if given.levels != levels:
                raise ModelError(f"{path}: {name} levels must be {list(levels)}")
            for kind, out in (("m", m), ("u", u)):
                probabilities = np.asarray(getattr(given, kind), dtype=float)
                if len(probabilities) != len(levels) or (probabilities <= 0).any():
                    raise ModelError(f"{path}: {name} needs one positive {kind} per level")
                out[name] = probabilities / probabilities.sum()
        model = cls(
            m=m,
            u_prior=u,
            u_prior_pairs=spec.u_prior_pairs,
            registrant_share=dict(spec.registrant_share),
            address_prior=dict(spec.address_prior),
            order_shares=dict(spec.order_shares),
            accept=spec.thresholds.accept,
            review=spec.thresholds.review,
            u_floor=spec.u_floor,
            sha256=hashlib.sha256(raw).hexdigest(),
            source=str(path),
        )
        shares = list(model.registrant_share.values())
        if not 0 < model.review < model.accept < 1 or not all(0 < v < 1 for v in shares):
            raise ModelError(
                f"{path}: need 0 < review < accept < 1 and registrant shares in (0, 1)"
            )
        if set(model.registrant_share) != set(c.ADDRESS_CLASSES):
            raise ModelError(f"{path}: registrant_share must give {list(c.ADDRESS_CLASSES)}")
        if set(model.address_prior) != set(c.ADDRESS_CLASSES):
            raise ModelError(f"{path}: address_prior must give {list(c.ADDRESS_CLASSES)}")
        orders = model.order_shares
        if set(orders) != set(OTHER_ORDERS) or not (
            all(v > 0 for v in orders.values()) and sum(orders.values()) < 1
        ):
            raise ModelError(
                f"{path}: order_shares must give {list(OTHER_ORDERS)}, positive, summing below 1"
            )
        return model


@lru_cache(maxsize=1)
def default_model() -> MatchModel:
    return MatchModel.load()


@dataclass(frozen=True)
class RollStatistics:
    """What the model measures on a jurisdiction's roll: u per name level among co-residents,
    and each first name's share of the registrations."""

    u: dict[str, np.ndarray]
    first_name_share: pd.Series
    last_name_share: pd.Series
    registrations: int
    coresident_pairs: int

    def share_of(self, first_names: pd.Series) -> np.ndarray:
        """Each first name's (first word's) share of the registrations; NaN if none."""
        token = first_names.fillna("").str.split(" ", n=1).str[0]
        return self.first_name_share.reindex(pd.Index(token)).to_numpy(dtype=float)

    def last_share_of(self, last_names: pd.Series) -> np.ndarray:
        """Each surname's share of the registrations; NaN if none."""
        return self.last_name_share.reindex(pd.Index(last_names.fillna(""))).to_numpy(dtype=float)

    @classmethod
    def from_frames(cls, rows: pd.DataFrame, shares: pd.DataFrame) -> RollStatistics:
        """The statistics kept as `frame` rows and name shares (`roll_cache`)."""
        u = {}
        for name, levels in NAME_COMPARISONS.items():
            these = rows[rows["comparison"] == name].set_index("level")["u"]
            u[name] = these.reindex(list(levels)).to_numpy(dtype=float)
        by_part = {
            part: shares[shares["part"] == part].set_index("name")["share"].astype(float)
            for part in ("first", "last")
        }
        return cls(
            u=u,
            first_name_share=by_part["first"],
            last_name_share=by_part["last"],
            registrations=int(rows["registrations"].iloc[0]) if len(rows) else 0,
            coresident_pairs=int(rows["pairs_measured"].iloc[0]) if len(rows) else 0,
        )

    def frame(self, code: str) -> pd.DataFrame:
        """The u values as rows (jurisdiction, comparison, level, u, pairs measured)."""
        rows = [
            {
                "jurisdiction_code": code,
                "comparison": name,
                "level": level,
                "u": float(self.u[name][i]),
                "pairs_measured": self.coresident_pairs,
                "registrations": self.registrations,
            }
            for name, levels in NAME_COMPARISONS.items()
            for i, level in enumerate(levels)
        ]
        return pd.DataFrame(rows)


def roll_statistics(roll: pd.DataFrame, model: MatchModel) -> RollStatistics:
    """u values and first-name shares of a prepared roll (`match.prepare_roll`)."""
    first_names = pc.fill_null(_combined(strings(roll["first"])), "")
    first = pc.list_element(pc.split_pattern(first_names, " ", max_splits=1), 0)
    share = _shares(first, len(roll))
    last_share = _shares(pc.fill_null(_combined(strings(roll["last"])), ""), len(roll))
    a, b = _coresident_pairs(roll)
    levels = {
        "first_name": c.first_name_levels(
            roll["first"].to_numpy()[a], roll["first"].to_numpy()[b], roll["middle"].to_numpy()[b]
        ),
        # A registration's surname is its own field: nothing of its middle name joins it.
        "last_name": c.last_name_levels(
            roll["last"].to_numpy()[a], np.full(len(a), ""), roll["last"].to_numpy()[b]
        )[0],
        "middle_name": c.middle_name_levels(
            roll["middle"].to_numpy()[a], roll["middle"].to_numpy()[b]
        ),
    }
    u = {}
    for name, found in levels.items():
        counts_by_level = np.bincount(found, minlength=len(NAME_COMPARISONS[name]))
        smoothed = (counts_by_level + model.u_prior_pairs * model.u_prior[name]) / (
            len(a) + model.u_prior_pairs
        )
        u[name] = np.maximum(smoothed, model.u_floor)
    return RollStatistics(
        u=u,
        first_name_share=share,
        last_name_share=last_share,
        registrations=len(roll),
        coresident_pairs=len(a),
    )


def _coresident_pairs(roll: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of pairs of different registrations at one dwelling, an evenly spread
    sample of at most U_SAMPLE_PAIRS (the same for the same roll). Sorting and comparing run
    in Arrow kernels: the roll's millions of texts never become Python objects."""
    dwelling = roll["dwelling_hash"].to_numpy()
    keys = pa.table({"dwelling": dwelling, "voter": strings(roll["voter_id"])})
    order = np.array(
        pc.sort_indices(keys, sort_keys=[("dwelling", "ascending"), ("voter", "ascending")])
    )
    parts = [_combined(strings(roll[part])) for part in ("zip5", "house", "street_key")]
    # Dwellings whose hashes are equal are put in order of their text, so that co-residents
    # sit side by side whatever the hash (none share one in practice; a test makes them).
    hashed = dwelling[order]
    same_hash = hashed[1:] == hashed[:-1]
    other_text = np.zeros(len(same_hash), dtype=bool)
    taken = pa.array(order)
    for values in parts:
        sorted_values = values.take(taken)
        other_text |= _differ(sorted_values.slice(1), sorted_values.slice(0, len(order) - 1))
    crowded = np.unique(hashed[1:][same_hash & other_text])
    if len(crowded):
        mixed = np.flatnonzero(np.isin(hashed, crowded))
        rows = order[mixed]
        by_text = pd.DataFrame(
            {
                "h": hashed[mixed],
                **{str(i): p.take(pa.array(rows)).to_pandas() for i, p in enumerate(parts)},
            }
        )
        order[mixed] = rows[by_text.sort_values(["h", "0", "1", "2"], kind="stable").index]
    ordered = dwelling[order]
    firsts, seconds = [], []
    for gap in range(1, _MAX_GAP + 1):
        same = np.flatnonzero(ordered[gap:] == ordered[:-gap])
        firsts.append(order[same])
        seconds.append(order[same + gap])
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    # Equal hashes of unequal dwellings are no co-residents.
    same = np.ones(len(a), dtype=bool)
    for values in parts:
        same &= ~_differ(values.take(pa.array(a)), values.take(pa.array(b)))
    a, b = a[same], b[same]
    if len(a) > U_SAMPLE_PAIRS:
        keep = np.linspace(0, len(a) - 1, U_SAMPLE_PAIRS).astype(np.int64)
        a, b = a[keep], b[keep]
    return a, b


def _shares(names: pa.Array, registrations: int) -> pd.Series:
    """Each name's share of the registrations, indexed by the name."""
    counted = pc.value_counts(names)
    counts = counted.field("counts").to_numpy().astype(np.float64)
    # Most frequent first, ties in the order of first appearance (as pandas counts).
    order = np.argsort(-counts, kind="stable")
    values = np.asarray(counted.field("values").to_pylist(), dtype=object)
    return pd.Series(
        counts[order] / max(registrations, 1), index=pd.Index(values[order]), name="share"
    )


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _differ(left: pa.Array, right: pa.Array) -> np.ndarray:
    """Whether each pair of texts differs, a missing value equal only to a missing one."""
    unequal = pc.fill_null(pc.not_equal(left, right), False)
    one_missing = pc.xor(pc.is_null(left), pc.is_null(right))
    return pc.or_(unequal, one_missing).to_numpy(zero_copy_only=False)


def name_weights(
    model: MatchModel,
    stats: RollStatistics,
    first_level: np.ndarray,
    last_level: np.ndarray,
    middle_level: np.ndarray,
    first_share: np.ndarray,
    last_share: np.ndarray,
    strangers: np.ndarray,
) -> dict[str, np.ndarray]:
    """log2(m/u) of each comparison's level.

    u is what the roll's co-residents show: at the dwelling a line names, exactly or but for a
    slip, the person it might otherwise be lives there (a relative shares the surname). Where
    the candidate lives farther off (`strangers`: another house on the street, another street
    at the number), an exact first or last name is weighed by its share of the roll instead
    (term frequency): MARIA GARCIA says less there than ZENOBIA KWIATKOWSKI."""
    weights = {
        name: np.log2(model.m[name][levels] / stats.u[name][levels])
        for name, levels in (
            ("first_name", first_level),
            ("last_name", last_level),
            ("middle_name", middle_level),
        )
    }
    for name, levels, share in (
        ("first_name", first_level, first_share),
        ("last_name", last_level, last_share),
    ):
        by_share = np.clip(np.nan_to_num(share, nan=model.u_floor), model.u_floor, 1.0)
        weights[name] = np.where(
            strangers & (levels == 0), np.log2(model.m[name][0] / by_share), weights[name]
        )
    return weights


# Pseudo-pairs of the model file's m that every fit starts from: on a small petition the
# settings speak, on a county's the petition's own lines do.
PRIOR_PAIRS = 20
# Fitted values are kept to this many significant digits, so that a fit on the same lines
# always gives the same model and a batch more of them seldom moves it.
DIGITS = 2


def rounded(model: MatchModel, pairs: int) -> MatchModel:
    def keep(value: float) -> float:
        return float(f"{value:.{DIGITS}g}")

    return replace(
        model,
        m={n: np.array([keep(v) for v in values]) for n, values in model.m.items()},
        registrant_share={k: keep(v) for k, v in model.registrant_share.items()},
        order_shares={k: keep(v) for k, v in model.order_shares.items()},
        address_prior={k: keep(v) for k, v in model.address_prior.items()},
        fitted_pairs=pairs,
    )
