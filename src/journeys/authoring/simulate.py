"""The simulator: a journey run with a given contact and a timed script of events, driven
through the same interpreter as the workflow, on a virtual clock. Nothing is sent,
nothing is stored, Temporal is not used.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from journeys.contacts.model import Contact, ContactChanges
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.common import ContactId, TriggerName, parse_duration
from journeys.definitions.journeys import EmailMessage, JourneyDefinition, PushMessage, SmsMessage
from journeys.definitions.templating import TemplateRenderError
from journeys.engine.clock import zone
from journeys.engine.commands import (
    Activate,
    Activated,
    CallWebhook,
    Command,
    ContactLoaded,
    Enter,
    EntryDecided,
    Finish,
    LoadContact,
    Observation,
    Send,
    SendSettled,
    SendStatus,
    Wait,
    WebhookAnswered,
    Woke,
)
from journeys.engine.events import Attributes, TriggerEvent
from journeys.engine.interpreter import Interpreter
from journeys.engine.program import compile_journey
from journeys.kit.problems import Problem
from journeys.kit.suggest import did_you_mean
from journeys.messaging import compose
from journeys.messaging.policy import Block, BlockReason, Postpone, SendFacts, decide
from journeys.messaging.rules import MessagingRules

SIMULATED_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday morning
MAX_MOVES = 10_000  # a journey has no loops; this only guards against a broken script


def _offset(value: Any) -> Any:
    """`PT2H`, or the short forms `+2h`, `+30m`, `+0s`, `+1d`."""
    if isinstance(value, str):
        short = re.fullmatch(r"\+?(\d+)([smhd])", value.strip())
        if short:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[short.group(2)]
            return timedelta(**{unit: int(short.group(1))})
        return parse_duration(value)
    return value


Offset = Annotated[timedelta, BeforeValidator(_offset)]


class ScriptedEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: Offset = Field(description="When, counted from the start: PT2H or +2h.")
    trigger: TriggerName
    of: str | None = Field(default=None, description="For an interaction: the step it answers.")
    attributes: dict[str, Any] = Field(default_factory=dict)


def parse_scripted(line: Any) -> Any:
    """`+2h email.opened of welcome` as a scripted event (dicts pass through)."""
    if not isinstance(line, str):
        return line
    match = re.fullmatch(r"\s*(\S+)\s+([a-z0-9_.]+)(?:\s+of\s+(\S+))?\s*", line)
    if match is None:
        raise ValueError(
            f"{line!r} is not `+<time> <trigger> [of <step>]`, e.g. +2h email.opened of welcome"
        )
    return {"after": match.group(1), "trigger": match.group(2), "of": match.group(3)}


class SampleContact(ContactChanges):
    """The contact a simulation runs for, bounded as a stored contact is."""

    id: ContactId = "simulated-contact"


class Simulation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: SampleContact = Field(
        default_factory=lambda: SampleContact(),
        description="The contact: email, phone, first_name, attributes, consent, ...",
    )
    attributes: Attributes = Field(
        default_factory=dict, description="The start trigger's attributes."
    )
    events: list[Annotated[ScriptedEvent, BeforeValidator(parse_scripted)]] = Field(
        default_factory=list
    )
    responses: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="What each webhook step answers, by step id."
    )
    messaging: MessagingRules = Field(
        default_factory=MessagingRules,
        description="Quiet times and frequency caps to apply (the deployment's are not read).",
    )
    start_at: datetime = SIMULATED_START


class SimulatedMessage(BaseModel):
    at: datetime
    step: str
    channel: str
    status: SendStatus  # postponed: a quiet time holds it; it is tried again after
    reason: str | None = None
    until: datetime | None = None  # postponed until
    to: str | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None


class SimulatedWait(BaseModel):
    step: str
    started: datetime
    until: datetime | None
    ended: datetime
    by: str  # timer, event, exit, or end of script


class Decision(BaseModel):
    at: datetime
    step: str | None
    what: str
    detail: str | None


class SimulationResult(BaseModel):
    outcome: str
    reason: str | None
    path: list[str]
    messages: list[SimulatedMessage]
    waits: list[SimulatedWait]
    decisions: list[Decision]
    activations: list[dict[str, Any]]
    goal_reached_at: datetime | None
    timeline: list[Decision | SimulatedMessage] = Field(
        default_factory=list, exclude=True, description="Decisions and messages, in order."
    )


# Why a message was not sent, in words (a send's `reason`).
BLOCKED_BECAUSE = {
    BlockReason.UNKNOWN_CONTACT: "the contact is unknown",
    BlockReason.INVALID_ADDRESS: "the contact has no {address}",
    BlockReason.SUPPRESSED: "the contact's {address} is on the suppression list",
    BlockReason.NO_CONSENT: "the contact withdrew consent to {channel}",
    BlockReason.EXPIRED: "quiet times held it longer than its expires_after",
    BlockReason.FREQUENCY_CAP: "a frequency cap: the contact had enough {channel} messages",
}
_ADDRESS = {"email": "email address", "sms": "phone number", "push": "push token or id"}
_NO_SMS_CONSENT = "the contact has not opted in to SMS (commercial SMS needs consent.sms: true)"


def blocked_because(message: SimulatedMessage) -> str:
    """Why a message was not sent, in words."""
    if message.status is SendStatus.POSTPONED and message.until is not None:
        return f"a quiet time; tried again at {message.until:%a %d %b %H:%M}"
    if message.reason not in set(BlockReason):
        return message.reason or ""  # a failed render says what failed
    reason = BlockReason(message.reason)
    if reason is BlockReason.NO_CONSENT and message.channel == "sms":
        return _NO_SMS_CONSENT
    return BLOCKED_BECAUSE[reason].format(
        channel=message.channel, address=_ADDRESS[message.channel]
    )


def script_problems(
    journey: JourneyDefinition, simulation: Simulation, catalog: TriggerCatalog
) -> list[Problem]:
    """Events of the script that cannot happen: an unknown trigger, or an answer to a step
    the journey does not have. Simulated anyway, they would only take the `else` path."""
    steps = [step.id for _, step in journey.walk()]
    problems = []
    for index, event in enumerate(simulation.events):
        where = f"events[{index}]"
        if event.trigger not in catalog:
            problems.append(
                Problem(
                    path=f"{where}.trigger",
                    message=f"unknown trigger {event.trigger!r}"
                    + did_you_mean(event.trigger, catalog),
                )
            )
        if event.of is not None and event.of not in steps:
            problems.append(
                Problem(
                    path=f"{where}.of",
                    message=f"no step {event.of!r} in {journey.id}" + did_you_mean(event.of, steps),
                )
            )
    return problems


_DECISIONS = {
    "entered",
    "branched",
    "split",
    "matched",
    "timed_out",
    "goal",
    "refused",
    "exited",
    "completed",
    "called",
    "failed",
    "activated",
}


def simulate(
    journey: JourneyDefinition, simulation: Simulation, version: int = 0
) -> SimulationResult:
    contact = _contact(simulation.contact)
    start = TriggerEvent(
        event_id="simulated-start",
        trigger=journey.start.trigger,
        contact_id=contact.id,
        occurred_at=simulation.start_at,
        attributes=simulation.attributes,
    )
    program = compile_journey(journey)
    run = Interpreter.begin(program, version=version, instance_id="simulation", start=start)
    pending = sorted(enumerate(simulation.events), key=lambda item: item[1].after)
    messages: list[SimulatedMessage] = []
    waits: list[SimulatedWait] = []
    activations: list[dict[str, Any]] = []
    message_ids: dict[str, str] = {}
    placed: list[tuple[int, SimulatedMessage]] = []  # each with the history entries before it
    now = simulation.start_at
    command: Command = run.resume(now)
    for _ in range(MAX_MOVES):
        observation: Observation
        match command:
            case Finish():
                break
            case LoadContact():
                observation = ContactLoaded(contact.as_scope())
            case Enter(refusal=refusal):
                observation = EntryDecided(admitted=refusal is None, reason=refusal)
            case Send():
                sent = _render(journey, run, command, contact, now, messages, simulation.messaging)
                messages.append(sent)
                placed.append((len(run.state.history), sent))
                message_ids[command.step] = f"simulated-{command.step}-{command.iteration}"
                observation = SendSettled(
                    sent.status, message_ids[command.step], sent.reason, sent.until
                )
            case Activate():
                activations.append(
                    {
                        "at": now,
                        "step": command.step,
                        "trigger": command.trigger,
                        "attributes": command.attributes,
                    }
                )
                observation = Activated()
            case CallWebhook():
                observation = WebhookAnswered(200, simulation.responses.get(command.step, {}))
            case Wait(until=until):
                started, step = now, run.state.step or ""
                now, by = _wait(run, pending, message_ids, simulation.start_at, now, until)
                waits.append(
                    SimulatedWait(step=step, started=started, until=until, ended=now, by=by)
                )
                if by == "end of script":
                    break
                observation = Woke()
        command = run.resume(now, observation)
    state = run.state
    decisions: list[tuple[int, Decision]] = [
        (index, Decision(at=h.at, step=h.step, what=h.what, detail=h.detail))
        for index, h in enumerate(state.history)
        # and a wait that did not wait says why (a date of the data missing or past)
        if h.what in _DECISIONS or (h.what == "waited" and h.detail)
    ]
    # A message comes after the history entries recorded before it was sent.
    in_order = sorted(
        [*placed, *decisions], key=lambda item: (item[0], isinstance(item[1], Decision))
    )
    return SimulationResult(
        outcome=state.status.value,
        reason=state.outcome.reason if state.outcome else None,
        path=_path(run),
        messages=messages,
        waits=waits,
        decisions=[decision for _, decision in decisions],
        activations=activations,
        goal_reached_at=state.goal_reached_at,
        timeline=[item for _, item in in_order],
    )


def _wait(
    run: Interpreter,
    pending: list[tuple[int, ScriptedEvent]],
    message_ids: dict[str, str],
    start_at: datetime,
    now: datetime,
    until: datetime | None,
) -> tuple[datetime, str]:
    """Deliver the script's events until the run can go on, or its timer fires."""
    while pending and (until is None or start_at + pending[0][1].after <= until):
        index, scripted = pending.pop(0)
        now = max(now, start_at + scripted.after)
        run.receive(_event(run, index, scripted, message_ids, now), now)
        if run.can_resume():
            return now, "exit" if run.state.exit_request else "event"
    if until is None:
        return now, "end of script"
    return max(now, until), "timer"


def _event(
    run: Interpreter,
    index: int,
    scripted: ScriptedEvent,
    message_ids: dict[str, str],
    at: datetime,
) -> TriggerEvent:
    attributes = dict(scripted.attributes)
    if scripted.of is not None:
        attributes.setdefault("step", scripted.of)
        attributes.setdefault("message_id", message_ids.get(scripted.of, "not-sent-yet"))
    return TriggerEvent(
        event_id=f"simulated-event-{index + 1}",
        trigger=scripted.trigger,
        contact_id=run.state.contact_id,
        occurred_at=at,
        attributes=attributes,
        instance_id=run.state.instance_id if scripted.of is not None else None,
    )


def _render(
    journey: JourneyDefinition,
    run: Interpreter,
    send: Send,
    contact: Contact,
    now: datetime,
    sent: list[SimulatedMessage],
    rules: MessagingRules,
) -> SimulatedMessage:
    base = {"at": now, "step": send.step, "channel": send.channel.value}
    commercial = [
        m.at for m in sent if m.status is SendStatus.SENT and m.channel == send.channel.value
    ]
    verdict = decide(
        SendFacts(
            contact=contact,
            channel=send.channel,
            purpose=send.purpose,
            suppressed=lambda _: False,
            sent_since=lambda since: sum(at >= since for at in commercial),
            rules=rules,
            now=now,
            timezone=zone(contact.timezone, journey.timezone),
            due_since=run.state.wait_started_at or now,
            expires_after=send.expires_after,
            capped=journey.frequency_caps,
        )
    )
    match verdict:
        case Block(reason=reason):
            return SimulatedMessage(**base, status=SendStatus.BLOCKED, reason=reason.value)
        case Postpone(until=until):
            return SimulatedMessage(
                **base, status=SendStatus.POSTPONED, reason="quiet_time", until=until
            )
    values = compose.context(
        contact.as_scope(),
        run.state.start.attributes,
        {"id": journey.id, "name": journey.name, "version": run.state.version},
    )
    try:
        return _rendered(send, contact, values, base)
    except TemplateRenderError as error:  # as the worker does: the message fails, the run goes on
        return SimulatedMessage(**base, status=SendStatus.FAILED, reason=str(error))


def _rendered(
    send: Send, contact: Contact, values: dict[str, Any], base: dict[str, Any]
) -> SimulatedMessage:
    match send.message:
        case EmailMessage() as message:
            email = compose.render_email(message, values, tracking=None)
            return SimulatedMessage(
                **base,
                status=SendStatus.SENT,
                to=contact.email,
                subject=email.subject,
                text=email.text,
                html=email.html,
            )
        case SmsMessage() as message:
            text = compose.render_sms(message, values).text
            return SimulatedMessage(**base, status=SendStatus.SENT, to=contact.phone, text=text)
        case PushMessage() as message:
            push = compose.render_push(message, values)
            return SimulatedMessage(
                **base, status=SendStatus.SENT, to=contact.id, subject=push.title, text=push.body
            )
    raise AssertionError(send.message)  # pragma: no cover


def _contact(sample: SampleContact) -> Contact:
    return Contact.model_validate(sample.model_dump(exclude_none=True))


def _path(run: Interpreter) -> list[str]:
    path: list[str] = []
    for entry in run.state.history:
        if entry.step is not None and (not path or path[-1] != entry.step):
            path.append(entry.step)
    return path
