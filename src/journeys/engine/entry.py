"""Re-entry: may a contact enter a journey again, given its previous entry?"""

from __future__ import annotations

from datetime import datetime

from journeys.definitions.journeys import Reentry, ReentryAfter

REENTRY_BLOCKED = "reentry_blocked"
CONDITION_FALSE = "condition_false"


def reentry_refusal(rule: Reentry, last_entered_at: datetime | None, now: datetime) -> str | None:
    """The refusal reason, or None when the contact may enter."""
    if last_entered_at is None or rule == "always":
        return None
    if isinstance(rule, ReentryAfter) and now >= last_entered_at + rule.after:
        return None
    return REENTRY_BLOCKED
