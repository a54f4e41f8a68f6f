"""Named jobs a county schedules or launches by hand.

A run covers one partitions definition, so verification runs in two phases, as two jobs:
`verify_lines` ingests every input and matches the lines of some scan batches (partitioned by
batch); `verify_petitions` decides the verdicts of some petitions, their determination and the
audit record (partitioned by petition). The `petition_runs` sensor starts the second phase for
the petitions of every successful `verify_lines` run, one run per petition.
"""

import dagster as dg

# Everything computed per petition from all its lines, and the audit record after it.
PETITION_PHASE = dg.AssetSelection.assets("line_verdicts").downstream()
LINES_PHASE = dg.AssetSelection.all() - PETITION_PHASE
# A new review file (an examiner's signature findings or match decisions, the proponents'
# challenges or the registrar's rulings) changes verdicts, not matches: its run loads the
# reviews and decides its petition.
REVIEW_RUN = (
    dg.AssetSelection.assets(
        "signature_reviews", "match_reviews", "challenges", "challenge_rulings"
    )
    | PETITION_PHASE
)

verify_lines = dg.define_asset_job(
    "verify_lines",
    selection=LINES_PHASE,
    description="Ingest every input and match the lines of some scan batches (or all).",
)
verify_petitions = dg.define_asset_job(
    "verify_petitions",
    selection=REVIEW_RUN,
    description="Decide the verdicts and the determination of some petitions (or all), and "
    "record the run manifest and certificates.",
)
