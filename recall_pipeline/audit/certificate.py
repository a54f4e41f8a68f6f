"""The certificate: the determination, its legal basis and its arithmetic, as a reader sees it.

A self-contained HTML page per petition (no scripts, no external assets; the chart is inline
SVG) built only from published tables: the determination and its result, the threshold
computation (EC §11221), the random-sample arithmetic step by step when a sample was drawn
(EC §11225, 2 CCR §§20530–20532), the requirement under each basis (requirement_bases), the
invalid lines per reason and per registrar category, and
the run manifest's input hashes, code identity and determination fingerprint. It carries
counts, file names and hashes — never a voter's name or address.

A PDF is printed from the same HTML with headless Chromium when a Chromium binary is present.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from recall_pipeline.tables import PETITION_ID, Column, TableSchema
from recall_pipeline.verify.examination import share_to_flip_text
from recall_pipeline.verify.reasons import reason_codes
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse

# The certificates published: declared here, beside what writes them (the service that prints
# them is recall_pipeline.services.audit.write_certificates).
CERTIFICATES = TableSchema(
    name="determination_certificates",
    description="Each petition's certificate: where it was written and the hash of its HTML. "
    "One row per petition.",
    columns=(
        PETITION_ID,
        Column("html_path", "string", False, "where the HTML certificate was written"),
        Column("html_sha256", "string", False, "SHA-256 of the HTML"),
        Column("pdf_path", "string", True, "empty when no Chromium was available to print it"),
        Column("html", "string", False, "the certificate itself"),
    ),
    primary_key=("petition_id",),
)

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_binary() -> str | None:
    configured = os.environ.get("RECALL_CHROMIUM")
    if configured:
        return configured
    return next((found for name in CHROMIUM_CANDIDATES if (found := shutil.which(name))), None)


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _n(value) -> str:
    return "" if value is None else f"{int(value):,}"


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(cell)}</td>' if i in numeric else f"<td>{_e(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar_chart(counts: dict[str, int]) -> str:
    """Horizontal bars, one per category, as inline SVG."""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    top = max((v for _, v in items), default=0) or 1
    row, label_width, bar_width = 26, 300, 360
    bars = []
    for i, (label, value) in enumerate(items):
        y = i * row
        width = round(bar_width * value / top)
        bars.append(
            f'<text x="0" y="{y + 17}">{_e(label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{width}" height="18" fill="#4a6fa5"/>'
            f'<text x="{label_width + width + 6}" y="{y + 17}">{_n(value)}</text>'
        )
    height = row * len(items)
    return (
        f'<svg role="img" aria-label="Invalid lines by registrar category" width="760" '
        f'height="{height}" font-size="13" font-family="sans-serif">{"".join(bars)}</svg>'
    )


def certificate_html(store: Warehouse, petition_id: str) -> str:
    report = load_determination(store, petition_id)
    petition = store.query(
        "SELECT * FROM petitions WHERE petition_id = :pid", {"pid": petition_id}
    ).iloc[0]
    manifest = _latest_manifest(store)
    sampled = bool(report.get("sample_size"))
    percent = report["threshold_percent"]

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Certificate of verification — {_e(petition_id)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:.25em .6em;overflow-wrap:anywhere}"
        "td.num{text-align:right}"
        ".result{font-size:1.6em;font-weight:bold}code{font-size:.85em;word-break:break-all}"
        "</style></head><body>",
        f"<h1>Certificate of verification</h1><p>Petition <b>{_e(petition_id)}</b> "
        f"({_e(petition['kind'])}, target: {_e(petition['target'])}, jurisdiction "
        f"{_e(petition['jurisdiction_code'])}); approved for circulation "
        f"{_e(petition['approved_for_circulation'])}, filed {_e(petition['filed_date'])}.</p>",
        f"<p class='result' id='result'>{_e(report['result'])}</p>",
        f"<p>Verification method: <b>{_e(report['method'])}</b>. Valid signatures "
        f"<b id='valid'>{_n(report['valid'])}</b> against <b id='required'>"
        f"{_n(report['required'])}</b> required: margin <b id='margin'>"
        f"{report['margin']:+,}</b>.</p>",
        "<h2>Determination</h2>",
        _table(
            ["figure", "value"],
            [
                ["raw count (lines filed, EC §11222)", _n(report["raw_count"])],
                ["valid", _n(report["valid"])],
                ["invalid", _n(report["invalid"])],
                ["pending", _n(report["pending"])],
                *(
                    [
                        [
                            "lines filed, awaiting a corrected input file",
                            _n(report["lines_to_correct"]),
                        ]
                    ]
                    if report.get("lines_to_correct")
                    else []
                ),
                ["required", _n(report["required"])],
                ["margin", f"{report['margin']:+,}"],
            ],
            numeric={1},
        ),
        "<h2>Threshold (EC §11221)</h2>",
        f"<p>Registered voters in the jurisdiction at the last report of registration before "
        f"approval ({_e(petition['basis_report_date'])}): "
        f"<b>{_n(report['registered_voters_basis'])}</b>. Percentage: <b>{percent:g}&nbsp;%</b>"
        + (
            " (set by the petition)"
            if pd.notna(petition["threshold_percent"])
            else " (the EC §11221 table by size of jurisdiction)"
        )
        + f". Required = ceil({_n(report['registered_voters_basis'])} × {percent:g} / 100) = "
        f"<b>{_n(report['required'])}</b>. Full count rule (EC §11224): sufficient when valid "
        f"is {'greater than' if report['sufficient_when'] == 'greater_than' else 'at least'} "
        "the requirement.</p>",
    ]
    if sampled:
        parts += [
            "<h2>Random sample (EC §11225; 2 CCR §§20530–20532)</h2>",
            _table(
                ["step", "value"],
                [
                    ["N, raw count", _n(report["raw_count"])],
                    ["n, sample size: max(500, 5 % of N)", _n(report["sample_size"])],
                    ["seed of the PCG64 draw over lines sorted by key", report["sample_seed"]],
                    ["s, valid lines in the sample", _n(report["sample_valid"])],
                    ["d, duplicates found inside the sample", _n(report["sample_duplicates"])],
                    ["r = s / n (4 decimals)", f"{report['sample_validity_rate']:.4f}"],
                    ["V = ceil(N × r)", _n(report["projected_uncorrected"])],
                    ["A = N / n (4 decimals)", f"{report['sample_line_value']:.4f}"],
                    ["B = A × (A − 1)", f"{report['sample_duplicate_weight']:.4f}"],
                    ["C = ceil(B × d)", _n(report["projected_duplicates"])],
                    ["P = V − C, projected valid", _n(report["projected_valid"])],
                    [
                        "P as a share of the requirement",
                        f"{report['projected_percent_of_required']} %",
                    ],
                    ["sample result", report["sample_result"]],
                ],
                numeric={1},
            ),
            f"<p>More than {_n(report['sample_upper_cutoff'])} valid lines in the sample "
            f"qualifies the petition; fewer than {_n(report['sample_lower_cutoff'])} fails it; "
            "in between, every line is examined.</p>",
        ]
    parts += _bases_section(report.get("requirement_bases") or [])
    parts += _examination_section(store, petition_id)
    precedence = {c.code: c for c in reason_codes()}
    parts += [
        "<h2>Invalid lines by reason (primary reason, in order of precedence)</h2>",
        _table(
            ["#", "reason", "registrar category", "lines"],
            [
                [precedence[code].precedence, code, precedence[code].registrar_category, _n(n)]
                for code, n in report["by_reason"].items()
            ],
            numeric={0, 3},
        ),
        "<h2>Invalid lines by registrar category</h2>",
        _bar_chart(report["by_registrar_category"]),
        "<h2>Reproducibility</h2>",
    ]
    if manifest is not None:
        fingerprint = manifest[
            (manifest["kind"] == "determination") & (manifest["item"] == petition_id)
        ]["sha256"]
        code = {
            r.item: json.loads(r.detail)["version"]
            for r in manifest[manifest["kind"] == "code"].itertuples()
        }
        files = manifest[manifest["kind"] == "input_file"]
        parts += [
            f"<p>Run <code>{_e(manifest['run_id'].iloc[0])}</code>. Determination fingerprint "
            f"(SHA-256 over the sorted line verdicts): <code id='fingerprint'>"
            f"{_e(fingerprint.iloc[0] if len(fingerprint) else '')}</code>.</p>",
            _table(["component", "version"], [[k, v] for k, v in code.items()]),
            f"<p>Settings hash: <code>{_e(petition['settings_sha256'])}</code>.</p>",
            _table(
                ["input file", "SHA-256", "rows read", "accepted", "quarantined"],
                [
                    [f.item, f.sha256, _n(f.rows_read), _n(f.rows_accepted), _n(f.rows_quarantined)]
                    for f in files.itertuples()
                ],
                numeric={2, 3, 4},
            ),
        ]
    parts.append("</body></html>")
    return "".join(parts)


def _bases_section(bases: list[dict]) -> list[str]:
    """The requirement under each basis (requirement_bases): the official one and those the
    petition's readers argue from, each with its source."""
    if not bases:
        return []
    return [
        "<h2 id='bases'>The requirement under each basis</h2>",
        "<p>The determination above uses the official basis. Which count of registered voters "
        "is the basis can be disputed (EC §2226(a)(2) leaves voters on the inactive file out), "
        "so the requirement is also shown under the other counts, each with its source. Each "
        f"result applies the full-count rule (EC §11224) to the {_n(bases[0]['valid'])} valid "
        "lines.</p>",
        _table(
            [
                "basis",
                "kind",
                "as of",
                "source",
                "registered voters",
                "percent",
                "required",
                "margin",
                "lines to flip",
                "result",
            ],
            [
                [
                    b["basis"],
                    b["kind"],
                    b["as_of"] or "",
                    b["source"],
                    _n(b["registered_voters"]),
                    f"{b['threshold_percent']:g} %",
                    _n(b["required"]),
                    f"{b['margin']:+,}",
                    _n(b["lines_to_flip"]),
                    b["result"],
                ]
                for b in bases
            ],
            numeric={4, 5, 6, 7, 8},
        ),
    ]


def _examination_section(store: Warehouse, petition_id: str) -> list[str]:
    """The examination's standing as the run published it (examination_status/_reasons):
    what would change the result, and the challenges ruled so far by reason and outcome."""
    if not store.table_exists("examination_status"):
        return []
    where = {"petition_id": petition_id}
    status = store.read_frame("examination_status", where=where)
    if status.empty:
        return []
    s = status.iloc[0]
    if pd.isna(s["lines_to_flip"]):
        flip = "The result was decided by the random sample: no count of lines changes it."
    elif s["flip_direction"] == "reinstate":
        flip = (
            f"{_n(int(s['lines_to_flip']))} of the {_n(int(s['invalid_lines']))} invalid lines "
            "would have to be reinstated to change the result."
        )
    else:
        flip = f"{_n(int(s['lines_to_flip']))} valid lines would have to be found invalid."
    reasons = store.read_frame("examination_reasons", where=where).sort_values("reason_code")

    def rate(r) -> str:
        if pd.isna(r["acceptance_rate"]):
            return ""
        low, high = r["acceptance_low"], r["acceptance_high"]
        return f"{r['acceptance_rate']:.1%} ({low:.1%}–{high:.1%})"

    before = ""
    if not pd.isna(s["result_at_finding"]) and s["valid_at_finding"] != s["valid"]:
        before = (
            f"<p>At the finding: {_n(int(s['valid_at_finding']))} valid, margin "
            f"{int(s['valid_at_finding']) - int(s['required']):+,}, {_e(s['result_at_finding'])}. "
            f"After the rulings: {_n(int(s['valid']))} valid, margin "
            f"{int(s['valid']) - int(s['required']):+,}, {_e(s['result'])}.</p>"
        )
    clock = ""
    if not pd.isna(s["examination_started"]):
        clock = (
            f"<p>The examination started {_e(s['examination_started'])} and ends "
            f"{_e(s['examination_ends'])} (60 days).</p>"
        )
    return [
        "<h2 id='examination'>The examination (EC §11301)</h2>",
        f"<p>As of {_e(s['as_of'])}: {flip} Challenges filed: {_n(int(s['challenged_lines']))}; "
        f"ruled: {_n(int(s['ruled']))} ({_n(int(s['accepted']))} accepted, "
        f"{_n(int(s['rejected']))} rejected); open: {_n(int(s['open_challenges']))}.</p>",
        before,
        clock,
        _table(
            ["reason", "lines", "share to flip", "challenged", "accepted", "rejected", "rate"],
            [
                [
                    r["reason_code"],
                    _n(int(r["invalid_lines"])),
                    share_to_flip_text(r["share_needed_to_flip"]),
                    _n(int(r["challenged_lines"])),
                    _n(int(r["accepted"])),
                    _n(int(r["rejected"])),
                    rate(r),
                ]
                for _, r in reasons.iterrows()
            ],
            numeric={1, 2, 3, 4, 5},
        ),
    ]


def _latest_manifest(store: Warehouse) -> pd.DataFrame | None:
    if not store.table_exists("run_manifest"):
        return None
    latest = store.query(
        "SELECT run_id FROM run_manifest ORDER BY recorded_at DESC, run_id LIMIT 1"
    )
    if latest.empty:
        return None
    return store.query(
        "SELECT * FROM run_manifest WHERE run_id = :r ORDER BY kind, item",
        {"r": latest["run_id"].iloc[0]},
    )


def print_pdf(html_path: Path, pdf_path: Path, chromium: str) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf_path}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def link_certificates(rows: list[dict]) -> None:
    """Point each petition's ``certificate.html`` (and ``.pdf``) at the certificate of the
    publication just committed, which sits in a folder named after it (``html_path``).

    Each link is replaced in one step (a new link renamed over the old), so a reader opening
    it gets one certificate or the other, never half of one."""
    for row in rows:
        for key in ("html_path", "pdf_path"):
            value = row.get(key)
            # Read back from the table, an empty path is None or NaN (a float, which is true):
            # no PDF when no Chromium printed one.
            if not isinstance(value, str) or not value:
                continue
            target = Path(value)
            link = target.parent.parent / target.name
            fresh = link.with_name(f".{link.name}.{os.getpid()}")
            fresh.unlink(missing_ok=True)
            fresh.symlink_to(Path(target.parent.name) / target.name)
            os.replace(fresh, link)


def prune_certificates(reports_dir: Path, gone: set[str]) -> None:
    """Delete the certificate folders of publications no longer kept."""
    if not reports_dir.is_dir():
        return
    for petition in reports_dir.iterdir():
        for name in gone:
            folder = petition / name
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder)
