"""The reason codes, their precedence and the registrar's categories — one table, read once.

`recall_pipeline/reference/reason_codes.csv` is the single declaration: the order the rules are
applied in, the per-reason warehouse tables, the registrar's seven published categories and
every report are all derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from recall_pipeline.reference import read_reference

VALID = "VALID"
INVALID = "INVALID"
PENDING = "PENDING"


@dataclass(frozen=True)
class ReasonCode:
    code: str
    precedence: int
    level: str
    registrar_category: str
    description: str

    @property
    def table_name(self) -> str:
        return f"invalid_{self.code.lower()}"


@lru_cache(maxsize=1)
def reason_codes() -> tuple[ReasonCode, ...]:
    table = read_reference("reason_codes.csv")
    codes = [
        ReasonCode(r.code, int(r.precedence), r.level, r.registrar_category, r.description)
        for r in table.itertuples(index=False)
    ]
    return tuple(sorted(codes, key=lambda c: c.precedence))


def registrar_categories() -> list[str]:
    """The registrar's categories in the order of their first reason's precedence."""
    return list(dict.fromkeys(c.registrar_category for c in reason_codes()))
