"""Entry: may a contact enter a journey now? Decided once, from facts the entry ledger reads
under the contact's lock, so that the answer to the event is the truth about the run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from journeys.definitions.journeys import EntryRateLimit, JourneyDefinition, Reentry, ReentryAfter
from journeys.engine.conditions import evaluate


class EntryRefusal(StrEnum):
    """Why an entry was refused; each is recorded in the ledger and told in the answer."""

    JOURNEY_PAUSED = "journey_paused"
    OUTSIDE_WINDOW = "outside_window"
    UNKNOWN_CONTACT = "unknown_contact"
    CONDITION_FALSE = "condition_false"
    ALREADY_IN_JOURNEY = "already_in_journey"
    REENTRY_BLOCKED = "reentry_blocked"
    RATE_LIMITED = "rate_limited"
    # Admitted, but Temporal refused to begin the run (not for want of being reachable):
    # the other journeys of the event go on, and the contact is not left half inside.
    START_FAILED = "start_failed"


@dataclass(frozen=True)
class EntryFacts:
    """What is true when a start event asks to admit its contact."""

    now: datetime
    paused: bool
    contact: Mapping[str, Any] | None  # as `contact.*` reads it; None: no such contact
    in_journey: bool  # a run of this contact (and binding) is going on
    last_entered_at: datetime | None  # of this contact (and binding)
    entered_within_rate_period: int  # by anyone, over the rate limit's rolling period


def refusal(
    journey: JourneyDefinition, attributes: Mapping[str, Any], facts: EntryFacts
) -> EntryRefusal | None:
    """Why the contact may not enter, or None when it may; checked in the order of the
    reasons, so that an answer names the first rule that stood in the way."""
    entry = journey.entry
    if facts.paused:
        return EntryRefusal.JOURNEY_PAUSED
    if entry is not None and (
        (entry.from_ is not None and facts.now < entry.from_)
        or (entry.until is not None and facts.now >= entry.until)
    ):
        return EntryRefusal.OUTSIDE_WINDOW
    if facts.contact is None:
        return EntryRefusal.UNKNOWN_CONTACT
    if not evaluate(journey.start.when, {"trigger": attributes, "contact": facts.contact}):
        return EntryRefusal.CONDITION_FALSE
    if facts.in_journey and not journey.parallel:
        return EntryRefusal.ALREADY_IN_JOURNEY
    if reentry_refusal(journey.reentry, facts.last_entered_at, facts.now) is not None:
        return EntryRefusal.REENTRY_BLOCKED
    limit = entry.rate_limit if entry is not None else None
    if limit is not None and facts.entered_within_rate_period >= limit.count:
        return EntryRefusal.RATE_LIMITED
    return None


def reentry_refusal(
    rule: Reentry, last_entered_at: datetime | None, now: datetime
) -> EntryRefusal | None:
    """REENTRY_BLOCKED, or None when the contact may enter again."""
    if last_entered_at is None or rule == "always":
        return None
    if isinstance(rule, ReentryAfter) and now >= last_entered_at + rule.after:
        return None
    return EntryRefusal.REENTRY_BLOCKED


class EntryRequest(BaseModel):
    """A run started before the gateway decided entries asks to admit its contact itself."""

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
