"""What email, SMS and push providers report, and recipients through them: receipts,
bounces, complaints, opens, clicks, failures, replies and unsubscribes, recorded on the
message and raised to the run that sent it.

A hard bounce or a complaint puts the address on the suppression list, and so does an SMS
failure the provider calls permanent; a STOP reply withdraws the number's SMS consent, and
a START (as the provider's opt-out handling classes it) grants it back. An event raised
twice carries the same id and acts once. An event about a message Journeys does not know
is counted as ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from journeys.contacts.model import Consent, ContactChanges, ContactWriter
from journeys.ingest.interactions import Interactions, message_ref
from journeys.messaging.tracking import UnsubscribeRef
from journeys.store.contacts import contacts_with_phone, get_contact, upsert_contact
from journeys.store.db import transaction
from journeys.store.deliveries import find_delivery, last_sms_to, record_engagement
from journeys.store.suppressions import lift, suppress
from journeys.store.tables import DeliveryRow

# Replies that mean "stop texting me", in English and French, as carriers expect.
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt"}
)


class EmailEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")  # providers add their own fields

    message_id: str = Field(description="Journeys' message id, or the provider's for it.")
    event: Literal["delivered", "bounced", "complained"]
    bounce_type: Literal["hard", "soft"] | None = None


class SmsEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str
    event: Literal["delivered", "failed"] = Field(
        description="`failed`: the carrier could not deliver it (failed or undelivered)."
    )
    error_code: str | None = Field(default=None, max_length=40, description="The provider's.")
    permanent: bool = Field(
        default=False,
        description="The number cannot take SMS (unknown, no longer in service, a landline): "
        "Journeys suppresses it.",
    )


class PushEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str
    event: Literal["delivered", "opened", "clicked", "failed"]
    error_code: str | None = Field(default=None, max_length=40, description="The provider's.")


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(alias="from", min_length=3, max_length=40)
    text: str = Field(max_length=2000)
    opt_out_type: Literal["STOP", "START", "HELP"] | None = Field(
        default=None,
        description="The keyword's class, when the provider's opt-out handling found one "
        "(Twilio's Advanced Opt-Out): it decides over the text.",
    )


_Report = TypeVar("_Report", EmailEvent, SmsEvent, PushEvent)


class Handled(BaseModel):
    accepted: int = Field(description="Events that reached Journeys' records (and their runs).")
    ignored: int = Field(description="Events about messages Journeys does not know.")
    action: str | None = None


class ProviderEvents:
    def __init__(self, engine: Engine, interactions: Interactions) -> None:
        self._engine = engine
        self._interactions = interactions

    async def email(self, events: list[EmailEvent]) -> Handled:
        async def act(delivery: DeliveryRow, event: EmailEvent) -> None:
            if event.event == "complained" or event.bounce_type == "hard":
                reason = "complaint" if event.event == "complained" else "hard_bounce"
                await asyncio.to_thread(self._suppress, delivery, reason)
            if event.event == "complained":  # the contact's own word: it sticks
                await asyncio.to_thread(self._withdraw, delivery.contact_id, "email", "complaint")
            attributes = {}
            if event.event == "bounced":
                attributes = {"bounce_type": event.bounce_type}
                await asyncio.to_thread(
                    self._record, delivery.message_id, "bounced", bounce_type=event.bounce_type
                )
            await self._raise(delivery, f"email.{event.event}", event.event, attributes)

        return await self._each(events, act)

    async def sms(self, events: list[SmsEvent]) -> Handled:
        async def act(delivery: DeliveryRow, event: SmsEvent) -> None:
            if event.event == "failed" and event.permanent:
                await asyncio.to_thread(self._suppress, delivery, "undeliverable")
            await self._reported(delivery, "sms", event.event, event.error_code)

        return await self._each(events, act)

    async def sms_reply(self, reply: InboundSms) -> Handled:
        """STOP (or ARRET, UNSUBSCRIBE, ..., or what the provider classes as STOP) withdraws
        the number's SMS consent; START, as the provider classes it, grants it back; HELP is
        the provider's to answer. Anything else raises sms.replied, with its `text`, to the
        run whose SMS the number got last."""
        phone = "".join(c for c in reply.from_ if c.isdigit() or c == "+")
        keyword = reply.opt_out_type
        if keyword is None and reply.text.strip().lower() in STOP_WORDS:
            keyword = "STOP"
        if keyword == "STOP":
            stopped = await asyncio.to_thread(self._stop, phone)
            # A number no contact holds yet is suppressed all the same; no consent changed.
            action = "sms consent withdrawn, number suppressed" if stopped else "number suppressed"
            return Handled(accepted=stopped, ignored=0, action=action)
        if keyword == "START":
            started = await asyncio.to_thread(self._start, phone)
            action = "sms consent granted, number allowed" if started else "number allowed"
            return Handled(accepted=started, ignored=0, action=action)
        if keyword == "HELP":  # not an answer to a journey's question
            return Handled(accepted=0, ignored=1, action="help: the provider answers it")
        delivery = await asyncio.to_thread(self._last_sms, phone)
        if delivery is None:
            return Handled(accepted=0, ignored=1)
        text = reply.text.strip()
        await self._raise(delivery, "sms.replied", f"reply:{text[:100]}", {"text": text})
        return Handled(accepted=1, ignored=0)

    async def push(self, events: list[PushEvent]) -> Handled:
        async def act(delivery: DeliveryRow, event: PushEvent) -> None:
            await self._reported(delivery, "push", event.event, event.error_code)

        return await self._each(events, act)

    async def unsubscribe(self, ref: UnsubscribeRef) -> None:
        """A one-click unsubscribe: the contact's consent for the channel is withdrawn (a
        second time changes nothing), and `<channel>.unsubscribed` raised to the message's
        run. The recipient gets their answer even while Temporal is away."""
        await asyncio.to_thread(self._withdraw, ref.contact_id, ref.channel, "unsubscribe")
        delivery = await asyncio.to_thread(self._find, ref.message_id)
        if delivery is not None:
            await self._interactions.report(
                f"{ref.channel}.unsubscribed",
                message_ref(delivery),
                f"{delivery.message_id}:unsubscribed",
            )

    async def _reported(
        self, delivery: DeliveryRow, channel: str, what: str, error_code: str | None
    ) -> None:
        """A receipt, an open, a click, or a failure after the message was handed over."""
        attributes: dict[str, str | None] = {}
        if what == "failed":
            attributes = {"reason": "undelivered", "error_code": error_code}
            await asyncio.to_thread(
                self._record, delivery.message_id, "failed", error_code=error_code
            )
        await self._raise(delivery, f"{channel}.{what}", what, attributes)

    async def _each(
        self,
        events: Sequence[_Report],
        act: Callable[[DeliveryRow, _Report], Awaitable[None]],
    ) -> Handled:
        """Act on each report about a message Journeys sent; count the others as ignored."""
        handled = Handled(accepted=0, ignored=0)
        for event in events:
            delivery = await asyncio.to_thread(self._find, event.message_id)
            if delivery is None:
                handled.ignored += 1
                continue
            handled.accepted += 1
            await act(delivery, event)
        return handled

    async def _raise(
        self,
        delivery: DeliveryRow,
        trigger: str,
        what: str,
        attributes: Mapping[str, str | None] | None = None,
    ) -> None:
        """Raise the interaction to the message's run, under an id that makes a provider's
        retry act once; Temporal being away fails the call, so that the provider retries."""
        await self._interactions.report(
            trigger,
            message_ref(delivery),
            f"{delivery.message_id}:{what}",
            {name: value for name, value in (attributes or {}).items() if value is not None},
            strict=True,
        )

    def _find(self, message_id: str) -> DeliveryRow | None:
        with transaction(self._engine) as session:
            return find_delivery(session, message_id)

    def _record(self, message_id: str, what: str, **details: str | None) -> None:
        with transaction(self._engine) as session:
            record_engagement(session, message_id, what, datetime.now(UTC), **details)

    def _withdraw(self, contact_id: str, channel: str, how: str) -> None:
        with transaction(self._engine) as session:
            if get_contact(session, contact_id) is not None:
                consent = Consent.model_validate({channel: False})
                changes = ContactChanges(consent=consent)
                upsert_contact(session, contact_id, changes, ContactWriter.CONTACT, how)

    def _suppress(self, delivery: DeliveryRow, reason: str) -> None:
        if delivery.recipient is None:
            return
        with transaction(self._engine) as session:
            suppress(session, delivery.channel, delivery.recipient, reason, delivery.message_id)

    def _last_sms(self, phone: str) -> DeliveryRow | None:
        with transaction(self._engine) as session:
            return last_sms_to(session, phone)

    def _stop(self, phone: str) -> int:
        """Suppress the number, so that no contact given it later gets an SMS either, and
        withdraw SMS consent from every contact with it; how many."""
        with transaction(self._engine) as session:
            suppress(session, "sms", phone, "stop", None)
            ids = contacts_with_phone(session, phone)
            changes = ContactChanges(consent=Consent(sms=False))
            for contact_id in ids:
                upsert_contact(session, contact_id, changes, ContactWriter.CONTACT, "stop")
            return len(ids)

    def _start(self, phone: str) -> int:
        """The number's holder opted in again, from the number itself: it leaves the
        suppression list (a number that texts us takes SMS), and every contact with it
        consents to SMS, recorded as given by that START; how many."""
        with transaction(self._engine) as session:
            for reason in ("stop", "undeliverable"):
                lift(session, "sms", phone, reason)
            ids = contacts_with_phone(session, phone)
            changes = ContactChanges(consent=Consent(sms=True))
            for contact_id in ids:
                upsert_contact(session, contact_id, changes, ContactWriter.CONSENT, "sms START")
            return len(ids)
