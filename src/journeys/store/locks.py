"""Locks held until the transaction ends, named by keys: decisions that must not interleave
(two starts of one contact, entries against one rate limit) take theirs first.

PostgreSQL: transaction-level advisory locks, taken in one global order (so no two
transactions wait on each other). SQLite: one writer at a time, so taking the write lock
at once (before any read) is enough.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session


def _number(key: str) -> int:
    """A signed 64-bit number for the key (a collision only makes two keys share a lock)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


# Taken by every start and every send: built once (see journeys.store).
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:n)")
# Any write takes SQLite's write lock, and taking it before reading means no later write can
# find the snapshot stale; this one changes nothing.
_WRITE_LOCK = text("UPDATE catalog_revision SET revision = revision WHERE id = 0")


def hold(session: Session, keys: Iterable[str]) -> None:
    numbers = sorted({_number(key) for key in keys})
    if not numbers:
        return
    if session.get_bind().dialect.name == "postgresql":
        for number in numbers:
            session.execute(_ADVISORY_LOCK, {"n": number})
    else:
        session.execute(_WRITE_LOCK)
