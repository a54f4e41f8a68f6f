"""Who belongs to a petition's jurisdiction: a county, or a city or district inside one.

The roll lists every voter under the county of registration, while a petition may be filed in
the county itself or in a jurisdiction inside it (data-contract.md, "Jurisdictions"). The
contract decides membership by ZIP: a voter belongs to the petition's jurisdiction when the
roll row carries its code, or when the five-digit ZIP of the registered residence is listed
for it in `jurisdiction_zips`; a line's written address is inside it by the same list. So one
county roll serves every petition inside the county.

The ZIP list is the contract's map of the area: a ZIP the boundary cuts brings in all its
voters, so a county lists only the ZIPs wholly inside a city (and decides the rest by hand).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recall_pipeline.verify.frames import flags, isin, strings


def zips_by_code(jurisdiction_zips: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Each jurisdiction's ZIP codes, from the rows of the `jurisdiction_zips` table."""
    grouped = jurisdiction_zips.groupby("jurisdiction_code")["zip5"]
    return {str(code): frozenset(zips.dropna().astype(str)) for code, zips in grouped}


def zip5(values) -> pa.Array | pa.ChunkedArray:
    """The five-digit ZIP of each value: the contract's ZIPs are five digits or ZIP+4, with or
    without the hyphen, so the first five characters (missing kept missing)."""
    return pc.utf8_slice_codeunits(strings(values), 0, 5)


def memberships(
    roll: pd.DataFrame, jurisdictions: Mapping[str, Collection[str]]
) -> dict[str, np.ndarray]:
    """For each jurisdiction code (mapped to its ZIPs), which roll rows belong to it."""
    residence_zips = None
    found = {}
    for code, zips in jurisdictions.items():
        here = (roll["jurisdiction_code"] == code).to_numpy(dtype=bool)
        # A county's own roll needs no ZIPs; a roll of several counties, or a city inside one,
        # cuts the residences' ZIPs once for every code.
        if zips and not here.all():
            if residence_zips is None:
                residence_zips = zip5(roll["zip"])
            listed = pc.is_in(residence_zips, value_set=pa.array(sorted(zips), pa.string()))
            here = here | flags(pc.fill_null(listed, False)).astype(bool, copy=False)
        found[code] = here
    return found


def select(
    roll: pd.DataFrame, history: pd.DataFrame, members: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The roll rows `members` marks, and the address history of those voters."""
    if members.all():  # a county's own roll: nothing to filter
        return roll, history
    roll = roll[members]
    return roll, history[isin(history["voter_id"], roll["voter_id"])]


def in_jurisdiction(
    roll: pd.DataFrame, history: pd.DataFrame, code: str, zips: Collection[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The roll rows of voters who belong to `code` (whose ZIPs are `zips`), and their
    address history."""
    return select(roll, history, memberships(roll, {code: zips})[code])


def written_outside(has_address, written_zip5: pd.Series, zips: Collection[str]) -> np.ndarray:
    """Whether each line's written address lies outside the jurisdiction of `zips`: a line
    with an address and a ZIP that is not listed (one without either is judged by the other
    rules)."""
    written = written_zip5.fillna("").astype(str)
    return (
        np.asarray(has_address, dtype=bool)
        & (written != "").to_numpy()
        & ~written.isin(list(zips)).to_numpy()
    )
