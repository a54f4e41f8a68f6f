"""Audit: the run manifest that makes every determination reproducible and checkable, and a
certificate per petition."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recall_pipeline.audit.certificate import (
    CERTIFICATES,
    certificate_html,
    chromium_binary,
    print_pdf,
)
from recall_pipeline.audit.manifest import RUN_MANIFEST, build_manifest
from recall_pipeline.services.io import Log, publish_petitions
from recall_pipeline.verify.report import petition_ids
from recall_pipeline.versions import stage_version
from recall_pipeline.warehouse import Warehouse

# A hash of the code that writes the manifest and the certificates (`versions`).
AUDIT_CODE_VERSION = stage_version("audit")
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManifestOutcome:
    """The rows a run added to run_manifest, and what they say."""

    manifest_rows: int
    # Per petition, the SHA-256 over its sorted verdicts.
    determination_fingerprint: dict[str, str]
    input_files: int
    # Each stage's code version and the package's identity, as recorded.
    code: dict[str, str]


@dataclass(frozen=True)
class CertificatesOutcome:
    """The certificates a run wrote for its petitions."""

    certificate_rows: int
    # Per petition, the certificate's HTML file.
    certificates: dict[str, str]
    pdf: bool


def record_run_manifest(
    store: Warehouse,
    run_id: str,
    code_versions: Mapping[str, str],
    reason: str,
    recorded_at: dt.datetime | None = None,
) -> ManifestOutcome:
    """Publish the run's rows of run_manifest (replacing any it wrote before): its inputs, the
    stages' `code_versions`, why it ran, and each petition's determination fingerprint."""
    manifest = build_manifest(
        store,
        run_id,
        dict(code_versions),
        recorded_at or dt.datetime.now(dt.UTC),
        reason=reason,
    )
    store.publish(RUN_MANIFEST, manifest, replace_where={"run_id": run_id})
    determinations = manifest[manifest["kind"] == "determination"]
    code = manifest[manifest["kind"] == "code"].set_index("item")["detail"]
    return ManifestOutcome(
        manifest_rows=len(manifest),
        determination_fingerprint=dict(
            zip(determinations["item"], determinations["sha256"], strict=True)
        ),
        input_files=int((manifest["kind"] == "input_file").sum()),
        code={item: detail for item, detail in code.items()},
    )


def write_certificates(
    store: Warehouse,
    scope: list[str],
    every: bool,
    out_dir: Path,
    publication: str,
    *,
    log: Log = _LOG,
) -> CertificatesOutcome:
    """Write the certificate of each petition in `scope` (HTML, and PDF when Chromium is
    installed) under `out_dir/<petition>/<publication>/` and publish the certificates table."""
    chromium = chromium_binary()
    rows = []
    for petition_id in [p for p in petition_ids(store) if p in scope]:
        page = certificate_html(store, petition_id)
        # Under the publication: the petition's certificate.html links to it once the
        # publication commits (see `publication`).
        folder = out_dir / petition_id / publication
        folder.mkdir(parents=True, exist_ok=True)
        html_path = folder / "certificate.html"
        html_path.write_text(page, encoding="utf-8")
        pdf_path = None
        if chromium:
            pdf_path = folder / "certificate.pdf"
            print_pdf(html_path, pdf_path, chromium)
        else:
            log.info("no Chromium found: the certificate is HTML only")
        rows.append(
            {
                "petition_id": petition_id,
                "html_path": str(html_path),
                "html_sha256": hashlib.sha256(page.encode()).hexdigest(),
                "pdf_path": str(pdf_path) if pdf_path else None,
                "html": page,
            }
        )
    table = pd.DataFrame(rows, columns=CERTIFICATES.column_names)
    publish_petitions(store, CERTIFICATES, table, scope, every)
    return CertificatesOutcome(
        certificate_rows=len(table),
        certificates={r["petition_id"]: r["html_path"] for r in rows},
        pdf=bool(chromium),
    )
