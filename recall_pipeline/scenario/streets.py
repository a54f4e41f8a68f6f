"""Dwellings (house number + street + ZIP) and the ways an address gets written.

Every dwelling is unique on (house number without fraction, pre-direction, street name, type,
post-direction, ZIP5): that key is what the verifier compares, so the unit and the "1/2" are
attributes of a dwelling, never part of its identity. Street-name words are filtered against
every USPS suffix, directional and unit word, so a normalizer can parse an address from its
ends without ambiguity. Address writing (abbreviated or full words, dots, case, unit forms,
ZIP+4) is vectorized over whole columns with random masks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recall_pipeline.reference import read_reference

_STREET_WORDS = """
MAIN OAK ELM MAPLE CEDAR WALNUT CHESTNUT SYCAMORE MAGNOLIA JACARANDA ACACIA EUCALYPTUS CYPRESS
WILLOW BIRCH ASPEN LAUREL MYRTLE ORANGE LEMON LIME OLIVE PEPPER ROSE LILAC VIOLET IRIS
JASMINE ORCHID POPPY DAISY TULIP SUNSET WILSHIRE SANTA MONICA PICO OLYMPIC VENICE WASHINGTON
ADAMS JEFFERSON MADISON MONROE JACKSON LINCOLN GRANT GARFIELD HARRISON CLEVELAND MCKINLEY
ROOSEVELT WILSON HOOVER TRUMAN FIGUEROA FLOWER HOPE GRAND OLIVE HILL SPRING BROADWAY ALAMEDA
CENTRAL AVALON WESTERN NORMANDIE VERMONT HOBART SERRANO KINGSLEY HARVARD CAMBRIDGE OXFORD
YALE PRINCETON COLUMBIA CORNELL STANFORD BERKELEY LA BREA FAIRFAX CRESCENT HEIGHTS HIGHLAND
CAHUENGA VINE GOWER BRONSON VAN NESS ARDEN LUCERNE RIMPAU CRENSHAW ARLINGTON BUCKINGHAM
MANSFIELD TAFT COLE ORCHID SAN VICENTE SAN PEDRO SAN FERNANDO SAN GABRIEL SAN DIEGO SAN JUAN
SANTA ROSA SANTA ANITA SANTA FE SANTA BARBARA EL CAMINO EL CENTRO EL SERENO LA CIENEGA
LA TIJERA LOS FELIZ SEPULVEDA VENTURA RESEDA TAMPA WOODMAN LAUREL CANYON COLDWATER BEVERLY
GLEN TOPANGA WINNETKA DE SOTO MASON CORBIN TAMPA LINDLEY BALBOA HAYVENHURST WHITE OAK
ZELZAH LASSEN PLUMMER NORDHOFF PARTHENIA ROSCOE SATICOY SHERMAN VICTORY VANOWEN OXNARD
BURBANK CHANDLER MAGNOLIA RIVERSIDE MOORPARK VALLEYHEART DICKENS HUSTON ADDISON OTSEGO
KESTER COLFAX TUJUNGA VINELAND LANKERSHIM CAHUENGA ARMINTA KITTRIDGE HART DELANO KESWICK
VALERIO COHASSET LEMAY STRATHERN SUNLAND FOOTHILL GLENOAKS HANSEN OSBORNE FILMORE HUBBARD
MACLAY POLK PIERCE TYLER FILLMORE BUCHANAN ARTESIA ROSECRANS ALONDRA COMPTON IMPERIAL
CENTURY MANCHESTER FLORENCE SLAUSON GAGE VERNON JEFFERSON EXPOSITION ADAMS MARTIN LUTHER
KING HOLLYWOOD FRANKLIN FOUNTAIN MELROSE BEVERLY ROSEWOOD ROMAINE WILLOUGHBY WARING
ELEANOR LEXINGTON FOUNTAIN HAVENHURST HARPER GARDNER SIERRA BONITA CURSON SPAULDING
STANLEY ORANGE GROVE GENESEE OGDEN POINSETTIA DETROIT CLOVERDALE MEADOWBROOK EDGEMONT
MARIPOSA ALEXANDRIA NEW HAMPSHIRE CATALINA KENMORE BERENDO WESTMORELAND ELDEN ATLANTIC
GARFIELD GREENWOOD PAIGE EASTERN SOTO EVERGREEN MOTT CHICAGO BREED CUMMINGS BOYLE MISSION
MARENGO LORENA GAGE ALCAZAR DALY PASADENA FIGUEROA MONTE VISTA YORK COLORADO EAGLE ROCK
"""

_ORDINAL_LIMIT = 130


def _ordinal(n: int) -> str:
    suffix = "TH" if 10 <= n % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")
    return f"{n}{suffix}"


def street_names() -> np.ndarray:
    """Street names whose words are never a suffix, directional or unit word."""
    reserved = set(read_reference("street_suffixes.csv")["written"])
    reserved |= set(read_reference("directionals.csv")["written"])
    reserved |= set(read_reference("unit_designators.csv")["written"])
    words = _STREET_WORDS.split()
    # Pair some words into two-word names (LA BREA, SAN VICENTE ...), as real streets are.
    pairs = [f"{a} {b}" for a, b in zip(words[::2], words[1::2], strict=False)]
    candidates = words + pairs[::3] + [_ordinal(n) for n in range(1, _ORDINAL_LIMIT)]
    out = []
    for name in dict.fromkeys(candidates):
        if not any(tok in reserved for tok in name.split()):
            out.append(name)
    return np.array(out)


STREET_TYPES = np.array(["ST", "AVE", "BLVD", "DR", "PL", "WAY", "CT", "LN", "RD", "TER", "CIR"])
_TYPE_P = np.array([0.33, 0.27, 0.06, 0.1, 0.06, 0.04, 0.04, 0.04, 0.03, 0.02, 0.01])
PREDIRS = np.array(["N", "S", "E", "W"])
POSTDIRS = np.array(["N", "S", "E", "W"])
UNIT_TYPES = np.array(["APT", "UNIT", "#", "SPC", "STE"])
_UNIT_P = np.array([0.72, 0.15, 0.07, 0.04, 0.02])


def make_dwellings(rng: np.random.Generator, zips: np.ndarray, n: int) -> pd.DataFrame:
    """`n` distinct dwellings spread over `zips`, in random order."""
    names = street_names()
    per_street = 60
    n_streets = int(np.ceil(n * 1.6 / per_street)) + len(zips)
    streets = pd.DataFrame(
        {
            "zip5": zips[rng.integers(0, len(zips), n_streets)],
            "street_predir": np.where(
                rng.random(n_streets) < 0.35, PREDIRS[rng.integers(0, 4, n_streets)], ""
            ),
            "street_name": names[rng.integers(0, len(names), n_streets)],
            "street_type": STREET_TYPES[rng.choice(len(STREET_TYPES), n_streets, p=_TYPE_P)],
        }
    )
    streets["street_postdir"] = np.where(
        (rng.random(n_streets) < 0.03) & (streets["street_predir"] == ""),
        POSTDIRS[rng.integers(0, 4, n_streets)],
        "",
    )
    streets = streets.drop_duplicates(
        ["zip5", "street_predir", "street_name", "street_type", "street_postdir"]
    ).reset_index(drop=True)
    if len(streets) * per_street < n:
        raise RuntimeError("not enough streets for the dwellings asked for")
    start = rng.integers(1, 120, len(streets)) * 100 + rng.integers(0, 2, len(streets))
    step = rng.choice(np.array([2, 2, 4, 6, 10]), len(streets))
    slot = rng.choice(len(streets) * per_street, size=n, replace=False)
    street = slot // per_street
    house = start[street] + step[street] * (slot % per_street)
    out = streets.iloc[street].reset_index(drop=True)
    out.insert(0, "house_number", house.astype(np.int64))
    out["fraction"] = np.where(rng.random(n) < 0.015, "1/2", "")
    apt = rng.random(n) < 0.3
    out["unit_type"] = np.where(apt, UNIT_TYPES[rng.choice(len(UNIT_TYPES), n, p=_UNIT_P)], "")
    letters = np.array(list("ABCD"))
    unit_no = np.where(
        rng.random(n) < 0.85,
        rng.integers(1, 400, n).astype(str),
        letters[rng.integers(0, 4, n)],
    )
    out["unit_number"] = np.where(apt, unit_no, "")
    return out


class AddressWriter:
    """Renders standard address parts the way a county file or a signer writes them."""

    def __init__(self) -> None:
        suffixes = read_reference("street_suffixes.csv")
        directionals = read_reference("directionals.csv")
        units = read_reference("unit_designators.csv")
        self.full = {}
        for table in (suffixes, directionals, units):
            self.full.update(dict(zip(table["standard"], table["full"], strict=True)))
        # Alternative written forms per standard suffix (Publication 28 column 2).
        alt = suffixes[suffixes["written"] != suffixes["standard"]]
        alt = alt[alt["written"] != alt["full"]].sort_values(["standard", "written"])
        self.alt_flat = alt["written"].to_numpy()
        counts = alt.groupby("standard").size()
        self.alt_count = counts.to_dict()
        self.alt_offset = dict(
            zip(counts.index, np.cumsum(counts.to_numpy()) - counts, strict=True)
        )

    def full_words(self, std: pd.Series) -> pd.Series:
        return std.map(self.full).fillna(std).astype("str")

    def variant(self, std: pd.Series, rng: np.random.Generator) -> pd.Series:
        """A random non-standard written form of each suffix (falls back to the standard)."""
        values = std.to_numpy(dtype=object)
        count = std.map(self.alt_count).fillna(0).to_numpy(np.int64)
        offset = std.map(self.alt_offset).fillna(0).to_numpy(np.int64)
        pick = offset + (rng.random(len(values)) * np.maximum(count, 1)).astype(np.int64)
        alt = self.alt_flat[np.minimum(pick, len(self.alt_flat) - 1)]
        return pd.Series(np.where(count > 0, alt, values), index=std.index, dtype="str")

    def written_part(
        self, std: pd.Series, rng: np.random.Generator, p_full: float, p_alt: float, p_dot: float
    ) -> pd.Series:
        u = rng.random(len(std))
        full = self.full_words(std)
        out = std.where(~(u < p_full), full)
        if p_alt:
            alt_mask = (u >= p_full) & (u < p_full + p_alt)
            out = out.where(~alt_mask, self.variant(std, rng))
        dot = (rng.random(len(std)) < p_dot) & (u >= p_full + p_alt) & (std != "")
        return out.where(~dot, out + ".")

    def signer_address(self, d: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
        """One line of text: '1234 1/2 N Main St Apt 5', with a signer's variations."""
        n = len(d)
        house = d["house_number"].astype(str)
        keep_frac = (d["fraction"] != "") & (rng.random(n) < 0.5)
        house = house.where(~keep_frac, house + " " + d["fraction"])
        pre = self.written_part(d["street_predir"], rng, 0.3, 0.0, 0.15)
        typ = self.written_part(d["street_type"], rng, 0.3, 0.1, 0.1)
        post = self.written_part(d["street_postdir"], rng, 0.3, 0.0, 0.1)
        unit_no = d["unit_number"].copy()
        other = rng.random(n) < 0.03
        unit_no = unit_no.where(
            ~other, pd.Series(rng.integers(1, 99, n).astype(str), index=d.index)
        )
        u = rng.random(n)
        unit_word = self.written_part(d["unit_type"], rng, 0.25, 0.0, 0.2)
        unit = unit_word + " " + unit_no
        compact = (d["unit_type"] == "#") & (u < 0.5)
        unit = unit.where(~compact, "#" + unit_no)
        unit = unit.where((d["unit_type"] != "") & (rng.random(n) >= 0.3), "")
        text = house + " " + pre + " " + d["street_name"] + " " + typ + " " + post + " " + unit
        text = text.str.replace(r"\s+", " ", regex=True).str.strip()
        return apply_case(text, rng, (0.55, 0.4, 0.05))


def apply_case(text: pd.Series, rng: np.random.Generator, p: tuple[float, float, float]):
    u = rng.random(len(text))
    out = text.where(~(u < p[0]), text.str.upper())
    out = out.where(~((u >= p[0]) & (u < p[0] + p[1])), text.str.title())
    return out.where(~(u >= p[0] + p[1]), text.str.lower())


def written_zip(zip5: pd.Series, rng: np.random.Generator, p_plus4: float) -> pd.Series:
    n = len(zip5)
    plus4 = pd.Series(rng.integers(0, 10000, n), index=zip5.index).astype(str).str.zfill(4)
    u = rng.random(n)
    out = zip5.where(~(u < p_plus4 * 0.7), zip5 + "-" + plus4)
    return out.where(~((u >= p_plus4 * 0.7) & (u < p_plus4)), zip5 + plus4)
