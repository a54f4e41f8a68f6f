"""The certificate as a reader sees it: rendered by headless Chromium, checked for content."""

from __future__ import annotations

import csv
import html
import re
import subprocess
from pathlib import Path

import pytest

from recall_pipeline import settings
from recall_pipeline.audit.certificate import CHROMIUM_FLAGS, chromium_binary, link_certificates
from recall_pipeline.runner import materialize_all
from recall_pipeline.verify.report import load_determination
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import SAMPLE

PROJECT = Path(__file__).resolve().parents[1]
PETITION = "la-2022-da-recall"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory):
    if chromium_binary() is None:
        pytest.fail("Chromium is required for the certificate tests: run `make browser`")
    root = tmp_path_factory.mktemp("certificate")
    url = f"duckdb:///{root / 'w.duckdb'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.DATA_DIR_ENV, str(SAMPLE))
        patch.setenv(settings.WAREHOUSE_URL_ENV, url)
        patch.setenv(settings.REPORTS_DIR_ENV, str(root / "reports"))
        outcome = materialize_all()
    assert outcome.success, outcome.errors
    return root / "reports" / PETITION, url, root


def rendered_text(html_path: Path, profile: Path) -> str:
    """What a reader sees: the page's text after Chromium has laid it out."""
    result = subprocess.run(
        [
            chromium_binary(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", result.stdout))


def test_certificate_shows_the_determination_and_its_basis(certificate) -> None:
    folder, url, root = certificate
    text = " ".join(rendered_text(folder / "certificate.html", root / "profile").split())
    with Warehouse(url) as store:
        report = load_determination(store, PETITION)
        fingerprint = store.query("SELECT sha256 FROM run_manifest WHERE kind = 'determination'")[
            "sha256"
        ].iloc[0]
    assert "Certificate of verification" in text
    assert report["result"] in text
    assert f"Valid signatures {report['valid']:,} against {report['required']:,} required" in text
    assert f"margin {report['margin']:+,}" in text
    assert "Threshold (EC §11221)" in text and "Random sample (EC §11225" in text
    assert f"P = V − C, projected valid {report['projected_valid']:,}" in text
    for category, count in report["by_registrar_category"].items():
        assert category in text and f"{count:,}" in text
    assert fingerprint in text
    assert "The requirement under each basis" in text
    assert len(report["requirement_bases"]) == 3
    for b in report["requirement_bases"]:
        # One table row per basis: name, kind, date, source, then the figures.
        assert (
            f"{b['basis']} {b['kind']} {b['as_of']} {b['source']} {b['registered_voters']:,} "
            f"{b['threshold_percent']:g} % {b['required']:,} {b['margin']:+,} "
            f"{b['lines_to_flip']:,} {b['result']}"
        ) in text, b["basis"]
    with Warehouse(url) as store:
        status = store.read_frame("examination_status").iloc[0]
        reasons = store.read_frame("examination_reasons").set_index("reason_code")
    assert "The examination (EC §11301)" in text
    assert (
        f"{int(status['lines_to_flip']):,} of the {int(status['invalid_lines']):,} invalid lines "
        "would have to be reinstated"
    ) in text
    share = reasons.loc["NOT_REGISTERED", "share_needed_to_flip"]
    lines = int(reasons.loc["NOT_REGISTERED", "invalid_lines"])
    assert f"NOT_REGISTERED {lines:,} {share:.1%} 0 0 0" in text


def test_certificate_has_no_names_or_addresses(certificate) -> None:
    folder, _, _ = certificate
    page = (folder / "certificate.html").read_text(encoding="utf-8").upper()
    scans = sorted((SAMPLE / "petitions" / PETITION / "scans").glob("*.csv"))
    with scans[0].open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    for row in lines:
        if row["printed_name"]:
            assert row["printed_name"].upper() not in page
        if row["residence_address"] and len(row["residence_address"]) > 6:
            assert row["residence_address"].upper() not in page


def test_certificate_is_printed_to_pdf(certificate) -> None:
    folder, _, _ = certificate
    assert (folder / "certificate.pdf").read_bytes()[:5] == b"%PDF-"


def test_a_certificate_printed_without_its_pdf_is_linked_alone(tmp_path: Path) -> None:
    """A machine without Chromium publishes no PDF: its empty pdf_path, read back from the
    table as NaN or None, links nothing and fails nothing."""
    folder = tmp_path / PETITION / "publication-1"
    folder.mkdir(parents=True)
    html_path = folder / "certificate.html"
    html_path.write_text("<p>certificate</p>")
    for empty in (float("nan"), None, ""):
        link_certificates([{"html_path": str(html_path), "pdf_path": empty}])
    assert (tmp_path / PETITION / "certificate.html").read_text() == "<p>certificate</p>"
    assert not (tmp_path / PETITION / "certificate.pdf").exists()
