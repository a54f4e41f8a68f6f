"""Turning warehouse values (numpy scalars, NaN, NaT, dates) into plain JSON-able values."""

from __future__ import annotations

import math

import pandas as pd


def plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if value is None or value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
