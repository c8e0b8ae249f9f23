"""What the interpreter asks its driver to do, and what the driver reports back.

The driver (the Temporal workflow, or the simulator) carries out each command and
feeds the matching observation to `Interpreter.resume`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from journeys.definitions.common import Channel
from journeys.definitions.journeys import (
    EmailMessage,
    Purpose,
    PushMessage,
    SmsMessage,
    WebhookCall,
)
from journeys.engine.state import Outcome


@dataclass(frozen=True)
class LoadContact:
    """Read the contact now: what comes next looks at contact.* (or its time zone)."""


@dataclass(frozen=True)
class Enter:
    """Record the contact's entry (or its refusal) and apply re-entry and rate rules."""

    refusal: str | None  # set when the start condition is false


@dataclass(frozen=True)
class Send:
    step: str
    iteration: int  # the same again when a quiet time postponed the message
    channel: Channel
    message: EmailMessage | SmsMessage | PushMessage
    purpose: Purpose = Purpose.COMMERCIAL
    expires_after: timedelta | None = None


@dataclass(frozen=True)
class Activate:
    """Fire a custom trigger for the contact, routed like any event."""

    step: str
    iteration: int
    trigger: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class CallWebhook:
    step: str
    iteration: int
    call: WebhookCall


@dataclass(frozen=True)
class Wait:
    """Sleep until `until` (None: no deadline), or until `Interpreter.can_resume()`."""

    until: datetime | None


@dataclass(frozen=True)
class Finish:
    outcome: Outcome


Command = LoadContact | Enter | Send | Activate | CallWebhook | Wait | Finish


@dataclass(frozen=True)
class ContactLoaded:
    contact: dict[str, Any] | None  # None: no such contact


@dataclass(frozen=True)
class EntryDecided:
    admitted: bool
    reason: str | None = None


class SendStatus(StrEnum):
    """How a send ended, for the run: every channel, the simulator and test sends alike."""

    SENT = "sent"  # the provider accepted it
    BLOCKED = "blocked"  # not sent on purpose: consent, address, caps, ... (`reason`)
    FAILED = "failed"  # the provider refused it for good, or retries ran out
    POSTPONED = "postponed"  # a quiet time holds it until `until`; then it is tried again


@dataclass(frozen=True)
class SendSettled:
    status: SendStatus
    message_id: str | None = None
    reason: str | None = None
    until: datetime | None = None  # postponed: when to try again


@dataclass(frozen=True)
class Activated:
    started: list[str] = field(default_factory=list)
    signaled: list[str] = field(default_factory=list)
    error: str | None = None
    refused: dict[str, str] = field(default_factory=dict)  # journey -> why it did not admit


@dataclass(frozen=True)
class WebhookAnswered:
    status: int | None  # None: no answer (timeouts, refused connections, retries spent)
    response: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Woke:
    """A wait ended: its time came, or something it waits for arrived."""


Observation = ContactLoaded | EntryDecided | SendSettled | Activated | WebhookAnswered | Woke
