"""The grounds a challenge may name against an invalid line, per reason code — one table.

`recall_pipeline/reference/challenge_grounds.csv` is the single declaration: which grounds the
contract allows in a challenge file, which reason each ground answers, whether it must name a
registration (`claimed_voter_id`), and how an ACCEPTED ruling decides the line again
(`decides_again_as`, see `verify/challenges.py`). A ground may answer several reasons (another
registration is the signer's: against a cancelled, a late or an elsewhere-registered match); it
then means one thing wherever it appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from recall_pipeline.reference import read_reference
from recall_pipeline.verify.reasons import reason_codes

# How an accepted ruling decides its line again: as an examiner's decision naming the claimed
# voter (match_reviews), as the line's address accepted as the voter's registered one, both at
# once, as an examiner's signature finding MATCH (signature_reviews), or by the rules applied
# once more.
MATCH_REVIEW = "match_review"
ADDRESS_ACCEPTED = "address_accepted"
MATCH_REVIEW_AT_ADDRESS = "match_review_at_address"
SIGNATURE_MATCH = "signature_match"
RULES_AGAIN = "rules_again"
EFFECTS = (MATCH_REVIEW, ADDRESS_ACCEPTED, MATCH_REVIEW_AT_ADDRESS, SIGNATURE_MATCH, RULES_AGAIN)
# The effects that name the signer's registration, and those that accept the written address.
NAMES_SIGNER = (MATCH_REVIEW, MATCH_REVIEW_AT_ADDRESS)
ACCEPTS_ADDRESS = (ADDRESS_ACCEPTED, MATCH_REVIEW_AT_ADDRESS)


@dataclass(frozen=True)
class Ground:
    reason_code: str
    ground: str
    needs_voter_id: bool
    decides_again_as: str
    description: str


@lru_cache(maxsize=1)
def challenge_grounds() -> tuple[Ground, ...]:
    table = read_reference("challenge_grounds.csv")
    grounds = tuple(
        Ground(r.reason_code, r.ground, r.needs_voter_id == "Y", r.decides_again_as, r.description)
        for r in table.itertuples(index=False)
    )
    known = {c.code for c in reason_codes()}
    meaning: dict[str, tuple[bool, str]] = {}
    for g in grounds:
        # A typo here would make a whole reason unchallengeable without a word: refuse it.
        if g.reason_code not in known:
            raise ValueError(f"challenge_grounds.csv: unknown reason code {g.reason_code!r}")
        if g.decides_again_as not in EFFECTS:
            raise ValueError(f"challenge_grounds.csv: {g.ground}: unknown {g.decides_again_as!r}")
        if meaning.setdefault(g.ground, (g.needs_voter_id, g.decides_again_as)) != (
            g.needs_voter_id,
            g.decides_again_as,
        ):
            raise ValueError(f"challenge_grounds.csv: {g.ground} means two things")
    return grounds


def ground_codes() -> tuple[str, ...]:
    """Every ground a challenge file may name, in the table's order."""
    return tuple(dict.fromkeys(g.ground for g in challenge_grounds()))
