"""The audit trail: run manifests and fingerprints, tracing counts to lines, explaining a line."""
