"""Name pools, household-safe first names and the noise a keyer adds to a printed name.

Why it looks like this:
- Full names must be both often unique and often shared in the roll (the verifier's
  "unique full name" fallback needs both kinds), so first and last names are drawn with a
  Zipf-like frequency from large pools: real names first, then plausible names built from real
  roots and syllables.
- Within a household no two people may have first names a matcher could confuse: equal,
  nickname-related, or close in edit distance. `FirstNameConflicts` precomputes that relation
  once for the whole pool (vectorized optimal-string-alignment distance on candidate pairs), so
  households can be checked with array lookups.
- Printed-name noise is applied by random masks on whole columns: order, case, middle name,
  suffix, accents, a nickname, or one typo (never both).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from recall_pipeline.reference import read_reference

_REAL_FIRST = """
MARIA JOSE JOHN MICHAEL DAVID JAMES ROBERT JUAN CARLOS LUIS JENNIFER MARY WILLIAM DANIEL
JESUS JORGE ELIZABETH PATRICIA LINDA JOSEPH RICHARD CHRISTOPHER ANTHONY MIGUEL SUSAN JESSICA
KAREN NANCY LISA SARAH THOMAS CHARLES FRANCISCO ANA MARTHA ROSA JOSUE EDUARDO MARK STEVEN PAUL
ANDREW KEVIN BRIAN GEORGE EDWARD RONALD TIMOTHY JASON JEFFREY RYAN JACOB GARY NICHOLAS ERIC
JONATHAN STEPHEN LARRY JUSTIN SCOTT BRANDON BENJAMIN SAMUEL GREGORY FRANK ALEXANDER RAYMOND
PATRICK JACK DENNIS JERRY TYLER AARON HENRY ADAM DOUGLAS NATHAN PETER ZACHARY KYLE WALTER HAROLD
JEREMY ETHAN CARL KEITH ROGER GERALD CHRISTIAN TERRY SEAN ARTHUR AUSTIN NOAH LAWRENCE JESSE
JOE BRYAN BILLY BRUCE ALBERT WILLIE GABRIEL LOGAN ALAN JUAN WAYNE ELIJAH RANDY ROY VINCENT
RALPH EUGENE RUSSELL BOBBY MASON PHILIP LOUIS BARBARA MARGARET SANDRA ASHLEY KIMBERLY EMILY
DONNA MICHELLE CAROL AMANDA DOROTHY MELISSA DEBORAH STEPHANIE REBECCA SHARON LAURA CYNTHIA KATHLEEN
AMY ANGELA SHIRLEY BRENDA EMMA ANNA PAMELA NICOLE SAMANTHA KATHERINE CHRISTINE HELEN DEBRA RACHEL
CAROLYN JANET CATHERINE VIRGINIA MARIE HEATHER DIANE RUTH JULIE OLIVIA JOYCE VICTORIA KELLY
CHRISTINA LAUREN JOAN EVELYN JUDITH MEGAN ANDREA CHERYL HANNAH JACQUELINE MARTHA GLORIA TERESA
ANN SARA MADISON FRANCES KATHRYN JANICE JEAN ABIGAIL ALICE JUDY SOPHIA GRACE DENISE AMBER DORIS
MARILYN DANIELLE BEVERLY ISABELLA THERESA DIANA NATALIE BRITTANY CHARLOTTE MARIE KAYLA ALEXIS
LORI GUADALUPE VERONICA YOLANDA ALEJANDRO ANTONIO MANUEL RICARDO FERNANDO ROBERTO JAVIER SERGIO
MARIO ALFREDO RAFAEL PEDRO ARTURO ENRIQUE RAMON ANDRES HECTOR RAUL OSCAR ARMANDO ALBERTO
GUILLERMO RUBEN SALVADOR VICTOR HUMBERTO IGNACIO GUSTAVO RODRIGO SANTIAGO SEBASTIAN ADRIAN
ALEJANDRA GABRIELA DANIELA MARIANA FERNANDA VALERIA CAMILA LUCIA SOFIA ISABEL CARMEN DOLORES
ROSARIO SOCORRO GRACIELA MERCEDES CONCEPCION LETICIA ARACELI BLANCA ESPERANZA LORENA YESENIA
MAGDALENA BEATRIZ ADRIANA ALICIA SILVIA IRMA NORMA CLAUDIA VERONICA LILIANA MONICA PATRICIA
WEI JIAN MING XIAO HUI LING YAN JUN HONG MEI HYUN JIN MIN YOUNG SOO JI SUNG TUAN MINH LINH
THANH HUONG DUNG HOA NGOC ANH PHUONG HAI LONG QUANG KENJI HIROSHI YUKI AKIKO RAJ PRIYA ANIL
SUNIL RAVI AMIT DEEPA NEHA ARJUN VIKRAM ARMEN ARAM ANI NAREK TIGRAN LUSINE GOHAR ARSEN HAYK
ZHANNA OLGA SVETLANA DMITRI IGOR SERGEI NATALIA TATIANA ELENA IRINA YURI BORIS ABEL ADRIANO
DARNELL DESHAWN TYRONE JAMAL LATOYA KEISHA TAMIKA ALEJO AMADO EFRAIN FIDEL LEONEL OMAR ISMAEL
YUSUF FATIMA AISHA KHALED HASSAN MARIAM LEILA REZA DARIUS NASRIN SHIRIN PARISA MEHDI
"""

_FIRST_PREFIXES = """
A AB AD AL AM AN AR AS AV BE BR CA CE CH CL CO DA DE DI DO EL EM ER ES EV FA FE FL GA GE GI GR
HA HE IL IR IS JA JE JO JU KA KE KI KO LA LE LI LO LU MA ME MI MO NA NE NI NO OL OR PA PE RA
RE RI RO SA SE SH SI SO TA TE TI TO TR VA VE VI WI YA YO ZA ZE ZO
"""
_FIRST_ENDINGS = """
ANA ANDO ANI ARA ARI AYA EL ELA ELLE ENA ENE ENZO ERA IA IAN IANA IEL INA INE ION IRA ISA ISSA
ITA IUS LEE LYN MAR MIR NELA NEL NIA NOLA ONA ONE ONIO ORA RIN RIO RON SHA TON VIN YNA ZIA
"""

_REAL_LAST = """
GARCIA HERNANDEZ MARTINEZ LOPEZ GONZALEZ RODRIGUEZ SMITH PEREZ SANCHEZ RAMIREZ TORRES FLORES
RIVERA GOMEZ DIAZ JOHNSON WILLIAMS BROWN JONES MILLER DAVIS KIM LEE NGUYEN CRUZ REYES MORALES
ORTIZ GUTIERREZ CHAVEZ RAMOS RUIZ ALVAREZ CASTILLO JIMENEZ MORENO ROMERO HERRERA MEDINA AGUILAR
VARGAS CASTRO GUZMAN MENDOZA VASQUEZ SALAZAR SOTO DELGADO VEGA MUNOZ CONTRERAS ROJAS GUERRERO
LUNA ESTRADA JUAREZ DOMINGUEZ NAVARRO CAMPOS CERVANTES SANDOVAL RIOS ACOSTA PENA IBARRA
MALDONADO NUNEZ CORTEZ VALENZUELA SILVA ESPINOZA FIGUEROA MEJIA LARA AVILA CARRILLO MIRANDA
OROZCO PADILLA SANTOS SALAS ROSALES FUENTES VALDEZ MOLINA CORTES ROBLES CARDENAS VELASQUEZ
WILSON ANDERSON TAYLOR THOMAS MOORE JACKSON MARTIN THOMPSON WHITE HARRIS CLARK LEWIS ROBINSON
WALKER YOUNG ALLEN KING WRIGHT SCOTT HILL GREEN ADAMS NELSON BAKER HALL CAMPBELL MITCHELL
CARTER ROBERTS PHILLIPS EVANS TURNER PARKER COLLINS EDWARDS STEWART MORRIS MURPHY COOK ROGERS
MORGAN PETERSON COOPER REED BAILEY BELL KELLY HOWARD WARD COX RICHARDSON WOOD WATSON BROOKS
BENNETT GRAY JAMES HUGHES PRICE SANDERS MYERS LONG ROSS FOSTER POWELL JENKINS PERRY RUSSELL
SULLIVAN FISHER HAMILTON GRAHAM WALLACE WEST COLE HAYES BRYANT GIBSON ELLIS STEVENS MURRAY
FORD MARSHALL OWENS MCDONALD HARRISON KENNEDY WELLS HENDERSON COLEMAN SIMMONS PATTERSON
JORDAN REYNOLDS HAMILTON FRASER PARK CHOI JUNG KANG CHO YOON JANG LIM HAN SHIN SEO KWON HWANG
WANG LI ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU SUN MA ZHU HU GUO HE LIN LUO CHAN WONG LAM
CHEUNG HO TRAN LE PHAM HOANG PHAN VU VO DANG BUI DO NGO DUONG LY TANAKA SUZUKI WATANABE ITO
YAMAMOTO NAKAMURA KOBAYASHI SATO PATEL SHAH SINGH KUMAR SHARMA GUPTA MEHTA DESAI REDDY RAO
PETROSYAN SARGSYAN HAROUTUNIAN GRIGORYAN HAKOBYAN KHACHATRYAN MKRTCHYAN AVETISYAN MARTIROSYAN
IVANOV PETROV SMIRNOV VOLKOV KOZLOV NOVAK KOVAC COHEN LEVY FRIEDMAN GOLDBERG SHAPIRO KATZ
ROSEN SCHWARTZ KLEIN WEISS OBRIEN OCONNOR KELLEHER BYRNE RYAN WALSH OLSEN HANSEN LARSEN
JOHANSSON NILSSON ROSSI RUSSO ESPOSITO BIANCHI ROMANO COLOMBO RICCI MARINO GRECO BRUNO GALLO
MUELLER SCHMIDT SCHNEIDER FISCHER WEBER MEYER WAGNER BECKER SCHULZ HOFFMANN DUBOIS MOREAU
LAURENT SIMON MICHEL LEFEBVRE LEROY ROUX AHMED ALI KHAN HUSSAIN RAHMAN HOSSEINI MOHAMMADI
REZAEI KARIMI OKAFOR OKONKWO ADEYEMI MENSAH BOATENG ABEBE TESFAYE
"""

_LAST_PREFIXES = """
ABER AL ALDER ALMA AMBER ANDER ARM ASH ATH BAL BAR BECK BEL BER BLACK BLAN BOR BRAD BRAN BRI
BROOK BUCK BUR CAL CAM CAR CAST CHAD CHAL CHAN CLAR CLAY COL CON COR CRAN CRES DAL DAR DAV DEL
DEN DER DOR DRAKE DUN EAST EBER EL ELL EMER ENG ER ES EST FAIR FAL FAR FEL FER FIN FITZ FLOR
FORD FOS FRAN FRE GAL GAR GIL GLAD GOLD GRAN GREN GRIM GUER GUT HAL HAM HAR HAS HAW HEN HER HIL
HOL HOW HUN IB IR ISA IV JAR JEN JOR KAL KAR KEL KEN KER KIR KOL KOV KRAM LAM LAN LAR LAV LEN
LIND LOR LUC MAC MAL MAN MAR MAT MAY MEL MER MIL MON MOR MUR NAR NEL NOR NOV OAK OL OR OS OST
PAL PAR PEL PEN PER PIL POL POR QUIN RAD RAM RAN RAV REN RID RIV ROB ROD ROS ROW RUD SAL SAN
SAR SCH SEL SHAR SHEL SIL SOL SOM STAN STEIN STER STOCK STR SUL SUN SUT TAL TAN TAR TEM TER
THOR TOR TRA TREM TUR UL UR VAL VAN VAR VEL VER VIL VOL WAL WAR WEL WES WHIT WIL WIN WOL WYN
YAN YOR ZAL ZAM ZAN ZAR ZEL ZIM ZOR ABR ACO AGU ALB ALV AMA ARR BAS BEN CAB CAR CAS CER DOM
ECH ESC FIG GAL GUZ IBA LED MAD MEN NAV OCH ORT PAD QUE SAA SEP TEJ URI VEG VIZ YBA ZUN
"""
_LAST_SUFFIXES = """
SON SEN MAN MANN BERG BURG STEIN STROM TON TEN LEY LY WOOD WORTH FIELD FORD HAM HOLM DALE
BROOK WELL WICK WAY RIDGE LAND LOW MORE NEY RICK ER ERS ES EZ AZ OZ IZ ELLI ETTI INI ONI ARI
ANO ENO INO ONE ELLO ADA EDA IDA OSA ERO ARO IRO URO ADO EDO IDO ALES ELES ILES OLES ANTE
ENTE ERA ERRA ILLA ILLO UELA UELO AGA EGA IGA OV EV IN SKI SKY CZYK ENKO UK CHUK ESCU EANU
AKIS OPOULOS IDIS IAN YAN UNIAN OGLU CI AWA MOTO SAKI SHIMA MURA NO TA LAND VIK STAD GAARD
OSE ASH ISH ETT ITT OTT ELL ILL ALL ARD ERT ACK ECK ICK OCK UND AND END OND ART ORT
"""


def strip_accents(values: pd.Series) -> pd.Series:
    """Uppercase ASCII form of names (the normalization a matcher applies)."""
    return values.str.normalize("NFKD").str.replace(r"[^\x00-\x7f]", "", regex=True).str.upper()


def _ascii(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().upper()


def _unique(words: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for w in words:
        seen.setdefault(w, None)
    return list(seen)


# Accented spellings a county writes for some voters (the ASCII form is the pool entry).
ACCENTED = {
    "JOSE": "JOSÉ",
    "MARIA": "MARÍA",
    "JESUS": "JESÚS",
    "RAMON": "RAMÓN",
    "ANDRES": "ANDRÉS",
    "RAUL": "RAÚL",
    "SOFIA": "SOFÍA",
    "LUCIA": "LUCÍA",
    "HECTOR": "HÉCTOR",
    "RUBEN": "RUBÉN",
    "OSCAR": "ÓSCAR",
    "EFRAIN": "EFRAÍN",
    "ISMAEL": "ISMAËL",
    "MUNOZ": "MUÑOZ",
    "PENA": "PEÑA",
    "NUNEZ": "NÚÑEZ",
    "GONZALEZ": "GONZÁLEZ",
    "HERNANDEZ": "HERNÁNDEZ",
    "RODRIGUEZ": "RODRÍGUEZ",
    "PEREZ": "PÉREZ",
    "SANCHEZ": "SÁNCHEZ",
    "RAMIREZ": "RAMÍREZ",
    "MARTINEZ": "MARTÍNEZ",
    "LOPEZ": "LÓPEZ",
    "GOMEZ": "GÓMEZ",
    "DIAZ": "DÍAZ",
    "JIMENEZ": "JIMÉNEZ",
    "ALVAREZ": "ÁLVAREZ",
    "VASQUEZ": "VÁSQUEZ",
    "CHAVEZ": "CHÁVEZ",
    "JUAREZ": "JUÁREZ",
    "DOMINGUEZ": "DOMÍNGUEZ",
    "CORTES": "CORTÉS",
    "MEJIA": "MEJÍA",
    "AVILA": "ÁVILA",
    "IBANEZ": "IBÁÑEZ",
}


class NamePools:
    """The first- and last-name pools with Zipf weights, and nickname lookups."""

    def __init__(self) -> None:
        nick = read_reference("nicknames.csv")
        self.nicknames = nick
        nickname_forms = set(nick["nickname"]) - set(nick["given_name"])
        real_first = _unique(_REAL_FIRST.split() + sorted(set(nick["given_name"])))
        synth_first = [p + e for p in _FIRST_PREFIXES.split() for e in _FIRST_ENDINGS.split()]
        first = _unique(real_first + synth_first)
        first = [f for f in first if f not in nickname_forms and len(f) >= 2]
        self.first = np.array(first[:3000])
        real_last = _unique(_REAL_LAST.split())
        synth_last = [p + s for p in _LAST_PREFIXES.split() for s in _LAST_SUFFIXES.split()]
        banned = {"JR", "SR", "II", "III", "IV", "V"}
        last = [w for w in _unique(real_last + synth_last) if w not in banned and len(w) >= 2]
        self.last = np.array(last)
        self.n_real_first = len(real_first)
        self.first_p = _zipf(len(self.first), offset=8, exponent=1.05)
        self.last_p = _zipf(len(self.last), offset=12, exponent=1.0)
        self.first_display = np.array([ACCENTED.get(f, f) for f in self.first])
        self.last_display = np.array([ACCENTED.get(w, w) for w in self.last])
        # Nicknames per pool first name, as a flat array with offsets (for vectorized picks).
        index = pd.Series(np.arange(len(self.first)), index=self.first)
        nick = nick[nick["given_name"].isin(index.index)].copy()
        nick["fid"] = index.loc[nick["given_name"]].to_numpy()
        nick = nick.sort_values(["fid", "nickname"])
        self.nick_flat = nick["nickname"].to_numpy()
        self.nick_count = np.bincount(nick["fid"], minlength=len(self.first))
        self.nick_offset = np.concatenate([[0], np.cumsum(self.nick_count)[:-1]])
        self.conflicts = FirstNameConflicts(self.first, nick[["nickname", "given_name"]])

    def draw_first(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.first), size=n, p=self.first_p).astype(np.int32)

    def draw_last(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.last), size=n, p=self.last_p).astype(np.int32)

    def full_key(self, first_id: np.ndarray, last_id: np.ndarray) -> np.ndarray:
        """One integer per normalized full name (first + last)."""
        return first_id.astype(np.int64) * len(self.last) + last_id.astype(np.int64)


def _zipf(n: int, offset: float, exponent: float) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset) ** exponent
    return w / w.sum()


def osa_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Optimal-string-alignment distance of equal-length lists of ASCII strings, vectorized."""
    a = np.asarray(a, dtype="S")
    b = np.asarray(b, dtype="S")
    width = max(a.dtype.itemsize, b.dtype.itemsize)
    n = len(a)
    A = np.frombuffer(a.astype(f"S{width}").tobytes(), np.uint8).reshape(n, width)
    B = np.frombuffer(b.astype(f"S{width}").tobytes(), np.uint8).reshape(n, width)
    la = (A != 0).sum(1)
    lb = (B != 0).sum(1)
    result = np.zeros(n, np.int16)
    prev2 = None
    prev = np.tile(np.arange(width + 1, dtype=np.int16)[:, None], (1, n))
    cols = np.arange(n)
    sel = la == 0
    result[sel] = prev[lb[sel], cols[sel]]
    for i in range(1, width + 1):
        cur = np.empty_like(prev)
        cur[0] = i
        for j in range(1, width + 1):
            cost = (A[:, i - 1] != B[:, j - 1]).astype(np.int16)
            v = np.minimum(np.minimum(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost)
            if i > 1 and j > 1:
                swap = (A[:, i - 1] == B[:, j - 2]) & (A[:, i - 2] == B[:, j - 1])
                v = np.where(swap, np.minimum(v, prev2[j - 2] + 1), v)
            cur[j] = v
        sel = la == i
        result[sel] = cur[lb[sel], cols[sel]]
        prev2, prev = prev, cur
    return result


class FirstNameConflicts:
    """Which pool first names may not live in the same household.

    Two names conflict when they are equal, nickname-related (same connected group in the
    nickname table), within OSA distance 3 of each other (2 when both are shorter than 5
    letters, as short names never get typos), or when a nickname spelling of one is within
    distance 2 of the other.
    Distance 3 rather than 2 keeps the true Damerau distance >= 3, so a name with one typo is
    still strictly closer to its owner than to anyone else at the address.
    """

    def __init__(self, first: np.ndarray, pairs: pd.DataFrame) -> None:
        names = _unique(list(first) + list(pairs["nickname"]) + list(pairs["given_name"]))
        pos = {w: i for i, w in enumerate(names)}
        parent = list(range(len(names)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for nk, gv in zip(pairs["nickname"], pairs["given_name"], strict=True):
            ra, rb = find(pos[nk]), find(pos[gv])
            if ra != rb:
                parent[ra] = rb
        group = np.array([find(i) for i in range(len(names))])
        _, group = np.unique(group, return_inverse=True)
        self.first_group = group[: len(first)].astype(np.int64)
        self.n_groups = int(group.max()) + 1
        words = np.array(names)
        is_pool = np.zeros(len(words), bool)
        is_pool[: len(first)] = True
        lengths = np.char.str_len(words)
        width = int(lengths.max())
        hist = np.zeros((len(words), 26), np.int16)
        codes = np.frombuffer(words.astype(f"S{width}").tobytes(), np.uint8)
        codes = codes.reshape(len(words), width)
        for c in range(26):
            hist[:, c] = (codes == 65 + c).sum(1)
        # A pool name against a pool name: distance 3 when either has 5+ letters (typos
        # happen), else 2; a nickname spelling against a pool name: distance 2.
        left, right, limits = [], [], []
        for start in range(0, len(words), 512):
            stop = min(start + 512, len(words))
            l1 = np.abs(hist[start:stop, None, :] - hist[None, :, :]).sum(2)
            dl = np.abs(lengths[start:stop, None] - lengths[None, :])
            both_pool = is_pool[start:stop, None] & is_pool[None, :]
            long = np.maximum(lengths[start:stop, None], lengths[None, :]) >= 5
            limit = np.where(both_pool & long, 3, 2)
            relevant = is_pool[start:stop, None] | is_pool[None, :]
            cand = relevant & (l1 <= 2 * limit) & (dl <= limit)
            i, j = np.nonzero(cand)
            keep = i + start < j
            left.append(i[keep] + start)
            right.append(j[keep])
            limits.append(limit[i[keep], j[keep]])
        li = np.concatenate(left)
        ri = np.concatenate(right)
        lim = np.concatenate(limits)
        close = np.zeros(len(li), bool)
        for s in range(0, len(li), 400_000):
            e = s + 400_000
            close[s:e] = osa_distance(words[li[s:e]], words[ri[s:e]]) <= lim[s:e]
        gl, gr = group[li[close]], group[ri[close]]
        keys = np.concatenate([gl * self.n_groups + gr, gr * self.n_groups + gl])
        keys = np.concatenate([keys, np.arange(self.n_groups) * (self.n_groups + 1)])
        self.conflict_keys = np.unique(keys)

    def conflict(self, first_a: np.ndarray, first_b: np.ndarray) -> np.ndarray:
        """Elementwise: may these two pool first names NOT share a household?"""
        ga = self.first_group[first_a]
        gb = self.first_group[first_b]
        keys = ga * self.n_groups + gb
        pos = np.searchsorted(self.conflict_keys, keys)
        pos = np.minimum(pos, len(self.conflict_keys) - 1)
        return self.conflict_keys[pos] == keys


def typo(words: pd.Series, rng: np.random.Generator) -> pd.Series:
    """One substitution, deletion or adjacent transposition per word (ASCII words of 5+ letters)."""
    arr = np.asarray(words.to_numpy(dtype=str), dtype="S")
    n = len(arr)
    if n == 0:
        return words
    width = arr.dtype.itemsize
    M = np.frombuffer(arr.tobytes(), np.uint8).reshape(n, width).copy()
    length = (M != 0).sum(1)
    rows = np.arange(n)
    kind = rng.integers(0, 3, n)
    pos = (rng.random(n) * (length - 1)).astype(np.int64) + 1  # keep the initial letter
    # Transposing two equal letters would change nothing: use a substitution instead.
    nxt = np.minimum(pos + 1, width - 1)
    same = (pos + 1 >= length) | (M[rows, pos] == M[rows, nxt])
    kind = np.where((kind == 2) & same, 0, kind)
    sub = kind == 0
    shift = rng.integers(1, 26, n)
    M[rows[sub], pos[sub]] = (M[rows[sub], pos[sub]] - 65 + shift[sub]) % 26 + 65
    tr = kind == 2
    a, b = M[rows[tr], pos[tr]].copy(), M[rows[tr], nxt[tr]].copy()
    M[rows[tr], pos[tr]] = b
    M[rows[tr], nxt[tr]] = a
    de = np.nonzero(kind == 1)[0]
    if len(de):
        col = np.arange(width)[None, :]
        src = np.where(col >= pos[de, None], np.minimum(col + 1, width - 1), col)
        shifted = M[de[:, None], src]
        shifted[col.repeat(len(de), 0) == width - 1] = 0
        M[de] = shifted
    out = M.view(f"S{width}").ravel().astype(str)
    return pd.Series(out, index=words.index, dtype="str")
