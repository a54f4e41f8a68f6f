"""Column operations pandas does slowly on Arrow-backed strings, done by Arrow instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def strings(values) -> pa.Array | pa.ChunkedArray:
    """A column (pandas, numpy or Arrow) as Arrow strings, missing kept missing."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    return pa.array(values, type=pa.string(), from_pandas=True)


def isin(values: pd.Series, allowed) -> np.ndarray:
    """Whether each value is in `allowed`, as a numpy bool array (missing → False).

    pandas' isin on Arrow strings turns the value set into Python objects one by one, which
    costs tens of seconds when the set is a roll of millions; Arrow builds a hash set in C++.
    """
    found = pc.is_in(strings(values), value_set=strings(allowed))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)
