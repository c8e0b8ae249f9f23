"""Messaging settings for every journey: frequency caps and quiet times."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Admin, SessionDep
from journeys.messaging.rules import MessagingRules
from journeys.store.messaging_rules import get_rules, put_rules

router = APIRouter(prefix="/v1/settings", tags=["settings"])


@router.get("/messaging")
def read_messaging(session: SessionDep, _: Admin) -> MessagingRules:
    return get_rules(session)


@router.put("/messaging")
def write_messaging(body: MessagingRules, session: SessionDep, _: Admin) -> MessagingRules:
    """Frequency caps (per channel, commercial messages over all journeys) and quiet times
    (per channel, weekly windows in the contact's time zone). They apply from the next send."""
    put_rules(session, body)
    session.commit()
    return get_rules(session)
