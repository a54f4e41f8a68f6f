"""What a data check returns, independent of Dagster: pass/fail and JSON-able metadata.

Metadata is written to Dagster's event log, so it carries counts, file names, row numbers and
identifying keys only — never a name, an address or a birth date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckOutcome:
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)
