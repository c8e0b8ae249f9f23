"""Trigger events: what producers and channels say happened to a contact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from journeys.kit.bounded import bounded

MAX_ATTRIBUTES = 200
MAX_TEXT = 10_000
MAX_DEPTH = 5

# Events are small facts, not documents: bounded in count, text length and nesting, where
# they come in (producers' requests, simulations).
Attributes = Annotated[dict[str, Any], AfterValidator(bounded(MAX_ATTRIBUTES, MAX_TEXT, MAX_DEPTH))]


class TriggerEvent(BaseModel):
    """One occurrence of a trigger for one contact, as it travels to a journey run."""

    event_id: str
    trigger: str
    contact_id: str
    binding_id: str | None = None
    occurred_at: datetime
    attributes: dict[str, Any] = Field(default_factory=dict)
    # Interaction events answer one message of one run: the run's instance id.
    instance_id: str | None = None
