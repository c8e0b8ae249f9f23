"""API keys: shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from journeys.store.tables import ApiKeyRow
from journeys.store.types import utcnow

PREFIX = "jk"


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"  # fire trigger events and record changes
    ADMIN = "admin"  # everything


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    scopes: frozenset[Scope]

    def may(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


def _hash(secret: str) -> str:
    # Keys carry 256 random bits: a fast hash is enough, no password stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str, scopes: list[Scope]) -> tuple[ApiKeyRow, str]:
    """A new key and its secret, which is never stored and never shown again."""
    key_id = secrets.token_hex(8)
    secret = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        id=key_id, name=name, scopes=[str(s) for s in scopes], secret_hash=_hash(secret)
    )
    session.add(row)
    return row, secret


def verify_key(session: Session, secret: str) -> Principal | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    row = session.get(ApiKeyRow, parts[1])
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return Principal(row.id, row.name, frozenset(Scope(s) for s in row.scopes))


def list_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.created_at))).all())


def revoke_key(session: Session, key_id: str) -> bool:
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    return True
