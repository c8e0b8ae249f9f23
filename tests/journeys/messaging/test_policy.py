"""Send-time decisions: address, suppression, consent by purpose, expiry, quiet times, caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from journeys.contacts.model import Contact
from journeys.definitions.common import Channel
from journeys.definitions.journeys import Purpose
from journeys.messaging.policy import (
    Allow,
    Block,
    BlockReason,
    Postpone,
    SendFacts,
    decide,
    quiet_until,
)
from journeys.messaging.rules import MessagingRules, QuietWindow

PARIS = ZoneInfo("Europe/Paris")
# Tuesday 6 January 2026, 22:30 in Paris.
LATE = datetime(2026, 1, 6, 21, 30, tzinfo=UTC)
NOON = datetime(2026, 1, 6, 11, 0, tzinfo=UTC)
NIGHTS = MessagingRules.model_validate(
    {
        "quiet_times": {
            "sms": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "21:00", "to": "08:00"},
                {"days": ["sat", "sun"], "from": "20:00", "to": "10:00"},
            ]
        }
    }
)


def facts(channel: Channel = Channel.SMS, **overrides) -> SendFacts:  # type: ignore[no-untyped-def]
    contact = Contact.model_validate(
        {"id": "c1", "email": "a@example.com", "phone": "+33612345678", "consent": {"sms": True}}
    )
    values = {
        "contact": contact,
        "channel": channel,
        "purpose": Purpose.COMMERCIAL,
        "suppressed": lambda address: False,
        "sent_since": lambda since: 0,
        "rules": MessagingRules(),
        "now": NOON,
        "timezone": PARIS,
        "due_since": NOON,
    }
    return SendFacts(**{**values, **overrides})


def with_consent(**consent: bool) -> Contact:
    return Contact.model_validate(
        {"id": "c1", "email": "a@example.com", "phone": "+33612345678", "consent": consent}
    )


@pytest.mark.parametrize(
    ("overrides", "verdict"),
    [
        ({}, Allow()),
        ({"contact": None}, Block(BlockReason.UNKNOWN_CONTACT)),
        ({"contact": Contact(id="c1")}, Block(BlockReason.INVALID_ADDRESS)),
        ({"suppressed": lambda address: address == "+33612345678"}, Block(BlockReason.SUPPRESSED)),
        ({"contact": with_consent()}, Block(BlockReason.NO_CONSENT)),  # SMS needs an opt-in
        ({"contact": with_consent(), "purpose": Purpose.TRANSACTIONAL}, Allow()),
        (
            {"contact": with_consent(sms=False), "purpose": Purpose.TRANSACTIONAL},
            Block(BlockReason.NO_CONSENT),
        ),
        ({"channel": Channel.EMAIL, "contact": with_consent()}, Allow()),  # email unless withdrawn
        (
            {"channel": Channel.EMAIL, "contact": with_consent(email=False)},
            Block(BlockReason.NO_CONSENT),
        ),
        (
            {
                "channel": Channel.EMAIL,
                "contact": with_consent(email=False),
                "purpose": Purpose.TRANSACTIONAL,
            },
            Allow(),
        ),
        (
            {"expires_after": timedelta(hours=1), "due_since": NOON - timedelta(hours=2)},
            Block(BlockReason.EXPIRED),
        ),
    ],
)
def test_who_may_be_messaged(overrides: dict, verdict: object) -> None:
    assert decide(facts(**overrides)) == verdict


def test_a_quiet_time_postpones_to_its_end_in_the_contacts_zone() -> None:
    assert decide(facts(rules=NIGHTS, now=LATE)) == Postpone(datetime(2026, 1, 7, 7, 0, tzinfo=UTC))
    assert decide(facts(rules=NIGHTS, now=LATE, channel=Channel.EMAIL)) == Allow()  # SMS only
    # ...unless it would wait past the message's expiry.
    expiring = facts(rules=NIGHTS, now=LATE, due_since=LATE, expires_after=timedelta(hours=2))
    assert decide(expiring) == Block(BlockReason.EXPIRED)


def test_quiet_windows_cross_midnight_and_chain() -> None:
    friday_night = datetime(2026, 1, 9, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    # Friday 21:00-08:00, then Saturday 20:00-10:00 does not touch it: ends Saturday 08:00.
    assert quiet_until(friday_night, NIGHTS.quiet_times[Channel.SMS], PARIS) == datetime(
        2026, 1, 10, 7, tzinfo=UTC
    )
    chained = [
        QuietWindow.model_validate({"from": "20:00", "to": "23:00"}),
        QuietWindow.model_validate({"from": "23:00", "to": "07:00"}),
    ]
    assert quiet_until(datetime(2026, 1, 6, 20, 0, tzinfo=UTC), chained, PARIS) == datetime(
        2026, 1, 7, 6, tzinfo=UTC
    )
    assert quiet_until(NOON, chained, PARIS) is None


def test_frequency_caps_count_commercial_messages_only() -> None:
    caps = MessagingRules.model_validate(
        {"frequency_caps": {"email": [{"count": 2, "per": "P1D"}, {"count": 5, "per": "P7D"}]}}
    )

    def sent(n_day: int, n_week: int):  # type: ignore[no-untyped-def]
        return lambda since: n_day if since >= NOON - timedelta(days=1) else n_week

    email = {"channel": Channel.EMAIL, "rules": caps}
    assert decide(facts(**email, sent_since=sent(1, 4))) == Allow()
    assert decide(facts(**email, sent_since=sent(2, 2))) == Block(BlockReason.FREQUENCY_CAP)
    assert decide(facts(**email, sent_since=sent(0, 5))) == Block(BlockReason.FREQUENCY_CAP)
    assert decide(facts(**email, sent_since=sent(9, 9), purpose=Purpose.TRANSACTIONAL)) == Allow()
    assert decide(facts(**email, sent_since=sent(9, 9), capped=False)) == Allow()
