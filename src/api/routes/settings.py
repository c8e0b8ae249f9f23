"""Messaging settings for every journey: frequency caps and quiet times."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Admin, SessionDep
from journeys.messaging.rules import MessagingSettings
from journeys.store.messaging import get_settings, put_settings

router = APIRouter(prefix="/v1/settings", tags=["settings"])


@router.get("/messaging")
def read_messaging(session: SessionDep, _: Admin) -> MessagingSettings:
    return get_settings(session)


@router.put("/messaging")
def write_messaging(body: MessagingSettings, session: SessionDep, _: Admin) -> MessagingSettings:
    """Frequency caps (per channel, commercial messages over all journeys) and quiet times
    (per channel, weekly windows in the contact's time zone). They apply from the next send."""
    put_settings(session, body)
    session.commit()
    return get_settings(session)
