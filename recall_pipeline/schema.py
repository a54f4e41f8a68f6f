"""Every table the pipeline publishes, found once.

Each table is declared as a `TableSchema` beside the code that builds it; `published_tables`
gathers them, in the order the pipeline publishes them, so that what is derived from the
declarations is derived from all of them. No Dagster here: the declarations are read without
loading the definitions.
"""

from __future__ import annotations

from recall_pipeline.tables import TableSchema


def published_tables() -> list[TableSchema]:
    """Every table the pipeline publishes, in the order of the flow: the inputs as accepted,
    the ingestion ledger, matching and its kept roll keys, the verdicts, the determination,
    the audit record and the operations log."""
    from recall_pipeline.audit.certificate import CERTIFICATES
    from recall_pipeline.audit.manifest import RUN_MANIFEST, VERDICT_FINGERPRINTS
    from recall_pipeline.contract import INPUTS
    from recall_pipeline.ingest.pipeline import (
        EXPECTATION_RESULTS,
        INGESTED_FILES,
        NULLED_VALUES,
        PETITIONS,
        QUARANTINED_ROWS,
    )
    from recall_pipeline.operations.failures import RUN_FAILURES
    from recall_pipeline.verify import schemas as v
    from recall_pipeline.verify.incremental import VERDICT_INPUTS

    tables = [
        PETITIONS,
        *(spec.table_schema() for spec in INPUTS),
        QUARANTINED_ROWS,
        NULLED_VALUES,
        INGESTED_FILES,
        EXPECTATION_RESULTS,
        v.LINE_MATCHES,
        v.MATCH_CANDIDATES,
        v.MATCH_MODELS,
        v.ROLL_MATCH_KEYS,
        v.HISTORY_MATCH_KEYS,
        v.ROLL_STATISTICS,
        v.ROLL_NAME_SHARES,
        v.MATCH_KEY_VERSIONS,
        v.LINE_VERDICTS,
        *v.INVALID_TABLES.values(),
        v.REASON_SUMMARY,
        v.REGISTRAR_SUMMARY,
        VERDICT_FINGERPRINTS,
        VERDICT_INPUTS,
        v.SUFFICIENCY_DETERMINATION,
        v.SAMPLE_LINES,
        RUN_MANIFEST,
        CERTIFICATES,
        RUN_FAILURES,
    ]
    names = [t.name for t in tables]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"tables declared twice: {repeated}")
    return tables


def published_table(name: str) -> TableSchema:
    """The declaration of the published table `name`."""
    for table in published_tables():
        if table.name == name:
            return table
    raise KeyError(f"no published table {name!r}")
