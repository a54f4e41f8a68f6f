"""Dagster definitions, one folder per stage of the flow; loaded by `definitions.py`."""
