"""What crosses between the journey workflow and its activities: each activity's name with
its request and result types.

The workflow calls activities by these names, so it imports none of their code (which does
I/O); the worker registers its implementations under the same names. A result is the
engine's own observation wherever the engine has one, so nothing is copied into a
same-shaped model on the way back.

Requests keep their fields flat: a request scheduled by a worker of the previous release
must still decode in this one (an activity may be retried for a day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from journeys.definitions.common import Channel
from journeys.definitions.journeys import (
    EmailMessage,
    Purpose,
    PushMessage,
    SmsMessage,
    WebhookCall,
)
from journeys.engine.commands import Activated, EntryDecided, SendSettled, WebhookAnswered
from journeys.engine.entry import EntryRequest
from journeys.engine.state import HistoryEntry

Request = TypeVar("Request")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Activity(Generic[Request, Result]):
    """An activity as both sides know it: its registered name and its result's type."""

    name: str
    result_type: Any  # the type Result stands for, given to the data converter


class StepRef(BaseModel):
    """Which step of which run asks: one message, webhook call or activation."""

    instance_id: str
    journey_id: str
    journey_name: str
    version: int
    contact_id: str
    step: str
    iteration: int  # the step's visit in the run: a retry of the same visit is the same one

    @property
    def journey(self) -> dict[str, Any]:
        """What `journey.*` means in templates."""
        return {"id": self.journey_id, "name": self.journey_name, "version": self.version}


class SendRequest(StepRef):
    workflow_id: str
    message: EmailMessage | SmsMessage | PushMessage
    trigger: dict[str, Any]  # the start trigger's attributes, for personalization
    purpose: Purpose = Purpose.COMMERCIAL
    expires_after: timedelta | None = None
    capped: bool = True  # false: the journey opted out of frequency caps
    timezone: str = "UTC"  # the journey's, when the contact has none
    at: datetime  # when the run asks: quiet times and caps are judged at this moment
    test: bool = False  # a test send: marked as such, outside any run


class WebhookRequest(StepRef):
    call: WebhookCall
    trigger: dict[str, Any]
    event: dict[str, Any] | None
    response: dict[str, Any] | None


class ActivateRequest(BaseModel):
    instance_id: str
    step: str
    iteration: int
    contact_id: str
    binding_id: str | None
    trigger: str
    attributes: dict[str, Any]


class RunEventsRequest(BaseModel):
    instance_id: str
    journey_id: str
    version: int
    contact_id: str
    first_seq: int
    entries: list[HistoryEntry]


class OutcomeRequest(BaseModel):
    instance_id: str
    status: str
    reason: str | None
    at: datetime
    goal_reached_at: datetime | None


class RunEndRequest(BaseModel):
    """A run's end in one call: the history entries not stored yet (if any) and, for a run
    that entered, its outcome."""

    events: RunEventsRequest | None
    outcome: OutcomeRequest | None


class ContactRequest(BaseModel):
    contact_id: str
    fields: list[str]  # those the run reads (Program.contact_fields): its history keeps them


# The contact as `contact.*` reads it (its id and the fields asked for), or None when there
# is no such contact.
LOAD_CONTACT = Activity[ContactRequest, dict[str, Any] | None](
    "load_contact", dict[str, Any] | None
)
ENTER_JOURNEY = Activity[EntryRequest, EntryDecided]("enter_journey", EntryDecided)
RECORD_RUN_EVENTS = Activity[RunEventsRequest, None]("record_run_events", None)
RECORD_OUTCOME = Activity[OutcomeRequest, None]("record_outcome", None)
RECORD_END = Activity[RunEndRequest, None]("record_end", None)
SEND_EMAIL = Activity[SendRequest, SendSettled]("send_email", SendSettled)
SEND_SMS = Activity[SendRequest, SendSettled]("send_sms", SendSettled)
SEND_PUSH = Activity[SendRequest, SendSettled]("send_push", SendSettled)
CALL_WEBHOOK = Activity[WebhookRequest, WebhookAnswered]("call_webhook", WebhookAnswered)
ACTIVATE_TRIGGER = Activity[ActivateRequest, Activated]("activate_trigger", Activated)

# How long one attempt of a send may run (its start-to-close timeout): after that Temporal
# gives the attempt up for lost, and the attempt's claim on its message lapses with it.
SEND_ATTEMPT = timedelta(seconds=60)

SENDS: dict[Channel, Activity[SendRequest, SendSettled]] = {
    Channel.EMAIL: SEND_EMAIL,
    Channel.SMS: SEND_SMS,
    Channel.PUSH: SEND_PUSH,
}
