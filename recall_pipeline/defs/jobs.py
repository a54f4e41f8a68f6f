"""Named jobs a county schedules or launches by hand."""

import dagster as dg

# Every asset and check: a full verification of every petition and batch (with a partition
# range) or of some batches (with one partition), as the schedule and the sensor launch.
verify_all = dg.define_asset_job(
    "verify_all",
    selection=dg.AssetSelection.all(),
    description="Ingest, match, verify and determine every petition.",
)
