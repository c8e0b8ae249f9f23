"""Small builders for definitions and events used across the core's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from journeys.definitions.documents import parse_text
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def journey(text: str) -> JourneyDefinition:
    return JourneyDefinition.model_validate(parse_text(text)[0])


def event(
    trigger: str,
    event_id: str,
    contact_id: str = "c1",
    attributes: dict[str, Any] | None = None,
    instance_id: str | None = None,
    at: datetime = T0,
) -> TriggerEvent:
    return TriggerEvent(
        event_id=event_id,
        trigger=trigger,
        contact_id=contact_id,
        occurred_at=at,
        attributes=attributes or {},
        instance_id=instance_id,
    )


def draft(journey_id: str) -> dict[str, Any]:
    """A valid journey document, as the editor sends one: an email, then a wait."""
    return {
        "kind": "Journey",
        "id": journey_id,
        "name": journey_id.capitalize(),
        "start": {"trigger": "contact.created"},
        "steps": [
            {"id": "hello", "email": {"subject": "Hi {{ contact.first_name }}", "text": "Hi"}},
            {"id": "pause", "wait": "PT1H"},
        ],
    }


def half_written_draft(journey_id: str) -> dict[str, Any]:
    """The same, half written: a step of no kind yet, an awaited trigger misspelt (email.opend)
    and a wait that is no duration."""
    return {
        "kind": "Journey",
        "id": journey_id,
        "start": {"trigger": "contact.created"},
        "steps": [
            {"id": "hello"},
            {"id": "opened", "wait_for": {"trigger": "email.opend", "within": "P1D"}},
            {"id": "pause", "wait": "soon"},
        ],
    }
