"""Re-entry: may a contact enter a journey again, given its previous entry?"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from journeys.definitions.conditions import Scope, scopes_of
from journeys.definitions.journeys import EntryRateLimit, JourneyDefinition, Reentry, ReentryAfter
from journeys.engine.conditions import evaluate

# Why an entry was refused.
CONDITION_FALSE = "condition_false"
REENTRY_BLOCKED = "reentry_blocked"
OUTSIDE_WINDOW = "outside_window"
RATE_LIMITED = "rate_limited"
JOURNEY_PAUSED = "journey_paused"


def reentry_refusal(rule: Reentry, last_entered_at: datetime | None, now: datetime) -> str | None:
    """The refusal reason, or None when the contact may enter."""
    if last_entered_at is None or rule == "always":
        return None
    if isinstance(rule, ReentryAfter) and now >= last_entered_at + rule.after:
        return None
    return REENTRY_BLOCKED


def early_refusal(
    definition: JourneyDefinition, trigger_attributes: Mapping[str, Any], at: datetime
) -> str | None:
    """Why an event cannot start the journey, judged from the event alone, or None.

    The gateway asks this to spare Temporal a run that would only refuse itself: outside
    the entry window, or a start condition on the trigger's attributes that is false. A
    condition that also reads the contact is left to the run.
    """
    entry = definition.entry
    if entry is not None and (
        (entry.from_ is not None and at < entry.from_)
        or (entry.until is not None and at >= entry.until)
    ):
        return OUTSIDE_WINDOW
    condition = definition.start.when
    if scopes_of(condition) <= {Scope.TRIGGER} and not evaluate(
        condition, {"trigger": trigger_attributes}
    ):
        return CONDITION_FALSE
    return None


class EntryRequest(BaseModel):
    """A run asks to admit its contact: the facts the entry ledger decides on."""

    journey_id: str
    version: int
    contact_id: str
    binding_id: str | None
    instance_id: str
    event_id: str
    reentry: Reentry
    rate_limit: EntryRateLimit | None = None
    refusal: str | None  # already refused by the run (its start condition)
    at: datetime
