"""What the interpreter asks its driver to do, and what the driver reports back.

The driver (the Temporal workflow, or the simulator) carries out each command and
feeds the matching observation to `Interpreter.resume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys.definitions.common import Channel
from journeys.definitions.journeys import EmailMessage, PushMessage, SmsMessage
from journeys.engine.state import Outcome


@dataclass(frozen=True)
class LoadContact:
    """Read the contact now: a condition about to be evaluated looks at contact.*."""


@dataclass(frozen=True)
class Enter:
    """Record the contact's entry (or its refusal) and decide re-entry from the ledger."""

    refusal: str | None  # set when the start condition is false


@dataclass(frozen=True)
class Send:
    step: str
    iteration: int
    channel: Channel
    message: EmailMessage | SmsMessage | PushMessage


@dataclass(frozen=True)
class Wait:
    """Sleep until `until`, or until `Interpreter.can_resume()` becomes true."""

    until: datetime


@dataclass(frozen=True)
class Finish:
    outcome: Outcome


Command = LoadContact | Enter | Send | Wait | Finish


@dataclass(frozen=True)
class ContactLoaded:
    contact: dict[str, Any] | None  # None: no such contact


@dataclass(frozen=True)
class EntryDecided:
    admitted: bool
    reason: str | None = None


@dataclass(frozen=True)
class SendSettled:
    status: str  # sent | blocked | failed
    message_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Woke:
    """A wait ended: its time came, or something it waits for arrived."""


Observation = ContactLoaded | EntryDecided | SendSettled | Woke
