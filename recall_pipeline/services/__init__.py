"""Each stage's work as a plain function over a `Warehouse`: what it reads, decides and
publishes, and a frozen outcome of what its Dagster assets report (`recall_pipeline.defs`).
Nothing here imports Dagster, so a stage runs and is tested without it."""
