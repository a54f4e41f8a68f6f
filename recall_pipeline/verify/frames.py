"""Column operations pandas does slowly on Arrow-backed strings, done by Arrow instead."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# What `key_hashes` computes with: part of the version of anything built from its hashes.
KEY_HASH_FUNCTION = f"duckdb-{duckdb.__version__}-hash"


def strings(values) -> pa.Array | pa.ChunkedArray:
    """A column (pandas, numpy or Arrow) as Arrow strings, missing kept missing."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    return pa.array(values, type=pa.string(), from_pandas=True)


def dictionary(values) -> pa.DictionaryArray:
    """The column (pandas, numpy or Arrow) dictionary-encoded by Arrow, missing values as one
    more entry; a pandas column is encoded as it is held, without a copy to another layout."""
    text = pa.array(values, from_pandas=True) if isinstance(values, pd.Series) else strings(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text.dictionary_encode(null_encoding="encode")


def codes(values) -> tuple[np.ndarray, int]:
    """Each value's position among the column's distinct values, and how many there are."""
    encoded = dictionary(values)
    return encoded.indices.to_numpy().astype(np.int64), len(encoded.dictionary)


def labels(names, positions: np.ndarray, index: pd.Index) -> pd.Series:
    """A text column holding `names[position]` per row.

    Taken from a few Arrow strings: a numpy array of labels reaches pandas' string layout one
    Python object at a time, under the GIL, which costs seconds over millions of rows.
    """
    return pd.Series(pa.array(list(names), pa.string()).take(positions), index=index, dtype="str")


def in_step(left: pd.DataFrame, right: pd.DataFrame, columns: list[str]) -> bool:
    """Whether two frames hold the same values of `columns` row by row, and as many rows (a
    missing value equals nothing). Compared by Arrow: numpy would compare each text key as a
    Python object."""
    return len(left) == len(right) and all(
        pc.all(pc.fill_null(pc.equal(pa.array(left[c]), pa.array(right[c])), False)).as_py()
        for c in columns
    )


def flags(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean result as a numpy array."""
    return values.to_numpy(zero_copy_only=False)


def key_hashes(values) -> np.ndarray:
    """A 64-bit hash of each text value (pandas, numpy or Arrow), as a signed integer
    (PostgreSQL has no unsigned one): joins and lookups on one integer instead of on text.

    Equal text always gets an equal hash, but distinct text may too, so whatever joins on hashes
    compares the text of what it found. DuckDB's hash function, run in memory whatever the
    warehouse: vectorized, and the same for a value however it is held (`KEY_HASH_FUNCTION`).
    """
    with duckdb.connect() as con:
        con.register("keys", pa.table({"key": strings(values)}))
        hashed = con.execute("SELECT hash(key) AS h FROM keys").to_arrow_table()
    return hashed.column("h").to_numpy().view(np.int64)


def isin(values: pd.Series, allowed) -> np.ndarray:
    """Whether each value is in `allowed`, as a numpy bool array (missing → False).

    pandas' isin on Arrow strings turns the value set into Python objects one by one, which
    costs tens of seconds when the set is a roll of millions; Arrow builds a hash set in C++.
    """
    if pd.api.types.is_integer_dtype(values):
        # pandas' own hash table beats Arrow's on plain integers (0.15 s against 0.48 s for a
        # roll's 5.9 million hashes).
        return pd.Series(np.asarray(values)).isin(np.asarray(allowed)).to_numpy()
    found = pc.is_in(strings(values), value_set=strings(allowed))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)
