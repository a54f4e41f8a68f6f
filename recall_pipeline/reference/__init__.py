"""Reference tables shipped with the package (reason codes, USPS abbreviations, nicknames...).

They are data, not code, so the scenario generator and the verifier read the very same files:
a code or an abbreviation is declared once and both sides agree on it by construction.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parent


def reference_path(name: str) -> Path:
    """Path of a reference CSV by file name (``"reason_codes.csv"``)."""
    path = REFERENCE_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no reference table {name!r} in {REFERENCE_DIR}")
    return path


def read_reference(name: str) -> pd.DataFrame:
    """A reference CSV as strings, empty cells as empty strings."""
    return pd.read_csv(reference_path(name), dtype=str, keep_default_na=False)
