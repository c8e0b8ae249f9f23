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
