"""Who may use the examination room and what each role may see. No web code here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Role(StrEnum):
    # Bound to one petition: its examination set (invalid lines and their evidence) and the
    # challenges they file, nothing else (EC §11301; the court's rule against bulk export).
    PROPONENT = "proponent"
    # The registrar's examiner: the challenges, the line, the voter's record, the page image.
    EXAMINER = "examiner"
    # A court's or the public's observer: aggregates only, no personal data.
    OBSERVER = "observer"
    ADMIN = "admin"


_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 12

# Argon2id with the library's defaults (RFC 9106's second recommended set, 64 MiB): verified
# once per login, never per request.
_HASHER = PasswordHasher()


class AccountError(ValueError):
    """An account that cannot be created as asked."""


@dataclass(frozen=True)
class Account:
    username: str
    role: Role
    petition_id: str | None
    disabled: bool = False

    def may_see_petition(self, petition_id: str) -> bool:
        """A proponent reviewer sees one petition; the other roles see every petition, each
        through the pages its role reaches (an observer's and an admin's hold no line)."""
        return self.role is not Role.PROPONENT or self.petition_id == petition_id


def check_new_account(username: str, role: str, petition_id: str | None, password: str) -> Role:
    """The role of an account that may be created so; AccountError says why not."""
    if not _USERNAME.match(username):
        raise AccountError(
            f"username {username!r}: 2-40 characters, lower-case letters, digits, '.', '_', '-'"
        )
    try:
        as_role = Role(role)
    except ValueError:
        raise AccountError(f"role {role!r}: one of {', '.join(r.value for r in Role)}") from None
    if as_role is Role.PROPONENT and not petition_id:
        raise AccountError("a proponent reviewer is bound to one petition: give --petition")
    if as_role is not Role.PROPONENT and petition_id:
        raise AccountError(f"a {as_role.value} is not bound to a petition: leave out --petition")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    return as_role


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A hash to verify against when the username is unknown, so that a login for an unknown user
# takes as long as one for a known user with a wrong password.
DECOY_HASH = _HASHER.hash("not a password of any account")
