"""The accuracy suite: our pipeline's links and verdicts against data sets with a known truth,
with Splink beside it on the same data.

    python benchmarks/accuracy.py [--dataset NAME ...] [--scale S] [--seed N] [--no-splink]
        [--show N] [--json OUT] [--work DIR]
    python benchmarks/accuracy.py --truth TRUTH_DIR --warehouse URL [--data DATA_DIR] [--show N]

A data set is `la-2022:standard`, `la-2022:hard`, `la-2022:hardest` (the scenario generator at
`--scale`, keying profile after the colon), `febrl1` ... `febrl4` (public record-linkage data
turned into a petition by `public_data.py`), or the path of any data directory with its truth
beside it in `<dir>.truth`. Data sets are made once and kept under `data/generated/`. For each,
our pipeline runs in its own process into a scratch DuckDB warehouse (`recall-audit run`), then
the report prints the link precision and recall, the status and reason accuracy (over all lines
and over the lines not left PENDING), the pending share, the confusion of true against published
reasons, per-blocking-pass figures when the matcher publishes `match_candidates`, and Splink's
link precision and recall on the same data. A closing table puts the data sets side by side.

The second form scores a warehouse that was already run (no generating, no running; Splink only
when `--data` names the data directory).

The exit code is non-zero only when something fails (a generator, a run, a missing file): the
figures are a report, never a verdict on the code. `docs/accuracy.md` defines every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from benchmarks.splink_compare import KEY, score_links  # noqa: E402

DEFAULT_DATASETS = (
    "la-2022:standard", "la-2022:hard", "la-2022:hardest", "febrl4", "febrl1", "febrl2",
    "febrl3",
)  # fmt: skip
KEYING_PROFILES = ("standard", "hard", "hardest")
DEFAULT_SEED = 20220706
GENERATED = PROJECT / "data" / "generated"
# Evidence the matcher has recorded beside each link, shown for wrong lines (those present).
EVIDENCE = (
    "match_method", "match_score", "candidates_at_address", "passing_candidates",
    "roll_records_with_name", "first_name_agreement", "last_name_agreement",
)  # fmt: skip


# --- scoring (pure pandas) --------------------------------------------------------------------


def load_line_truth(truth_dir: Path) -> pd.DataFrame:
    """Every column of `line_truth.csv` as text (missing = ''), page and line as integers."""
    truth = pd.read_csv(Path(truth_dir) / "line_truth.csv", dtype=str, keep_default_na=False)
    missing = [c for c in (*KEY, "true_voter_id") if c not in truth]
    if missing:
        raise ValueError(f"{truth_dir}/line_truth.csv lacks {', '.join(missing)}")
    return _typed_key(truth)


def _typed_key(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["page"] = frame["page"].astype("int64")
    frame["line"] = frame["line"].astype("int64")
    frame["section_id"] = frame["section_id"].astype(str)
    frame["petition_id"] = frame["petition_id"].astype(str)
    return frame


def has_verdict_truth(truth: pd.DataFrame) -> bool:
    return "true_status" in truth and (truth["true_status"] != "").any()


def join_verdicts(
    truth: pd.DataFrame, verdicts: pd.DataFrame, matches: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Truth and published verdicts side by side, one row per line found in either.

    `true_reason` is the true reason code, or the true status when it has none (VALID);
    `got_reason` the published reason code, or the status (VALID, PENDING); a line missing from
    one side reads MISSING there. `_merge` says where a line was found. Evidence columns from
    `matches` (the matcher's link is `match_voter_id`) come along when given.
    """
    verdicts = _typed_key(verdicts)
    joined = truth.merge(verdicts, on=KEY, how="outer", indicator=True, suffixes=("", "_published"))
    if matches is not None:
        matches = _typed_key(matches).rename(columns={"voter_id": "match_voter_id"})
        evidence = [c for c in matches if c not in joined or c in KEY]
        joined = joined.merge(matches[evidence], on=KEY, how="left")
    for column in ("true_status", "true_reason_code", "status", "reason_code"):
        if column not in joined:
            joined[column] = pd.NA
    true_code = joined["true_reason_code"].replace("", pd.NA)
    joined["true_reason"] = (
        true_code.fillna(joined["true_status"].replace("", pd.NA)).fillna("MISSING").astype(str)
    )
    got_code = joined["reason_code"].replace("", pd.NA)
    joined["got_reason"] = got_code.fillna(joined["status"]).fillna("MISSING").astype(str)
    joined["status"] = joined["status"].fillna("MISSING").astype(str)
    return joined


def verdict_figures(joined: pd.DataFrame) -> dict:
    """Pending share, and status and reason accuracy over all lines and over decided lines.

    A line is decided when its published status is not PENDING. Accuracy over all lines counts
    a PENDING line as not agreeing (the truth never says PENDING) and a line the pipeline never
    published as wrong. The accuracies are None when the truth has no verdicts.
    """
    in_truth = joined["_merge"] != "right_only"
    published = joined["_merge"] != "left_only"
    pending = published & (joined["status"] == "PENDING")
    figures = {
        "lines": int(in_truth.sum()),
        "published": int(published.sum()),
        "only_in_truth": int((joined["_merge"] == "left_only").sum()),
        "only_published": int((joined["_merge"] == "right_only").sum()),
        "pending": int(pending.sum()),
        "pending_share": float(pending.sum() / published.sum()) if published.any() else 0.0,
        "published_status": _counts(joined.loc[published, "status"]),
        "published_reason": _counts(
            joined.loc[published & (joined["status"] == "INVALID"), "got_reason"]
        ),
    }
    truth_lines = joined[in_truth]
    if not (truth_lines["true_status"].fillna("") != "").any():
        return {
            **figures,
            "status_accuracy": None,
            "status_accuracy_decided": None,
            "reason_accuracy": None,
            "reason_accuracy_decided": None,
        }
    decided = truth_lines["status"] != "PENDING"
    status_ok = truth_lines["status"] == truth_lines["true_status"]
    reason_ok = truth_lines["got_reason"] == truth_lines["true_reason"]
    n_decided = int(decided.sum())
    return {
        **figures,
        "decided": n_decided,
        "status_accuracy": _share(status_ok.sum(), len(truth_lines)),
        "status_accuracy_decided": _share((status_ok & decided).sum(), n_decided),
        "status_wrong": int((~status_ok).sum()),
        "reason_accuracy": _share(reason_ok.sum(), len(truth_lines)),
        "reason_accuracy_decided": _share((reason_ok & decided).sum(), n_decided),
        "reason_wrong": int((~reason_ok).sum()),
        "reason_wrong_decided": int((~reason_ok & decided).sum()),
    }


def _share(part, whole) -> float | None:
    return float(part) / whole if whole else None


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().items()}


def confusion(joined: pd.DataFrame) -> pd.DataFrame:
    """Off-diagonal cells of true reason × published reason: `true_reason, got_reason, lines`,
    largest first. PENDING is a published reason of its own."""
    rows = joined[joined["true_reason"] != joined["got_reason"]]
    if rows.empty:
        return pd.DataFrame(columns=["true_reason", "got_reason", "lines"])
    cells = rows.groupby(["true_reason", "got_reason"]).size().rename("lines").reset_index()
    return cells.sort_values(
        ["lines", "true_reason", "got_reason"], ascending=[False, True, True]
    ).reset_index(drop=True)


def pass_figures(candidates: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per blocking pass: the candidate pairs it made, the true links among them, and the true
    links no other pass found. `candidates`: `KEY`, `voter_id`, `passes` (';'-joined pass
    names). A last row, `(any)`, counts distinct pairs and true links over all passes;
    `true_links_in_truth` is the number of lines whose truth is a voter, for the candidate recall.
    """
    pairs = _typed_key(candidates[[*KEY, "voter_id", "passes"]])
    pairs["voter_id"] = pairs["voter_id"].astype(str)
    pairs["passes"] = pairs["passes"].fillna("").astype(str)
    # A pair listed twice counts once, with every pass either row names.
    pairs = pairs.groupby([*KEY, "voter_id"], sort=False)["passes"].agg(";".join).reset_index()
    linked = truth.loc[truth["true_voter_id"] != "", [*KEY, "true_voter_id"]]
    pairs = pairs.merge(linked, on=KEY, how="left")
    pairs["true_link"] = pairs["voter_id"] == pairs["true_voter_id"].fillna("")
    names = pairs["passes"].str.split(";").apply(lambda p: sorted({n.strip() for n in p} - {""}))
    pairs["only"] = pairs["true_link"] & (names.str.len() == 1)
    exploded = pairs.assign(pass_name=names).explode("pass_name").dropna(subset=["pass_name"])
    per_pass = exploded.groupby("pass_name").agg(
        pairs=("voter_id", "size"),
        true_links=("true_link", "sum"),
        only_this_pass=("only", "sum"),
    )
    per_pass = per_pass.sort_values("pairs", ascending=False).reset_index()
    total = pd.DataFrame(
        {
            "pass_name": ["(any)"],
            "pairs": [len(pairs)],
            "true_links": [int(pairs["true_link"].sum())],
            "only_this_pass": [None],
        }
    )
    result = pd.concat([per_pass.astype({"only_this_pass": object}), total], ignore_index=True)
    result["true_links_in_truth"] = len(linked)
    return result.astype({"pairs": "int64", "true_links": "int64"})


def examiner_figures(
    matches: pd.DataFrame, candidates: pd.DataFrame, truth: pd.DataFrame
) -> dict[str, int]:
    """The lines the matcher routed to an examiner (`match_status` REVIEW): how many; how many
    a registrant signed (truth); for how many of those the signer is the examiner's first
    candidate (`rank` 1 in `match_candidates`), and among the candidates at all."""
    review = _typed_key(matches.loc[matches["match_status"] == "REVIEW", KEY])
    signed = review.merge(truth[[*KEY, "true_voter_id"]], on=KEY, how="left")
    signed = signed[signed["true_voter_id"].fillna("") != ""]
    listed = _typed_key(candidates[[*KEY, "voter_id", "rank"]]).astype({"voter_id": str})
    found = signed.merge(
        listed, left_on=[*KEY, "true_voter_id"], right_on=[*KEY, "voter_id"], how="left"
    )
    best = found.groupby(KEY, sort=False)["rank"].min()
    return {
        "lines": len(review),
        "signed_by_registrant": len(signed),
        "signer_first": int((best == 1).sum()),
        "signer_listed": int(best.notna().sum()),
    }


# --- reading a warehouse ----------------------------------------------------------------------


def _read(store, table: str, wanted: list[str]) -> pd.DataFrame | None:
    present = store.column_names(table)
    if not present:
        return None
    return store.read_frame(table, columns=[c for c in wanted if c in present])


def compare(store, truth_dir: Path) -> tuple[pd.DataFrame, dict]:
    """Truth joined to the published verdicts and the matcher's evidence, and the expected
    determination (empty when the data set has none). `bench.py` scores its runs with this."""
    truth = load_line_truth(truth_dir)
    verdicts = _read(store, "line_verdicts", [*KEY, "status", "reason_code", "voter_id"])
    if verdicts is None:
        raise SystemExit("the warehouse has no line_verdicts: did the run finish?")
    matches = _read(store, "line_matches", [*KEY, "voter_id", *EVIDENCE])
    joined = join_verdicts(truth, verdicts, matches)
    expected_file = Path(truth_dir) / "expected_determination.json"
    expected = json.loads(expected_file.read_text()) if expected_file.exists() else {}
    return joined, expected


def score_warehouse(url: str, truth_dir: Path, show: int = 0) -> dict:
    """Every figure of one data set from a warehouse our pipeline published."""
    from recall_pipeline.warehouse import Warehouse

    truth = load_line_truth(truth_dir)
    with Warehouse(url) as store:
        joined, expected = compare(store, truth_dir)
        links = _read(store, "line_matches", [*KEY, "voter_id"])
        candidates = None
        if store.table_exists("match_candidates"):
            candidates = _read(store, "match_candidates", [*KEY, "voter_id", "passes", "rank"])
        statuses = _read(store, "line_matches", [*KEY, "match_status"])
        determination = None
        if expected and store.table_exists("sufficiency_determination"):
            determination = store.read_frame("sufficiency_determination")
    if links is None:
        raise SystemExit("the warehouse has no line_matches")
    links = _typed_key(links)
    links["voter_id"] = links["voter_id"].fillna("").astype(str)
    result: dict = {
        "link": score_links(truth, links),
        "verdicts": verdict_figures(joined),
        "confusion": confusion(joined).to_dict("records") if has_verdict_truth(truth) else None,
    }
    if candidates is not None and {"voter_id", "passes"} <= set(candidates):
        result["passes"] = pass_figures(candidates, truth).to_dict("records")
    if (
        candidates is not None
        and "rank" in candidates
        and statuses is not None
        and "match_status" in statuses
    ):
        result["examiner"] = examiner_figures(statuses, candidates, truth)
    if expected:
        result["determination"] = _determination(joined, expected, determination)
    if show:
        result["wrong_lines"] = _wrong_lines(joined, show, has_verdict_truth(truth))
    return result


def _determination(joined: pd.DataFrame, expected: dict, published: pd.DataFrame | None):
    petition = expected.get("petition_id")
    row = {}
    if published is not None and len(published):
        mine = published[published["petition_id"] == petition] if petition else published
        row = mine.iloc[0].to_dict() if len(mine) else {}
    ours = joined[(joined["_merge"] != "left_only") & (joined["status"] == "INVALID")]
    if petition:
        ours = ours[ours["petition_id"] == petition]
    by_reason = _counts(ours["got_reason"])
    figures = {}
    # The method first: a petition decided by its sample publishes the sample's figures, which
    # a full-count truth cannot equal.
    names = ("method", "raw_count", "valid", "invalid", "pending", "required", "margin", "result")
    for name in names:
        if name in expected:
            got = row.get(name)
            figures[name] = {"expected": expected[name], "published": _plain(got)}
    reasons = {
        code: {"expected": want, "published": by_reason.get(code, 0)}
        for code, want in expected.get("by_reason", {}).items()
    }
    return {"figures": figures, "by_reason": reasons}


def _plain(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _wrong_lines(joined: pd.DataFrame, show: int, verdict_truth: bool) -> list[dict]:
    """The first lines whose link is wrong, or whose reason is when the truth has reasons."""
    in_truth = joined[joined["_merge"] != "right_only"]
    link = in_truth.get("match_voter_id")
    link = link.fillna("") if link is not None else pd.Series("", index=in_truth.index)
    wrong = link != in_truth["true_voter_id"].fillna("")
    if verdict_truth:
        wrong |= in_truth["got_reason"] != in_truth["true_reason"]
    columns = [
        "petition_id", "section_id", "page", "line", "true_reason", "got_reason", "true_case",
        "true_voter_id", "match_voter_id", *EVIDENCE,
    ]  # fmt: skip
    if not verdict_truth:
        columns.remove("true_reason")
    picked = in_truth.loc[wrong, [c for c in columns if c in in_truth]].head(show)
    return json.loads(picked.to_json(orient="records"))


# --- data sets --------------------------------------------------------------------------------


@dataclass
class DataSet:
    name: str
    data: Path
    truth: Path
    notes: list[str] = field(default_factory=list)


_KEYING_SUPPORT: dict[str, bool] = {}


def generator_has_keying(python: str = sys.executable) -> bool:
    """Whether `recall-audit generate` takes `--keying` (the harder keying profiles)."""
    if python not in _KEYING_SUPPORT:
        shown = subprocess.run(
            [python, "-m", "recall_pipeline.cli", "generate", "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        _KEYING_SUPPORT[python] = "--keying" in shown.stdout
    return _KEYING_SUPPORT[python]


def resolve(name: str, scale: float, seed: int, generated: Path = GENERATED) -> DataSet:
    """The data set's folders, made first when they are not there yet."""
    if name.startswith("la-2022"):
        scenario, _, profile = name.partition(":")
        profile = profile or "standard"
        if scenario != "la-2022" or profile not in KEYING_PROFILES:
            raise SystemExit(f"unknown data set {name!r} (la-2022:{'|'.join(KEYING_PROFILES)})")
        return _scenario(name, profile, scale, seed, generated)
    if re.fullmatch(r"febrl[1-4]", name):
        return _public(name, generated)
    path = Path(name)
    if path.is_dir():
        truth = Path(f"{path}.truth")
        if not (truth / "line_truth.csv").exists():
            raise SystemExit(f"{name}: no truth at {truth}/line_truth.csv")
        return DataSet(name, path, truth)
    raise SystemExit(f"unknown data set {name!r}: la-2022:PROFILE, febrl1..4, or a data directory")


def _scenario(name: str, profile: str, scale: float, seed: int, generated: Path) -> DataSet:
    notes = []
    extra = []
    if generator_has_keying():
        folder = generated / f"la-2022-{profile}-scale-{scale:g}-seed-{seed}"
        extra = ["--keying", profile]
    else:
        # Until the keying profiles land, every profile is the generator's one keying; the
        # folder is the one bench.py and `make run` use, so nothing is generated twice.
        folder = generated / f"la-2022-scale-{scale:g}"
        if seed != DEFAULT_SEED:
            folder = generated / f"la-2022-scale-{scale:g}-seed-{seed}"
        notes.append(f"the generator has no --keying yet: {name} is the generator's default keying")
    truth = Path(f"{folder}.truth")
    if not (folder / ".complete").exists():
        command = [
            sys.executable, "-m", "recall_pipeline.cli", "generate", "--scenario", "la-2022",
            "--scale", str(scale), "--seed", str(seed), *extra,
        ]  # fmt: skip
        _make(folder, truth, lambda out, truth_out: _run_checked(
            [*command, "--out", str(out), "--truth-out", str(truth_out)], f"generate {name}"
        ))  # fmt: skip
    return DataSet(name, folder, truth, notes)


def _public(name: str, generated: Path) -> DataSet:
    from benchmarks import public_data

    folder = generated / name
    truth = Path(f"{folder}.truth")
    if not (folder / ".complete").exists():
        _make(folder, truth, lambda out, truth_out: public_data.convert(name, out, truth_out))
    return DataSet(name, folder, truth)


def _make(folder: Path, truth: Path, write) -> None:
    """Write into a scratch folder and move it into place once complete, so an interrupted
    run never leaves a half data set that looks finished."""
    import shutil

    partial = Path(f"{folder}.partial")
    for leftover in (partial, truth):
        shutil.rmtree(leftover, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    write(partial, truth)
    (partial / ".complete").touch()
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def _run_checked(command: list[str], what: str, env: dict | None = None, log: Path | None = None):
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if log is not None:
        log.write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
        raise SystemExit(f"{what} failed (exit {run.returncode}):\n{tail}")
    return run


def run_pipeline(data: DataSet, work: Path) -> tuple[str, float]:
    """`recall-audit run` on the data set into a fresh DuckDB file; returns its URL, seconds."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", data.name).strip("_")
    warehouse = work / f"{slug}.duckdb"
    for leftover in work.glob(f"{warehouse.name}*"):
        leftover.unlink()
    url = f"duckdb:///{warehouse}"
    env = {**os.environ, "RECALL_REPORTS_DIR": str(work / f"{slug}-reports")}
    started = time.perf_counter()
    _run_checked(
        [sys.executable, "-m", "recall_pipeline.cli", "run", "--data-dir", str(data.data),
         "--warehouse", url],
        f"recall-audit run on {data.name}", env=env, log=work / f"{slug}.log",
    )  # fmt: skip
    return url, time.perf_counter() - started


def splink_on(data: DataSet) -> dict:
    from benchmarks.splink_compare import compare_in_subprocess

    run = compare_in_subprocess(data.data, data.truth)
    return {
        "version": run["splink_version"],
        "link": run["best"],
        "seconds": run["seconds"]["total"],
        "columns": run.get("columns"),
    }


# --- printing ---------------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render(name: str, result: dict) -> str:
    out = [f"== {name} ==", f"data: {result.get('data', '–')}"]
    out += [f"note: {n}" for n in result.get("notes", [])]
    if "pipeline_seconds" in result:
        out.append(f"our pipeline: {result['pipeline_seconds']:.1f} s ({result['warehouse']})")
    v = result["verdicts"]
    out.append(
        f"lines: {v['lines']:,} in the truth, {v['published']:,} published "
        f"(only in truth {v['only_in_truth']}, only published {v['only_published']})"
    )
    ours, theirs = result["link"], result.get("splink", {}).get("link")
    head = "Splink " + result["splink"]["version"] if theirs else "Splink (not run)"
    out += ["", f"links            {'ours':>12}  {head:>24}"]
    for label, key in (("precision", "precision"), ("recall", "recall"), ("accuracy", "accuracy")):
        other = _num(theirs[key]) if theirs else "–"
        out.append(f"  {label:<15}{_num(ours[key]):>12}  {other:>24}")
    out.append(
        f"  {'links / true':<15}{ours['links']:>6,} / {ours['true_links']:<5,}"
        + (f"  {theirs['links']:>14,} / {theirs['true_links']:,}" if theirs else "")
    )
    if theirs and theirs.get("threshold_match_weight") is not None:
        out.append(
            f"  Splink's best threshold: match weight {theirs['threshold_match_weight']:.2f}"
        )
    out.append("")
    out.append(f"pending: {v['pending']:,} lines ({_pct(v['pending_share'], 2)} of published)")
    if v["status_accuracy"] is None:
        out.append("status and reason accuracy: no verdict truth for this data set")
        out.append(
            "published: " + ", ".join(f"{k} {n:,}" for k, n in v["published_status"].items())
        )
        if v["published_reason"]:
            out.append(
                "invalid by reason: "
                + ", ".join(f"{k} {n:,}" for k, n in v["published_reason"].items())
            )
    else:
        out.append(
            f"status accuracy: {_pct(v['status_accuracy'])} of all lines, "
            f"{_pct(v['status_accuracy_decided'])} of {v['decided']:,} decided"
        )
        out.append(
            f"reason accuracy: {_pct(v['reason_accuracy'])} of all lines, "
            f"{_pct(v['reason_accuracy_decided'])} of decided ({v['reason_wrong']:,} wrong)"
        )
        cells = result.get("confusion") or []
        out.append(
            "confusion (true reason → published, off-diagonal):" + ("" if cells else " none")
        )
        out += [f"  {c['true_reason']:<30} → {c['got_reason']:<30}{c['lines']:>8,}" for c in cells]
    if "passes" in result:
        out += ["", f"{'blocking pass':<28}{'pairs':>12}{'true links':>12}{'only this pass':>16}"]
        for p in result["passes"]:
            only = "" if p["only_this_pass"] is None else f"{int(p['only_this_pass']):,}"
            out.append(f"  {p['pass_name']:<26}{p['pairs']:>12,}{p['true_links']:>12,}{only:>16}")
        if result["passes"]:
            linked = result["passes"][0]["true_links_in_truth"]
            out.append(f"  (lines whose truth is a voter: {linked:,})")
    else:
        out.append("per-pass figures: the warehouse has no match_candidates table")
    if "examiner" in result:
        e = result["examiner"]
        out.append(
            f"routed to an examiner: {e['lines']:,} lines; of the {e['signed_by_registrant']:,} "
            f"a registrant signed, the signer is the first candidate shown for "
            f"{e['signer_first']:,} and among the candidates for {e['signer_listed']:,}"
        )
    if "determination" in result:
        d = result["determination"]
        out += ["", f"{'figure':<32}{'expected':>14}{'published':>14}"]
        for name_, pair in d["figures"].items():
            out.append(f"{name_:<32}{pair['expected']!s:>14}{pair['published']!s:>14}")
        diffs = {k: p for k, p in d["by_reason"].items() if p["expected"] != p["published"]}
        if diffs:
            out.append("reason counts that differ (expected → published):")
            out += [f"  {k:<30}{p['expected']:>10,} → {p['published']:,}" for k, p in diffs.items()]
    if result.get("wrong_lines"):
        out += ["", f"first {len(result['wrong_lines'])} wrong lines:"]
        out.append(pd.DataFrame(result["wrong_lines"]).to_string(index=False))
    return "\n".join(out)


def render_summary(results: dict[str, dict]) -> str:
    header = [
        "data set", "lines", "pending", "status acc. all / decided", "reason acc. all / decided",
        "our link P / R", "Splink link P / R",
    ]  # fmt: skip
    rows = []
    for name, r in results.items():
        v, ours = r["verdicts"], r["link"]
        theirs = r.get("splink", {}).get("link")
        rows.append([
            name,
            f"{v['lines']:,}",
            _pct(v["pending_share"], 2),
            f"{_pct(v['status_accuracy'])} / {_pct(v.get('status_accuracy_decided'))}"
            if v["status_accuracy"] is not None else "–",
            f"{_pct(v['reason_accuracy'])} / {_pct(v.get('reason_accuracy_decided'))}"
            if v["reason_accuracy"] is not None else "–",
            f"{_num(ours['precision'])} / {_num(ours['recall'])}",
            f"{_num(theirs['precision'])} / {_num(theirs['recall'])}" if theirs else "–",
        ])  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", action="append", help="la-2022:PROFILE, febrl1..4 or a data directory"
    )
    parser.add_argument("--scale", type=float, default=0.1, help="la-2022 scale (default 0.1)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="la-2022 seed")
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink baseline")
    parser.add_argument("--show", type=int, default=0, help="print the first N wrong lines")
    parser.add_argument("--json", type=Path, help="write every figure here too")
    parser.add_argument(
        "--work", type=Path, default=GENERATED / "accuracy", help="scratch warehouses and logs"
    )
    parser.add_argument("--truth", type=Path, help="score this truth against --warehouse")
    parser.add_argument("--warehouse", help="an already published warehouse (with --truth)")
    parser.add_argument("--data", type=Path, help="its data directory (for Splink)")
    args = parser.parse_args(argv)

    results: dict[str, dict] = {}
    if args.warehouse or args.truth:
        if not (args.warehouse and args.truth):
            parser.error("--warehouse and --truth go together")
        result = score_warehouse(args.warehouse, args.truth, args.show)
        result["data"] = str(args.data or "–")
        if args.data and not args.no_splink:
            result["splink"] = splink_on(DataSet("warehouse", args.data, args.truth))
        results[str(args.truth)] = result
        print(render(str(args.truth), result))
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        done: dict[Path, str] = {}
        for name in args.dataset or DEFAULT_DATASETS:
            data = resolve(name, args.scale, args.seed)
            label = f"{name} (scale {args.scale:g})" if name.startswith("la-2022") else name
            if data.data in done:
                # Same data under another name (a keying profile the generator lacks).
                result = dict(results[done[data.data]])
                result["notes"] = [*data.notes, f"same data as {done[data.data]}: not run again"]
            else:
                url, seconds = run_pipeline(data, args.work)
                result = score_warehouse(url, data.truth, args.show)
                result.update(
                    data=str(data.data), notes=data.notes, warehouse=url,
                    pipeline_seconds=round(seconds, 1),
                )  # fmt: skip
                if not args.no_splink:
                    result["splink"] = splink_on(data)
                done[data.data] = label
            results[label] = result
            print(render(label, result), end="\n\n", flush=True)
    print("summary (link P / R: precision / recall of each line's one voter)")
    print(render_summary(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=_plain) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
