"""Idempotency across time, with an injected clock."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from journeys.store.db import transaction
from journeys.store.event_ids import Claim, claim_event, complete_event, purge_events, release_event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def claim(engine: Engine, event_id: str, at: datetime) -> Claim:
    with transaction(engine) as session:
        return claim_event(session, event_id, "order.placed", at, DAY)


def test_an_event_id_is_a_duplicate_for_the_whole_window(engine: Engine) -> None:
    assert claim(engine, "e1", T0) is Claim.NEW
    with transaction(engine) as session:
        complete_event(session, "e1")
    assert claim(engine, "e1", T0 + timedelta(hours=5)) is Claim.DUPLICATE
    assert claim(engine, "e1", T0 + timedelta(hours=23, minutes=59)) is Claim.DUPLICATE
    assert claim(engine, "e1", T0 + timedelta(hours=24)) is Claim.NEW  # the window has passed


def test_a_released_claim_lets_the_retry_act(engine: Engine) -> None:
    assert claim(engine, "e2", T0) is Claim.NEW
    with transaction(engine) as session:
        release_event(session, "e2")  # routing failed: Temporal was away
    assert claim(engine, "e2", T0 + timedelta(seconds=5)) is Claim.NEW


def test_an_abandoned_claim_is_taken_over(engine: Engine) -> None:
    assert claim(engine, "e3", T0) is Claim.NEW  # the gateway died before completing it
    # Until it is given up, the claim may still be routed (and fail): neither new nor done.
    assert claim(engine, "e3", T0 + timedelta(seconds=10)) is Claim.IN_FLIGHT
    assert claim(engine, "e3", T0 + timedelta(minutes=2)) is Claim.NEW


def test_old_ids_are_purged(engine: Engine) -> None:
    claim(engine, "old", T0)
    claim(engine, "new", T0 + DAY)
    with transaction(engine) as session:
        assert purge_events(session, T0 + timedelta(hours=1)) == 1
    assert claim(engine, "new", T0 + DAY + timedelta(seconds=1)) is Claim.IN_FLIGHT
