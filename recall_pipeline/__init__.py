"""recall_pipeline."""
