"""API keys: shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from journeys.kit.signing import derive
from journeys.store.tables import ApiKeyRow
from journeys.store.types import utcnow

PREFIX = "jk"
PUBLISHABLE_PREFIX = "jkpub"


class KeyKind(StrEnum):
    SECRET = "secret"  # noqa: S105 - a kind's name, held by servers: bearer or signed
    # Shipped in web pages, so public by design: it fires only the custom triggers it names,
    # from the origins it names (the web snippet), and reads nothing.
    PUBLISHABLE = "publishable"


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"  # fire trigger events and record changes
    # Write contacts: their email and phone, and consent (never one the contact withdrew).
    CONTACTS_WRITE = "contacts:write"
    ADMIN = "admin"  # everything


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    scopes: frozenset[Scope]
    signed: bool = False
    rate_limit: float | None = None
    kind: KeyKind = KeyKind.SECRET
    triggers: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()

    def may(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


def _hash(secret: str) -> str:
    # Keys carry 256 random bits: a fast hash is enough, no password stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    name: str,
    scopes: list[Scope],
    *,
    signed: bool = False,
    rate_limit: float | None = None,
) -> tuple[ApiKeyRow, str]:
    """A new key and its secret, which is never stored and never shown again."""
    key_id = secrets.token_hex(8)
    secret = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        id=key_id,
        name=name,
        scopes=[str(s) for s in scopes],
        secret_hash=_hash(secret),
        signed=signed,
        rate_limit=rate_limit,
    )
    session.add(row)
    return row, secret


def create_publishable_key(
    session: Session,
    name: str,
    triggers: list[str],
    origins: list[str],
    *,
    rate_limit: float | None = None,
) -> ApiKeyRow:
    """A new publishable key; it is public, so it can be shown again (`publishable_key`)."""
    key_id = secrets.token_hex(8)
    row = ApiKeyRow(
        id=key_id,
        name=name,
        scopes=[],
        secret_hash=_hash(publishable_key(key_id)),
        kind=KeyKind.PUBLISHABLE,
        triggers=triggers,
        origins=origins,
        rate_limit=rate_limit,
    )
    session.add(row)
    return row


def publishable_key(key_id: str) -> str:
    return f"{PUBLISHABLE_PREFIX}_{key_id}"


def find_publishable(session: Session, key: str) -> Principal | None:
    """The active publishable key `key`, or None."""
    prefix, _, key_id = key.partition("_")
    if prefix != PUBLISHABLE_PREFIX:
        return None
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None or row.kind != KeyKind.PUBLISHABLE:
        return None
    return _principal(row)


def publishable_keys_for(session: Session, trigger: str) -> list[ApiKeyRow]:
    """The active publishable keys that may fire `trigger`."""
    rows = session.exec(
        select(ApiKeyRow)
        .where(ApiKeyRow.kind == KeyKind.PUBLISHABLE, col(ApiKeyRow.revoked_at).is_(None))
        .order_by(col(ApiKeyRow.created_at))
    )
    return [row for row in rows if trigger in row.triggers]


def verify_key(session: Session, secret: str) -> Principal | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    row = session.get(ApiKeyRow, parts[1])
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return _principal(row)


def find_key(session: Session, key_id: str) -> Principal | None:
    """An active key by its id (for signed requests, which carry the id, not the secret)."""
    row = session.get(ApiKeyRow, key_id)
    return _principal(row) if row is not None and row.revoked_at is None else None


def admin_key(session: Session, key_id: str) -> tuple[str, str] | None:
    """(name, secret hash) of an active admin key that is sent as itself (not signed)."""
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None or row.signed or Scope.ADMIN not in row.scopes:
        return None
    return row.name, row.secret_hash


def signing_secret(server_secret: str, key_id: str) -> str:
    """A signed key's signing secret, derived from the deployment's secret: nothing to store,
    and rotating JOURNEYS_SIGNING_SECRET rotates every one of them."""
    return derive(server_secret, f"ingest:{key_id}")


def _principal(row: ApiKeyRow) -> Principal:
    scopes = frozenset(Scope(s) for s in row.scopes)
    return Principal(
        row.id,
        row.name,
        scopes,
        signed=row.signed,
        rate_limit=row.rate_limit,
        kind=KeyKind(row.kind),
        triggers=frozenset(row.triggers),
        origins=frozenset(row.origins),
    )


def list_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.created_at))).all())


def revoke_key(session: Session, key_id: str) -> bool:
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    return True
