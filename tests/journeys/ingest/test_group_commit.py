"""Group commit: concurrent writes share a transaction, yet a write that raises fails alone,
and none of its own changes are kept. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from journeys.contacts.model import ContactChanges
from journeys.ingest.group_commit import GroupCommit
from journeys.store.contacts import get_contact, upsert_contact
from journeys.store.db import transaction


class Refused(Exception):
    pass


def keep(contact_id: str, fail: bool = False) -> Callable[[Session], str]:
    def write(session: Session) -> str:
        upsert_contact(session, contact_id, ContactChanges(first_name=contact_id))
        if fail:
            raise Refused(contact_id)
        return contact_id

    return write


async def test_a_write_that_raises_fails_alone(engine: Engine) -> None:
    writes = GroupCommit(engine)
    outcomes = await asyncio.gather(
        writes.run(keep("gc-a"), "a"),
        writes.run(keep("gc-b", fail=True), "b"),
        writes.run(keep("gc-c"), "c"),
        writes.run(keep("gc-d", fail=True), "d"),
        writes.run(keep("gc-e"), "e"),
        return_exceptions=True,
    )

    assert outcomes[0::2] == ["gc-a", "gc-c", "gc-e"]
    assert [type(o) for o in outcomes[1::2]] == [Refused, Refused]
    with transaction(engine) as session:
        kept = {
            c: get_contact(session, c) is not None for c in ("gc-a", "gc-b", "gc-c", "gc-d", "gc-e")
        }
    assert kept == {"gc-a": True, "gc-b": False, "gc-c": True, "gc-d": False, "gc-e": True}


async def test_the_store_away_fails_every_write_at_once(engine: Engine) -> None:
    """An outage is no one write's fault: the writes are not tried again one by one."""
    writes = GroupCommit(engine)
    attempts = 0

    def away(session: Session) -> None:
        nonlocal attempts
        attempts += 1
        raise OperationalError("INSERT ...", {}, Exception("connection refused"))

    outcomes = await asyncio.gather(
        writes.run(away, "a"), writes.run(away, "b"), return_exceptions=True
    )

    assert [type(o) for o in outcomes] == [OperationalError, OperationalError]
    assert attempts == 1
