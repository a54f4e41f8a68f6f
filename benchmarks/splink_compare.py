"""An independent baseline: Splink (DuckDB backend) links the petition lines to the roll.

    python benchmarks/splink_compare.py --data DATA_DIR [--truth TRUTH_DIR] [--json OUT]
        [--profile tuned|plain] [--memory-limit 4GB] [--u-max-pairs 1e7]
        [--warehouse URL]   # also score our pipeline's links from that warehouse

Prints (and writes) JSON: Splink's seconds per phase (preparation, training, prediction, choosing
each line's link; `total` is the figure compared), its peak RSS, the trained match weight of each
comparison level, and the link accuracy at its best threshold. `bench.py` and `accuracy.py` run it
in its own process after our pipeline (`compare_in_subprocess`), so the peak memory is Splink's
alone.

Any data directory laid out by the data contract will do (`../shared/data-contract.md`): every
petition under `petitions/`, CSV or Parquet, the optional columns there or not. The truth folder
needs only `line_truth.csv` with the line key and `true_voter_id` (`true_case`, when present,
splits the wrong links by cause).

What Splink is given
--------------------
The lines as keyed (`printed_name`, `residence_address`, `city`, `zip`) and the roll, prepared
the way a data team would with a few lines of SQL before reaching for Splink, and nothing of the
project's own normalizer (`recall_pipeline.verify.normalize` is deliberately not imported):

- names upper-cased, punctuation dropped; "LAST, FIRST M" split at the comma, otherwise the first
  word is the first name and the last word (after a JR/SR/II/III/IV) the last name;
- addresses upper-cased, punctuation dropped; the leading number is the house number (a "1/2"
  after it dropped), everything from a unit word (APT, UNIT, #, ...) on is cut, one leading
  direction word and one trailing common street-type word (ST/STREET, AVE/AVENUE, ...) are cut,
  and what is left is the street name; ZIP to its first five digits; city upper-cased.

The roll side is one row per address a voter is known at: the current registration plus every
row of `voter_roll/address_history/` (Splink has no notion of "one of several addresses", so the
usual way is to give it each address as its own record and keep the voter's best-scoring one).
That lets Splink place a signer who wrote an address they have since left, as our matcher does.

A column that is empty on either side (lines keyed without a city or a ZIP, say) is left out of
the model: its comparison, the prediction rules that block on it, and its place in the training
rules (a training rule keeps its other columns). Splink cannot learn anything from a column that
never holds a value, and an untrained comparison would only add its prior to every pair.

The model (Splink 5 `link_only`)
--------------------------------
Comparisons: `NameComparison` on first and last name (exact with term-frequency adjustment,
Jaro-Winkler 0.92 / 0.88 / 0.70); house number exact or one edit; street name Jaro-Winkler
0.95 / 0.85; ZIP exact or one edit; city exact. Training as the Splink tutorial does it:
`probability_two_random_records_match` from a deterministic rule (first + last name + house
number + ZIP) with an assumed recall of 0.8, u by random sampling (at most 1e7 pairs, seeded; Splink
5 samples in chunks and stops once every level has been seen 100 times, its default), m by
expectation maximisation on two blocking rules (one on the address, which trains the name
comparisons; one on the name, which trains the address comparisons). Then `predict()` (pairs
under 1 % match probability are not kept), and for each line its single best-scoring voter,
taken in SQL: Splink's clusterers group records into entities, whereas what is wanted is each
line's one voter, and a voter may sign several lines.

Blocking and training rules come in two profiles (`PROFILES`): `plain`, the first model one
writes (prediction on ZIP + house number, house number + street, first + last name, last name
+ ZIP; EM on ZIP + house number and on first + last name), and `tuned`, the default, where the
two name-wide rules, ~90 % of the pairs at scale 1, are narrowed by a third column and EM skips
term frequencies (Splink's own speed option). Both reach the same accuracy within 0.01 point on
the LA scenario. The DuckDB connection keeps DuckDB's defaults (all cores; memory limit 80 % of
RAM, which DuckDB fills as a cache) unless `--memory-limit` says otherwise.

How a link is scored
--------------------
In the scenario's truth, `true_voter_id` is the registered voter who actually signed the line,
whatever they wrote: it is set for lines at an old address, at someone else's address, outside
the county, with no address or no signature, and for every invalid-for-other-reasons signer on
the roll; it is empty only for signers who are not on the roll (new people, family members,
people sharing a registered voter's name, and the unregistered part of the other causes). The
public data sets converted by `public_data.py` follow the same rule.

So the truth link of a line is `true_voter_id` or none, and a system's link is right when it is
the same voter, or when both are none. Accuracy = right links / all lines. At a threshold:
precision = right links / lines linked, recall = right links / lines whose truth link is a voter.
Splink's link at threshold t is the line's best voter if its match weight is >= t, else none;
t is swept over every distinct best weight and the most accurate one reported. Our pipeline's
link is `line_matches.voter_id` (it has no threshold to sweep). Both are scored on the same
lines against the same truth; the figures count identity only, never the verdict.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

KEY = ["petition_id", "section_id", "page", "line"]
SCRIPT = Path(__file__).resolve()

# Hand-written, as a team would: the common USPS forms, not the project's reference tables.
_STREET_TYPES = [
    "ST", "STREET", "STR", "AVE", "AVENUE", "AV", "BLVD", "BOULEVARD", "DR", "DRIVE", "RD",
    "ROAD", "PL", "PLACE", "CT", "COURT", "LN", "LANE", "WAY", "TER", "TERRACE", "CIR", "CIRCLE",
    "PKWY", "PARKWAY", "HWY", "HIGHWAY",
]  # fmt: skip
_DIRECTIONS = ["N", "S", "E", "W", "NORTH", "SOUTH", "EAST", "WEST"]
_UNIT_WORDS = ["APT", "APARTMENT", "UNIT", "SPC", "SPACE", "STE", "SUITE"]
_SUFFIXES = ["JR", "SR", "II", "III", "IV"]


# --- scoring (pure pandas; no Splink needed) --------------------------------------------------


def load_truth(truth_dir: Path) -> pd.DataFrame:
    """`line_truth.csv`: the line key, `true_voter_id` and `true_case` when the data set has it."""
    wanted = {*KEY, "true_voter_id", "true_case"}
    truth = pd.read_csv(
        Path(truth_dir) / "line_truth.csv",
        dtype=str,
        keep_default_na=False,
        usecols=lambda column: column in wanted,
    )
    missing = [c for c in (*KEY, "true_voter_id") if c not in truth]
    if missing:
        raise ValueError(f"{truth_dir}/line_truth.csv lacks {', '.join(missing)}")
    truth["page"] = truth["page"].astype("int64")
    truth["line"] = truth["line"].astype("int64")
    return truth


def _truth_and_links(truth: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Truth lines with the system's `voter_id` ('' = no link); a line it never scored is none."""
    if links[KEY].duplicated().any():
        raise ValueError("links must hold at most one row per line")
    joined = truth.merge(links, on=KEY, how="left", validate="one_to_one")
    joined["voter_id"] = joined["voter_id"].fillna("").astype(str)
    joined["true_voter_id"] = joined["true_voter_id"].fillna("").astype(str)
    return joined


def score_links(truth: pd.DataFrame, links: pd.DataFrame) -> dict:
    """Link accuracy, precision and recall of one link per line (`KEY` + `voter_id`)."""
    return _score(_truth_and_links(truth, links[[*KEY, "voter_id"]]))


def _score(joined: pd.DataFrame) -> dict:
    linked = joined["voter_id"] != ""
    should = joined["true_voter_id"] != ""
    right_link = linked & (joined["voter_id"] == joined["true_voter_id"])
    right = right_link | (~linked & ~should)
    lines, n_linked, n_should = len(joined), int(linked.sum()), int(should.sum())
    figures = {
        "lines": lines,
        "accuracy": int(right.sum()) / lines if lines else 0.0,
        "precision": int(right_link.sum()) / n_linked if n_linked else 0.0,
        "recall": int(right_link.sum()) / n_should if n_should else 0.0,
        "links": n_linked,
        "true_links": n_should,
        "wrong": int((~right).sum()),
    }
    if "true_case" in joined:
        # Per scenario cause, so a gap can be traced to its kind of line.
        counts = joined.loc[~right, "true_case"].value_counts()
        figures["wrong_by_case"] = {str(k): int(v) for k, v in counts.items()}
    return figures


def best_threshold(truth: pd.DataFrame, candidates: pd.DataFrame) -> dict:
    """The threshold on `match_weight` at which each line's best candidate is most accurate.

    `candidates`: `KEY`, `voter_id`, `match_weight`, any number of rows per line. Only a line's
    best voter matters (ties go to the lowest voter_id, as Splink's `lowest_id` rule does). Every
    distinct best weight is tried as the threshold, and so is linking nothing; of equally accurate
    thresholds the highest wins.
    """
    best = candidates.sort_values(["match_weight", "voter_id"], ascending=[False, True])
    best = best.drop_duplicates(KEY)[[*KEY, "voter_id", "match_weight"]]
    joined = _truth_and_links(truth, best)
    should = joined["true_voter_id"] != ""
    scored = joined["voter_id"] != ""
    nobody = int((~should).sum())
    # Linking every line whose best weight is >= w, for each distinct w from the top down.
    steps = (
        pd.DataFrame(
            {
                "match_weight": joined.loc[scored, "match_weight"],
                "hit": (joined["voter_id"] == joined["true_voter_id"])[scored],
                "nobody": ~should[scored],
            }
        )
        .groupby("match_weight")
        .sum()
        .sort_index(ascending=False)
        .cumsum()
    )
    steps["right"] = steps["hit"] + nobody - steps["nobody"]
    threshold = None
    if len(steps) and steps["right"].max() > nobody:
        threshold = float(steps["right"].idxmax())
    # Then scored by the same rule as any other set of links.
    keep = scored & (joined["match_weight"] >= threshold if threshold is not None else False)
    figures = _score(joined.assign(voter_id=joined["voter_id"].where(keep, "")))
    figures["threshold_match_weight"] = threshold
    figures["threshold_match_probability"] = (
        None if threshold is None else 1 / (1 + 2 ** (-threshold))
    )
    figures["lines_with_candidate"] = int(scored.sum())
    return figures


def pipeline_link_accuracy(warehouse_url: str, truth_dir: Path) -> dict:
    """The same link accuracy for our pipeline's `line_matches.voter_id`."""
    from recall_pipeline.warehouse import Warehouse

    with Warehouse(warehouse_url) as store:
        links = store.read("line_matches", columns=[*KEY, "voter_id"]).to_pandas()
    links["page"] = links["page"].astype("int64")
    links["line"] = links["line"].astype("int64")
    return score_links(load_truth(truth_dir), links)


# --- the Splink run ---------------------------------------------------------------------------


def _sql_list(words: list[str]) -> str:
    return "[" + ", ".join(f"'{w}'" for w in words) + "]"


def _roll_address(t: str) -> str:
    return (
        f"nullif(regexp_extract({t}house_number, '^([0-9]+)', 1), '') AS house_number, "
        f"nullif(strip_accents(upper(trim({t}street_name))), '') AS street_name, "
        f"nullif(left(regexp_replace(coalesce({t}zip, ''), '[^0-9]', '', 'g'), 5), '') AS zip5, "
        f"nullif(upper(trim({t}city)), '') AS city"
    )


def _files(folder: Path) -> list[Path]:
    """The contract's input files of one folder (CSV or Parquet, not its subfolders)."""
    return sorted(
        p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in (".csv", ".parquet")
    )


def _read_text(con, name: str, files: list[Path]) -> set[str]:
    """Table `name` from the files, every value as text and each row's `filename`; the files
    may differ in their columns (optional ones present in some only). Returns the columns."""
    csvs = [f for f in files if f.suffix.lower() == ".csv"]
    parquets = [f for f in files if f.suffix.lower() == ".parquet"]
    listed = lambda paths: "[" + ", ".join(f"'{p}'" for p in paths) + "]"  # noqa: E731
    parts = []
    if csvs:
        parts.append(
            f"SELECT * FROM read_csv({listed(csvs)}, all_varchar = true, header = true, "
            "union_by_name = true, filename = true)"
        )
    if parquets:
        parts.append(
            f"SELECT COLUMNS(*)::VARCHAR FROM read_parquet({listed(parquets)}, "
            "union_by_name = true, filename = true)"
        )
    con.execute(f"CREATE TABLE {name} AS {' UNION ALL BY NAME '.join(parts)}")
    return {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}


def _absent_as_null(columns: set[str], *names: str) -> str:
    """Select-list items that add each absent column as NULL: the contract's optional columns
    may be missing from every file."""
    return "".join(f", CAST(NULL AS VARCHAR) AS {n}" for n in names if n not in columns)


def _prepare(con, data_dir: Path) -> tuple[str, str]:
    """Load and tidy both sides in DuckDB; returns the two table names Splink links."""
    scans = sorted(f for folder in (data_dir / "petitions").glob("*/scans") for f in _files(folder))
    roll_files = _files(data_dir / "voter_roll")
    history_files = _files(data_dir / "voter_roll" / "address_history")
    if not scans or not roll_files:
        raise SystemExit(f"{data_dir}: no scan files or no roll files (see the data contract)")
    scan_columns = _read_text(con, "scan_rows", scans)
    con.execute(
        f"""
        CREATE TABLE line_raw AS
        SELECT
            row_number() OVER () AS unique_id,
            regexp_extract(filename, 'petitions/([^/]+)/scans/', 1) AS petition_id,
            trim(section_id) AS section_id, CAST(page AS BIGINT) AS page,
            CAST(line AS BIGINT) AS line,
            regexp_split_to_array(trim(regexp_replace(
                strip_accents(upper(coalesce(printed_name, ''))), '[^A-Z,'' -]+', ' ', 'g')),
                '\\s*,\\s*')
                AS name_parts,
            trim(regexp_replace(regexp_replace(
                strip_accents(upper(coalesce(residence_address, ''))), '[.,]', ' ', 'g'),
                '\\s+', ' ', 'g'))
                AS address,
            nullif(upper(trim(city)), '') AS city,
            nullif(left(regexp_replace(coalesce(zip, ''), '[^0-9]', '', 'g'), 5), '') AS zip5
        FROM (SELECT *{_absent_as_null(scan_columns, "city", "zip")} FROM scan_rows)
        """
    )
    # Name words: for "LAST, FIRST M" the part after the comma starts with the first name.
    con.execute(
        f"""
        CREATE TABLE line_words AS
        SELECT *,
            list_filter(string_split(trim(regexp_replace(
                CASE WHEN len(name_parts) > 1 THEN name_parts[2] ELSE name_parts[1] END,
                '\\s+', ' ', 'g')), ' '), w -> w <> '') AS given_words,
            list_filter(string_split(trim(regexp_replace(
                CASE WHEN len(name_parts) > 1 THEN name_parts[1] ELSE '' END,
                '\\s+', ' ', 'g')), ' '), w -> w <> '') AS family_words,
            regexp_replace(regexp_replace(address, '^[0-9]+( [0-9]/[0-9])?\\s*', ''),
                '(\\s|^)(#|{"|".join(_UNIT_WORDS)})(\\s|[0-9#]|$).*$', '') AS street_rest
        FROM line_raw
        """
    )
    con.execute(
        f"""
        CREATE TABLE lines AS
        WITH parts AS (
            SELECT *,
                CASE WHEN len(family_words) > 0 THEN given_words
                     WHEN len(given_words) > 1
                          AND list_contains({_sql_list(_SUFFIXES)}, given_words[-1])
                     THEN given_words[1:-2] ELSE given_words END AS words,
                list_filter(string_split(street_rest, ' '), w -> w <> '') AS street_words
            FROM line_words
        ), trimmed AS (
            SELECT *,
                CASE WHEN len(street_words) > 1
                          AND list_contains({_sql_list(_DIRECTIONS)}, street_words[1])
                     THEN street_words[2:] ELSE street_words END AS sw1
            FROM parts
        ), tidied AS (
            SELECT *,
                CASE WHEN len(sw1) > 1 AND list_contains({_sql_list(_DIRECTIONS)}, sw1[-1])
                     THEN sw1[1:-2] ELSE sw1 END AS sw
            FROM trimmed
        )
        SELECT unique_id, petition_id, section_id, page, line,
            nullif(words[1], '') AS first_name,
            nullif(CASE WHEN len(family_words) > 0
                        THEN array_to_string(list_filter(family_words,
                             w -> NOT list_contains({_sql_list(_SUFFIXES)}, w)), ' ')
                        WHEN len(words) > 1 THEN words[-1] END, '') AS last_name,
            nullif(regexp_extract(address, '^([0-9]+)', 1), '') AS house_number,
            nullif(CASE WHEN len(sw) > 1 AND list_contains({_sql_list(_STREET_TYPES)}, sw[-1])
                        THEN array_to_string(sw[1:-2], ' ')
                        ELSE array_to_string(sw, ' ') END, '') AS street_name,
            zip5, city
        FROM tidied
        """
    )
    _read_text(con, "roll_rows", roll_files)
    con.execute(
        """
        CREATE TABLE roll_current AS
        SELECT trim(voter_id) AS voter_id,
               nullif(strip_accents(upper(trim(first_name))), '') AS first_name,
               nullif(strip_accents(upper(trim(last_name))), '') AS last_name,
               house_number, street_name, zip, city
        FROM roll_rows
        """
    )
    history = ""
    if history_files:
        _read_text(con, "history_rows", history_files)
        history = f"""
            UNION ALL
            SELECT h.voter_id, r.first_name, r.last_name, {_roll_address("h.")}
            FROM (SELECT * REPLACE (trim(voter_id) AS voter_id) FROM history_rows) h
            JOIN roll_current r USING (voter_id)
        """
    con.execute(
        f"""
        CREATE TABLE roll AS
        SELECT row_number() OVER () AS unique_id, *
        FROM (
            SELECT voter_id, first_name, last_name, {_roll_address("")} FROM roll_current
            {history}
        )
        """
    )
    # Splink wants the same columns on both sides; the keys wait aside for the results.
    con.execute(
        f"""
        DROP TABLE IF EXISTS history_rows;
        CREATE TABLE line_keys AS SELECT unique_id, {", ".join(KEY)} FROM lines;
        CREATE TABLE roll_keys AS SELECT unique_id, voter_id FROM roll;
        ALTER TABLE lines DROP COLUMN petition_id; ALTER TABLE lines DROP COLUMN section_id;
        ALTER TABLE lines DROP COLUMN page; ALTER TABLE lines DROP COLUMN line;
        ALTER TABLE roll DROP COLUMN voter_id;
        DROP TABLE line_raw; DROP TABLE line_words; DROP TABLE roll_current;
        DROP TABLE scan_rows; DROP TABLE roll_rows;
        """
    )
    return "lines", "roll"


# Blocking rules (as column lists) and training choices. "tuned" is what a team arrives at after
# Splink's blocking analysis shows the two name-wide rules ("first + last", "last + ZIP") making
# ~90 % of the pairs at scale 1 while adding almost no links the model would accept.
PROFILES = {
    "tuned": {
        "predict": [
            ("zip5", "house_number"), ("house_number", "street_name"),
            ("last_name", "house_number"), ("first_name", "last_name", "zip5"),
        ],
        "em": [("zip5", "house_number"), ("first_name", "last_name", "street_name")],
        "em_without_tf": True,
    },
    "plain": {
        "predict": [
            ("zip5", "house_number"), ("house_number", "street_name"),
            ("first_name", "last_name"), ("last_name", "zip5"),
        ],
        "em": [("zip5", "house_number"), ("first_name", "last_name")],
        "em_without_tf": False,
    },
}  # fmt: skip


MODEL_COLUMNS = ("first_name", "last_name", "house_number", "street_name", "zip5", "city")
PRIOR_RULE = ("first_name", "last_name", "house_number", "zip5")


def model_plan(profile: str, usable: set[str]) -> dict:
    """The profile's rules cut down to the columns that hold values on both sides: prediction
    rules that block on a missing column go (blocking on what is left could explode), training
    rules and the prior's deterministic rule keep their other columns."""
    chosen = PROFILES[profile]
    predict = [r for r in chosen["predict"] if set(r) <= usable]
    em = [kept for r in chosen["em"] if (kept := tuple(c for c in r if c in usable))]
    prior = tuple(c for c in PRIOR_RULE if c in usable)
    if not predict or not prior:
        raise SystemExit(
            f"Splink: too few columns hold values on both sides ({', '.join(sorted(usable))})"
        )
    return {
        "columns": [c for c in MODEL_COLUMNS if c in usable],
        "predict": predict,
        "em": em,
        "prior": prior,
        "em_without_tf": chosen["em_without_tf"],
    }


def _settings(plan: dict):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = {
        "first_name": lambda: cl.NameComparison("first_name").configure(
            term_frequency_adjustments=True
        ),
        "last_name": lambda: cl.NameComparison("last_name").configure(
            term_frequency_adjustments=True
        ),
        "house_number": lambda: cl.LevenshteinAtThresholds("house_number", [1]),
        "street_name": lambda: cl.JaroWinklerAtThresholds("street_name", [0.95, 0.85]),
        "zip5": lambda: cl.LevenshteinAtThresholds("zip5", [1]),
        "city": lambda: cl.ExactMatch("city"),
    }
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[comparisons[c]() for c in plan["columns"]],
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in plan["predict"]],
        # Only the weight and the ids are read afterwards; carrying the rest costs memory.
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _usable_columns(con, lines: str, roll: str) -> set[str]:
    """Model columns holding at least one value on each side."""
    counts = ", ".join(f"count({c}) AS {c}" for c in MODEL_COLUMNS)
    on_lines = con.execute(f"SELECT {counts} FROM {lines}").fetchone()
    on_roll = con.execute(f"SELECT {counts} FROM {roll}").fetchone()
    return {c for c, a, b in zip(MODEL_COLUMNS, on_lines, on_roll, strict=True) if a and b}


def _model_summary(model: dict) -> dict:
    """The trained match weight of every comparison level (labels only, no data values)."""
    import math

    def weight(level: dict) -> float | None:
        m, u = level.get("m_probability"), level.get("u_probability")
        return round(math.log2(m / u), 2) if m and u else None

    return {
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "comparisons": {
            c["output_column_name"]: {
                lv["label_for_charts"]: weight(lv)
                for lv in c["comparison_levels"]
                if not lv.get("is_null_level")
            }
            for c in model["comparisons"]
        },
    }


def run_splink(
    data_dir: Path,
    *,
    u_max_pairs: float = 1e7,
    recall: float = 0.8,
    predict_min_probability: float = 0.01,
    profile: str = "tuned",
    memory_limit: str | None = None,
    seed: int = 20220706,
) -> tuple[pd.DataFrame, dict]:
    """Prepare, train, predict and keep each line's best voter; returns those and timings.

    The frame holds `KEY`, `voter_id`, `match_weight` for every line Splink scored above
    `predict_min_probability`; the dict the seconds of each phase and a few counts.
    """
    import logging

    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    # Splink's INFO log is a running commentary on training; the figures are kept instead.
    logging.getLogger("splink").setLevel(logging.WARNING)

    spill = tempfile.mkdtemp(prefix="splink-duckdb-")
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{spill}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        lines, roll = _prepare(con, Path(data_dir))
        plan = model_plan(profile, _usable_columns(con, lines, roll))
        seconds["prepare"] = time.perf_counter() - started

        mark = time.perf_counter()
        # Splink 5: tables are registered with the database API (the display name is what
        # `source_dataset` holds), and the linker finds the API through them.
        db_api = DuckDBAPI(con)
        linker = Linker(
            [
                db_api.register(lines, dataset_display_name="lines"),
                db_api.register(roll, dataset_display_name="roll"),
            ],
            _settings(plan),
            log_level=None,
        )
        training = linker.training
        training.estimate_probability_two_random_records_match(
            [block_on(*plan["prior"])], recall=recall
        )
        seconds["train_prior"] = time.perf_counter() - mark
        step = time.perf_counter()
        training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        seconds["train_u"] = time.perf_counter() - step
        step = time.perf_counter()
        for cols in plan["em"]:
            training.estimate_parameters_using_expectation_maximisation(
                block_on(*cols), estimate_without_term_frequencies=plan["em_without_tf"]
            )
        seconds["train_em"] = time.perf_counter() - step
        seconds["train"] = time.perf_counter() - mark

        mark = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=predict_min_probability)
        seconds["predict"] = time.perf_counter() - mark

        mark = time.perf_counter()
        # link_only pairs always join one line and one roll row, in either column order.
        table = predictions.physical_name
        best = con.execute(
            f"""
            WITH pairs AS (
                SELECT
                    CASE WHEN source_dataset_l = 'lines' THEN unique_id_l ELSE unique_id_r END
                        AS line_uid,
                    CASE WHEN source_dataset_l = 'lines' THEN unique_id_r ELSE unique_id_l END
                        AS roll_uid,
                    match_weight
                FROM {table}
            )
            SELECT {", ".join(f"k.{c}" for c in KEY)}, r.voter_id, p.match_weight
            FROM pairs p
            JOIN line_keys k ON k.unique_id = p.line_uid
            JOIN roll_keys r ON r.unique_id = p.roll_uid
            QUALIFY row_number() OVER (
                PARTITION BY p.line_uid ORDER BY p.match_weight DESC, r.voter_id
            ) = 1
            """
        ).df()
        seconds["best_link"] = time.perf_counter() - mark
        seconds["total"] = time.perf_counter() - started
        counts = {
            name: con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
            for name, source in (
                ("pairs_above_min_probability", table),
                ("line_records", "line_keys"),
                ("roll_records", "roll_keys"),
            )
        }
        counts["model"] = _model_summary(linker.misc.save_model_to_json())
        counts["columns"] = plan["columns"]
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    best["voter_id"] = best["voter_id"].astype(str)
    best["page"] = best["page"].astype("int64")
    best["line"] = best["line"].astype("int64")
    return best, {"seconds": {k: round(v, 2) for k, v in seconds.items()}, **counts}


def compare(data_dir: Path, truth_dir: Path, **options) -> dict:
    """Run Splink here (this process's peak memory is then Splink's) and score its links."""
    best, run = run_splink(data_dir, **options)
    import splink

    result = {
        "splink_version": splink.__version__,
        "options": dict(options),
        **run,
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    if truth_dir is not None:
        result["best"] = best_threshold(load_truth(truth_dir), best)
    return result


def compare_in_subprocess(
    data_dir: Path, truth_dir: Path, *, python: str = sys.executable, **options
) -> dict:
    """`compare` in a fresh interpreter, so its peak memory is Splink's own."""
    probe = [
        python,
        "-c",
        "import importlib.util, sys; sys.exit(not importlib.util.find_spec('splink'))",
    ]
    if subprocess.run(probe).returncode:
        raise SystemExit(
            "Splink is not installed in this environment: `make bench` installs it "
            "(uv sync --group bench); or pass --no-splink"
        )
    with tempfile.TemporaryDirectory(prefix="splink-compare-") as tmp:
        out = Path(tmp) / "splink.json"
        command = [python, str(SCRIPT), "--data", str(data_dir), "--truth", str(truth_dir)]
        command += ["--json", str(out)]
        for name, value in options.items():
            command += [f"--{name.replace('_', '-')}", str(value)]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        result = json.loads(out.read_text())
    result["process_seconds"] = round(time.perf_counter() - started, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="scenario data directory")
    parser.add_argument("--truth", type=Path, help="its truth dir (default: DATA.truth)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--warehouse", help="also score our pipeline's links from this URL")
    parser.add_argument("--u-max-pairs", type=float, default=1e7)
    parser.add_argument("--recall", type=float, default=0.8)
    parser.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 4GB (default: DuckDB's)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="tuned")
    args = parser.parse_args(argv)
    truth = args.truth or Path(f"{args.data}.truth")
    options = {"u_max_pairs": args.u_max_pairs, "recall": args.recall, "profile": args.profile}
    if args.memory_limit:
        options["memory_limit"] = args.memory_limit
    result = compare(args.data, truth, **options)
    if args.warehouse:
        sys.path.insert(0, str(SCRIPT.parents[1]))
        result["ours"] = pipeline_link_accuracy(args.warehouse, truth)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
