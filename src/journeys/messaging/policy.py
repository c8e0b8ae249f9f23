"""Whether a message may go out now: decided at send time, from current contact data.

Pure: the caller gathers the facts (the contact, the suppression list, the recent sends,
the rules, the clock) and this module decides. In order: an address to send to, the
suppression list, consent, expiry, quiet times, then frequency caps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from journeys.contacts.model import Contact
from journeys.definitions.common import Channel
from journeys.definitions.journeys import Purpose, Weekday
from journeys.messaging.rules import MessagingRules, QuietWindow

_WEEKDAYS = list(Weekday)


class BlockReason(StrEnum):
    UNKNOWN_CONTACT = "unknown_contact"
    INVALID_ADDRESS = "invalid_address"
    SUPPRESSED = "suppressed"
    NO_CONSENT = "no_consent"
    EXPIRED = "expired"
    FREQUENCY_CAP = "frequency_cap"


@dataclass(frozen=True)
class Allow:
    pass


@dataclass(frozen=True)
class Block:
    reason: BlockReason


@dataclass(frozen=True)
class Postpone:
    until: datetime  # the end of the quiet time


Verdict = Allow | Block | Postpone


def recipient(contact: Contact, channel: Channel) -> str | None:
    match channel:
        case Channel.EMAIL:
            return contact.email
        case Channel.SMS:
            return contact.phone
        case Channel.PUSH:
            # Push providers address devices; a contact without a token is addressed by id.
            token = contact.attributes.get("push_token")
            return token if isinstance(token, str) and token else contact.id
    raise AssertionError(channel)  # pragma: no cover


def consent_refusal(contact: Contact, channel: Channel, purpose: Purpose) -> BlockReason | None:
    """Commercial email and push go out unless the contact withdrew consent; commercial SMS
    needs an explicit opt-in. Transactional messages need no marketing consent, but an SMS
    never goes to a contact who answered STOP."""
    consent = getattr(contact.consent, channel.value)
    if purpose is Purpose.TRANSACTIONAL:
        refused = channel is Channel.SMS and consent is False
    elif channel is Channel.SMS:
        refused = consent is not True
    else:
        refused = consent is False
    return BlockReason.NO_CONSENT if refused else None


@dataclass(frozen=True)
class SendFacts:
    contact: Contact | None
    channel: Channel
    purpose: Purpose
    suppressed: Callable[[str], bool]  # is this address on the suppression list?
    sent_since: Callable[[datetime], int]  # commercial messages sent to the contact since
    rules: MessagingRules
    now: datetime
    timezone: ZoneInfo  # the contact's, else the journey's
    due_since: datetime  # when the message was first due
    expires_after: timedelta | None = None
    capped: bool = True  # false: the journey opted out of frequency caps


def decide(facts: SendFacts) -> Verdict:
    contact = facts.contact
    if contact is None:
        return Block(BlockReason.UNKNOWN_CONTACT)
    address = recipient(contact, facts.channel)
    if not address:
        return Block(BlockReason.INVALID_ADDRESS)
    if facts.suppressed(address):
        return Block(BlockReason.SUPPRESSED)
    refusal = consent_refusal(contact, facts.channel, facts.purpose)
    if refusal is not None:
        return Block(refusal)
    expires = facts.due_since + facts.expires_after if facts.expires_after else None
    if expires is not None and facts.now >= expires:
        return Block(BlockReason.EXPIRED)
    quiet_end = quiet_until(
        facts.now, facts.rules.quiet_times.get(facts.channel, []), facts.timezone
    )
    if quiet_end is not None:
        if expires is not None and quiet_end >= expires:
            return Block(BlockReason.EXPIRED)
        return Postpone(quiet_end)
    if facts.purpose is Purpose.COMMERCIAL and facts.capped:
        for cap in facts.rules.frequency_caps.get(facts.channel, []):
            if facts.sent_since(facts.now - cap.per) >= cap.count:
                return Block(BlockReason.FREQUENCY_CAP)
    return Allow()


def quiet_until(now: datetime, windows: list[QuietWindow], tz: ZoneInfo) -> datetime | None:
    """The end of the quiet time `now` falls in (following windows that touch), or None."""
    end: datetime | None = None
    moment = now
    for _ in range(len(windows) * 2 + 1):
        found = next((e for w in windows if (e := _window_end(moment, w, tz)) is not None), None)
        if found is None:
            break
        end = moment = found
    return end


def _window_end(moment: datetime, window: QuietWindow, tz: ZoneInfo) -> datetime | None:
    local = moment.astimezone(tz)
    start_time, end_time = _clock(window.from_), _clock(window.to)
    for back in (1, 0):  # a window that started yesterday may still be running
        day = local.date() - timedelta(days=back)
        if _WEEKDAYS[day.weekday()] not in window.days:
            continue
        start = datetime.combine(day, start_time, tzinfo=tz)
        end_day = day if end_time > start_time else day + timedelta(days=1)
        end = datetime.combine(end_day, end_time, tzinfo=tz)
        if start <= local < end:
            return end.astimezone(moment.tzinfo)
    return None


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))
