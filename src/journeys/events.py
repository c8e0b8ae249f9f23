"""Trigger events: what producers and channels say happened to a contact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

MAX_ATTRIBUTES = 200
MAX_TEXT = 10_000
MAX_DEPTH = 5


def _within_limits(attributes: dict[str, Any]) -> dict[str, Any]:
    """Events are small facts, not documents: bounded in count, text length and nesting."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes, got {len(attributes)}")
    for name, value in attributes.items():
        _check(value, name, depth=1)
    return attributes


def _check(value: Any, where: str, depth: int) -> None:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ValueError(f"{where}: text longer than {MAX_TEXT} characters")
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _check(item, f"{where}.{key}", depth + 1)


Attributes = Annotated[dict[str, Any], AfterValidator(_within_limits)]


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
