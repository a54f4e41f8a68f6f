"""How people in LA write names, streets and places by hand, and how keyers type them.

Tables only: the keying profiles (keying.py) decide how often each form is used. The forms come
from how petitions, voter cards and mail are actually filled in around Los Angeles, not from the
reference tables the verifier uses — several are deliberately outside the USPS standard (`BL`,
`BLV`, `STR`, `LA` for a lane) and most nicknames here are not in reference/nicknames.csv.
"""

from __future__ import annotations

# Nicknames and diminutives people sign with, beyond the project's nickname table: Mexican and
# Central American diminutives, anglicized forms used at work and school, and English pet forms.
EXTRA_NICKNAMES: dict[str, tuple[str, ...]] = {
    "JOSE": ("PEPITO", "JOSELITO", "CHEO"),
    "JESUS": ("JESSE", "CHUS", "CHUCHITO"),
    "GUADALUPE": ("GUADA", "LUPITA"),
    "FRANCISCO": ("PAQUITO", "CISCO", "FRANK", "KIKO"),
    "ALEJANDRO": ("JANDRO", "ALEX"),
    "ANTONIO": ("TOÑO", "TONITO"),
    "EDUARDO": ("EDDY", "WALO"),
    "ENRIQUE": ("QUIQUE", "HENRY"),
    "GUILLERMO": ("GUILLE", "WILLY", "MEMIN"),
    "RAFAEL": ("RAFI", "RALPH"),
    "ROBERTO": ("ROBER", "BOBBY", "TITO"),
    "ALBERTO": ("ALBER", "TITO"),
    "HUMBERTO": ("HUMBER",),
    "MANUEL": ("MANOLITO", "MANO"),
    "FERNANDO": ("FER", "FERCHO"),
    "RAMON": ("MONCHI", "MONCHITO"),
    "ROSARIO": ("CHAYO", "CHAYITO"),
    "SOCORRO": ("CORO", "SOCO"),
    "CONCEPCION": ("CONNIE", "CONCHI"),
    "DOLORES": ("LOLY", "LOLI"),
    "MERCEDES": ("MERCHE", "MECHA"),
    "GRACIELA": ("GRACY", "CHELITA"),
    "SALVADOR": ("CHAVA", "CHAVO", "SAL"),
    "ISABEL": ("CHABELA", "CHAVELA", "ISA"),
    "JUAN": ("JUANITO", "JUANCHO"),
    "MARIA": ("MARI", "MARY", "MARUCA"),
    "CARLOS": ("CARLITOS", "CHARLIE"),
    "LUIS": ("LUCHO", "WICHO", "LUISITO"),
    "PEDRO": ("PEDRITO", "PETE"),
    "JORGE": ("GEORGE", "COQUE"),
    "JAVIER": ("JAVI", "JAVY"),
    "SERGIO": ("CHECO", "CHEJO"),
    "ALFREDO": ("FREDDY", "ALFRE"),
    "RICARDO": ("RICKY", "RICHI", "RICK"),
    "ARTURO": ("ART", "TURI"),
    "ADRIANA": ("ADRI",),
    "ALEJANDRA": ("ALE", "JANDRA"),
    "DANIELA": ("DANI",),
    "VERONICA": ("VERO", "RONI"),
    "PATRICIA": ("PATY", "PATI", "PATSY", "TISH"),
    "YOLANDA": ("YOLI",),
    "BEATRIZ": ("BETTY", "BEA"),
    "LETICIA": ("LETY", "LETI"),
    "MAGDALENA": ("MALENA", "MAGDA"),
    "ESPERANZA": ("ESPI", "PERA"),
    "SILVIA": ("CHIVIS",),
    "CARMEN": ("CARMELA", "MELI"),
    "TERESA": ("TERE",),
    "GABRIELA": ("GABI", "GABS"),
    "LORENA": ("LORE",),
    "ARACELI": ("CHELI",),
    "ELIZABETH": ("ELSIE", "LIZA", "BETTE", "ELLIE"),
    "MARGARET": ("GRETA", "MARGIE", "MAISIE", "PEGGIE"),
    "WILLIAM": ("WILLY", "BILLIE"),
    "ROBERT": ("ROBBY", "BOBBIE", "ROBIN"),
    "RICHARD": ("RICHIE", "DICKIE"),
    "JAMES": ("JIMMIE", "JIMBO"),
    "JOHN": ("JOHNNIE", "JACKIE"),
    "MICHAEL": ("MICK", "MICKY"),
    "CHRISTOPHER": ("KRIS", "CHRISTY"),
    "THOMAS": ("THOM", "TOMMIE"),
    "JOSEPH": ("JODY", "JOJO"),
    "KATHLEEN": ("KATHIE", "KAT"),
    "KATHERINE": ("KATHIE", "KAT", "KITTY"),
    "CATHERINE": ("CATE", "KITTY"),
    "DEBORAH": ("DEBBY",),
    "BARBARA": ("BOBBIE",),
    "SUSAN": ("SUZIE", "SUSY"),
    "CYNTHIA": ("CINDI", "CYNDI"),
    "DOROTHY": ("DODIE",),
    "JENNIFER": ("JENN", "JENNI"),
    "JESSICA": ("JESSI",),
    "SAMANTHA": ("SAMMIE",),
    "REBECCA": ("BEX", "REBA"),
    "VICTORIA": ("VIKKI", "VICKIE"),
    "NICHOLAS": ("NIK",),
    "ALEXANDER": ("ALEC", "LEX", "ZANDER"),
    "BENJAMIN": ("BENNIE",),
    "GREGORY": ("GREGG",),
    "TIMOTHY": ("TIMMIE",),
    "DOUGLAS": ("DOUGIE",),
    "LAWRENCE": ("LAURIE",),
    "VINCENT": ("VIN",),
    "ZACHARY": ("ZAK",),
    "ANTHONY": ("ANT",),
    "DANIEL": ("DANNIE",),
    "EDWARD": ("EDDY",),
    "STEPHANIE": ("STEFFI",),
    "CHRISTINA": ("CHRISSY", "CHRISTY"),
    "NATALIE": ("NATTY",),
    "AMANDA": ("MANDI",),
}

# Surnames that often carry a particle (written DE LA CRUZ, DELACRUZ, De la Cruz or just CRUZ).
PARTICLES: dict[str, str] = {
    "CRUZ": "DE LA",
    "SANTOS": "DE LOS",
    "VEGA": "DE LA",
    "LUNA": "DE",
    "ROSA": "DE LA",
    "TORRE": "DE LA",
    "LEON": "DE",
    "JESUS": "DE",
}

# Street-type forms keyers and signers use that are not the USPS standard abbreviation (some
# are in Publication 28's list of accepted spellings, most are not).
TYPE_LOCAL: dict[str, tuple[str, ...]] = {
    "ST": ("STR", "STR.", "STRT", "ST."),
    "AVE": ("AV", "AV.", "AVE.", "AVN"),
    "BLVD": ("BL", "BLV", "BL.", "BOUL", "BLVD."),
    "DR": ("DRV", "DR.", "DRIV"),
    "PL": ("PLC", "PL."),
    "WAY": ("WY", "WY."),
    "CT": ("CRT", "CT."),
    "LN": ("LA", "LN."),
    "RD": ("RD.", "RDS"),
    "TER": ("TERR", "TR", "TER."),
    "CIR": ("CIRC", "CIR."),
}

# Directions as written: the standard letter, with a dot, the two-letter forms common in LA
# (SO LA BREA, NO HOLLYWOOD), those with a dot, and full words.
DIRECTION_FORMS: dict[str, dict[str, str]] = {
    "N": {"std": "N", "dot": "N.", "two": "NO", "two_dot": "NO.", "full": "NORTH"},
    "S": {"std": "S", "dot": "S.", "two": "SO", "two_dot": "SO.", "full": "SOUTH"},
    "E": {"std": "E", "dot": "E.", "two": "E", "two_dot": "E.", "full": "EAST"},
    "W": {"std": "W", "dot": "W.", "two": "W", "two_dot": "W.", "full": "WEST"},
}

_ONES = ("ZEROTH", "FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH",
         "NINTH", "TENTH", "ELEVENTH", "TWELFTH", "THIRTEENTH", "FOURTEENTH", "FIFTEENTH",
         "SIXTEENTH", "SEVENTEENTH", "EIGHTEENTH", "NINETEENTH")  # fmt: skip
_TENS = {20: "TWENTY", 30: "THIRTY", 40: "FORTY", 50: "FIFTY", 60: "SIXTY", 70: "SEVENTY",
         80: "EIGHTY", 90: "NINETY"}  # fmt: skip


def ordinal_word(n: int) -> str:
    """SIXTH for 6, TWENTY-THIRD for 23; numbers from 100 up stay in digits ("103RD")."""
    if n < 20:
        return _ONES[n]
    if n >= 100:
        return ""
    tens, ones = divmod(n, 10)
    if ones == 0:
        return _TENS[n][:-1] + "IETH"
    return f"{_TENS[tens * 10]}-{_ONES[ones]}"


# Street names that carry a USPS suffix or direction word, as many real LA streets do (Avenue 50
# in Highland Park, Park Ave, West Blvd, South St in Long Beach, Avenue of the Stars). Each holds
# at least one reserved word, so none can be mistaken for a plain name of the scenario's pool.
TRICKY_STREETS_TYPED = (
    "PARK", "PARK VIEW", "GRAND VIEW", "MOUNTAIN VIEW", "VALLEY", "VALLEY VIEW", "LAKE",
    "CANYON", "COURT", "PLAZA", "CENTER", "MISSION", "HARBOR", "GROVE", "VILLAGE", "CREST",
    "SUMMIT", "RIDGE", "MEADOW", "FOREST", "GARDEN", "SPRING", "VISTA", "CREEK", "STATION",
    "PARK PLAZA", "LAKE VIEW", "HIGHLAND PARK", "MENLO PARK", "LA PLAZA", "CAMINO DE LA PLAZA",
    "VISTA DEL MAR", "TERRACE VIEW", "TRAIL", "RIVER", "POINT", "ISLAND", "CIRCLE",
)  # fmt: skip
TRICKY_STREETS_DIRECTION = ("NORTH", "SOUTH", "EAST", "WEST", "WEST END", "EAST END",
                            "NORTH STAR", "SOUTH PARK", "WEST VIEW", "EAST LAKE")  # fmt: skip
# Numbered avenues of Northeast LA are written with no street type at all.
NUMBERED_AVENUES = tuple(f"AVENUE {n}" for n in range(18, 67))
TYPELESS_STREETS = ("AVENUE OF THE STARS", "AVENUE OF THE AMERICAS", "BROADWAY PLACE", "THE MALL")

# Ways a city name is shortened on a petition, beyond the community names of geography.py.
CITY_WORD_SHORT: dict[str, tuple[str, ...]] = {
    "NORTH": ("N", "NO", "N."),
    "SOUTH": ("S", "SO", "SO."),
    "EAST": ("E", "E."),
    "WEST": ("W", "W."),
    "SANTA": ("STA", "STA."),
    "SAN": ("S.",),
    "BEACH": ("BCH",),
    "HILLS": ("HLS",),
    "PARK": ("PK",),
    "CITY": ("CTY",),
    "HEIGHTS": ("HTS",),
    "SPRINGS": ("SPGS",),
    "GARDENS": ("GDNS",),
    "VALLEY": ("VLY",),
    "CANYON": ("CYN",),
    "COUNTRY": ("CNTRY",),
    "PALOS VERDES": ("PV",),
}
CITY_SHORT: dict[str, tuple[str, ...]] = {
    "LOS ANGELES": ("LA", "L.A.", "L A", "LOS ANG", "LOS ANGELES CA", "L.A. CA"),
    "LONG BEACH": ("LB", "L.B."),
    "WEST HOLLYWOOD": ("WEHO",),
    "NORTH HOLLYWOOD": ("NOHO",),
    "RANCHO PALOS VERDES": ("RPV", "RANCHO PV"),
    "PALOS VERDES ESTATES": ("PVE", "PV ESTATES"),
    "LA CANADA FLINTRIDGE": ("LA CANADA", "LA CAÑADA", "LCF"),
    "CULVER CITY": ("CULVER",),
    # Not "SCV": the Santa Clarita Valley reaches beyond the city, and a line with no ZIP
    # would no longer say which side of the city limit it is on.
    "SANTA CLARITA": ("STA CLARITA", "STA. CLARITA", "S CLARITA"),
    "CANYON COUNTRY": ("CANYON CNTRY", "CYN COUNTRY"),
    "SANTA FE SPRINGS": ("SFS",),
    "RANCHO CUCAMONGA": ("RANCHO CUCA", "R CUCAMONGA"),
    "PACIFIC PALISADES": ("THE PALISADES", "PAC PALISADES"),
    "KOREATOWN": ("K-TOWN", "KTOWN"),
    "SILVER LAKE": ("SILVERLAKE",),
    "BEL AIR": ("BEL-AIR",),
    "HUNTINGTON PARK": ("HP", "HUNTINGTON PK"),
    "BEVERLY HILLS": ("BEV HILLS", "BH"),
    "VAN NUYS": ("VANNUYS",),
    "EL MONTE": ("ELMONTE",),
}

ACRONYMS = ("LA", "L.A.", "L A", "L.A. CA", "LB", "L.B.", "RPV", "PVE", "LCF", "SFS", "HP",
            "BH", "WEHO", "NOHO", "PV ESTATES", "RANCHO PV")  # fmt: skip


def city_forms(name: str) -> list[str]:
    """Shortened forms of one city or community name (not including the name itself)."""
    forms = list(CITY_SHORT.get(name, ()))
    for word, shorts in CITY_WORD_SHORT.items():
        if f" {word} " in f" {name} ":
            for short in shorts:
                forms.append(f" {name} ".replace(f" {word} ", f" {short} ").strip())
    return list(dict.fromkeys(f for f in forms if f != name))


# OCR and hand-print confusions, both ways (a scan read by software, then corrected by a keyer
# who did not catch everything).
OCR_PAIRS = (("O", "0"), ("I", "1"), ("S", "5"), ("B", "8"), ("Z", "2"), ("G", "6"), ("L", "1"),
             ("E", "F"), ("U", "V"), ("RN", "M"), ("CL", "D"), ("VV", "W"))  # fmt: skip

# Where a keyer's finger lands instead (QWERTY and the numeric keypad).
KEY_NEIGHBOURS: dict[str, str] = {
    "Q": "WA", "W": "QES", "E": "WRD", "R": "ETF", "T": "RYG", "Y": "TUH", "U": "YIJ",
    "I": "UOK", "O": "IPL", "P": "OL", "A": "QSZ", "S": "ADW", "D": "SFE", "F": "DGR",
    "G": "FHT", "H": "GJY", "J": "HKU", "K": "JLI", "L": "KO", "Z": "XA", "X": "ZCS",
    "C": "XVD", "V": "CBF", "B": "VNG", "N": "BMH", "M": "NJ",
    "0": "1", "1": "24", "2": "135", "3": "26", "4": "157", "5": "2468", "6": "359",
    "7": "48", "8": "579", "9": "68",
}  # fmt: skip

# What people write where the residence address goes when they give none that can be located.
NO_ADDRESS_FORMS = ("", "PO BOX {n}", "P.O. Box {n}", "P O BOX {n}", "PO BX {n}", "SAME", "N/A",
                    "HOMELESS", "NONE", "SEE ABOVE", "GENERAL DELIVERY", "NO FIXED ADDRESS",
                    "UNKNOWN", "-", "DITTO", "\"")  # fmt: skip
