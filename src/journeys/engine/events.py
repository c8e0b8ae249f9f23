"""Trigger events: what producers and channels say happened to a contact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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
