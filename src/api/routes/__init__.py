"""One router per resource, each with its prefix; a router imports no other router."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    api_keys,
    channels,
    cloudevents,
    contacts,
    events,
    health,
    journeys,
    records,
    sdk,
    segment,
    settings,
    tracking,
    triggers,
    unsubscribe,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    events.router,
    cloudevents.router,
    segment.router,
    records.router,
    triggers.router,
    journeys.router,
    contacts.router,
    api_keys.router,
    channels.router,
    settings.router,
    tracking.router,
    unsubscribe.router,
    sdk.router,
)
