"""Re-entry: may a contact enter a journey again, given its previous entry?"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from journeys.definitions.conditions import Scope, scopes_of
from journeys.definitions.journeys import JourneyDefinition, Reentry, ReentryAfter
from journeys.engine.conditions import evaluate

REENTRY_BLOCKED = "reentry_blocked"
CONDITION_FALSE = "condition_false"


def reentry_refusal(rule: Reentry, last_entered_at: datetime | None, now: datetime) -> str | None:
    """The refusal reason, or None when the contact may enter."""
    if last_entered_at is None or rule == "always":
        return None
    if isinstance(rule, ReentryAfter) and now >= last_entered_at + rule.after:
        return None
    return REENTRY_BLOCKED


def may_start(definition: JourneyDefinition, trigger_attributes: Mapping[str, Any]) -> bool:
    """Whether an event could start the journey, judged from its attributes alone.

    The gateway asks this to spare Temporal a run that would only refuse itself. A start
    condition that also reads the contact is left to the run (True here).
    """
    condition = definition.start.when
    if not scopes_of(condition) <= {Scope.TRIGGER}:
        return True
    return evaluate(condition, {"trigger": trigger_attributes})
