"""Least privilege for contacts: a key that ingests events cannot take a contact's email or
phone, nor give back a consent the contact withdrew; a STOP holds for the number."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from journeys.cli.dev.processes import wait_until
from tests.abuse.served import ADMIN

SMS_JOURNEY = {
    "name": "Texts every new contact",
    "start": {"trigger": "contact.created"},
    "steps": [{"id": "hello", "sms": {"text": "Hello"}}],
}


@pytest.fixture(scope="module")
def admin(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, headers=ADMIN, timeout=30) as client:
        yield client


def key_with(admin: httpx.Client, *scopes: str) -> httpx.Client:
    created = admin.post("/v1/api-keys", json={"name": "-".join(scopes), "scopes": list(scopes)})
    assert created.status_code == 201, created.text
    auth = {"Authorization": f"Bearer {created.json()['secret']}"}
    return httpx.Client(base_url=str(admin.base_url), headers=auth, timeout=30)


def new_contact(admin: httpx.Client, **fields: object) -> str:
    contact_id = f"c-{uuid.uuid4().hex[:8]}"
    assert admin.put(f"/v1/contacts/{contact_id}", json=fields).status_code == 201
    return contact_id


def test_an_events_key_cannot_rewrite_contact_points_or_consent(admin: httpx.Client) -> None:
    producer = key_with(admin, "events:write")
    victim = new_contact(admin, email="ada@example.com", consent={"email": False})
    attempts = [
        (
            "/v1/records/contact",
            {"operation": "update", "id": victim, "after": {"email": "mallory@example.org"}},
            "after.email",
        ),
        (
            "/v1/records/contact",
            {"operation": "update", "id": victim, "after": {"consent_email": True}},
            "after.consent.email",
        ),
        (
            "/v1/triggers/order.placed/events",
            {
                "contact_id": victim,
                "attributes": {"order_id": "o1"},
                "contact": {"consent": {"email": True}},
            },
            "contact.consent.email",
        ),
        (
            "/v1/triggers/order.placed/events",
            {
                "contact_id": victim,
                "attributes": {"order_id": "o1"},
                "contact": {"phone": "+33612345678"},
            },
            "contact.phone",
        ),
    ]
    for path, body, where in attempts:  # each refused whole, naming what it may not change
        answer = producer.post(path, json=body)
        assert answer.status_code == 403, answer.text
        [problem] = answer.json()["problems"]
        assert problem["path"] == where
        assert "contacts:write" in problem["message"]
    contact = admin.get(f"/v1/contacts/{victim}").json()
    assert (contact["email"], contact["phone"], contact["consent"]["email"]) == (
        "ada@example.com",
        None,
        False,
    )
    # What producers are for still works: a new contact with its data, names on a known one.
    newcomer = f"c-{uuid.uuid4().hex[:8]}"
    fired = producer.post(
        "/v1/triggers/order.placed/events",
        json={
            "contact_id": newcomer,
            "attributes": {"order_id": "o2"},
            "contact": {"email": "new@example.com", "consent": {"email": True}},
        },
    )
    assert fired.status_code == 202, fired.text
    renamed = producer.post(
        "/v1/records/contact",
        json={
            "operation": "update",
            "id": victim,
            "after": {"first_name": "Ada", "email": "ada@example.com"},
        },
    )
    assert renamed.status_code == 202, renamed.text
    # A key with contacts:write may change them; an events:write key may not PUT contacts.
    assert producer.put(f"/v1/contacts/{victim}", json={"first_name": "X"}).status_code == 403
    owner = key_with(admin, "contacts:write")
    moved = owner.put(f"/v1/contacts/{victim}", json={"email": "ada@new.example.com"})
    assert moved.status_code == 200 and moved.json()["email"] == "ada@new.example.com"


def test_a_stop_sticks_to_the_number_until_the_contact_consents_anew(admin: httpx.Client) -> None:
    assert admin.put("/v1/journeys/texts-newcomers", json=SMS_JOURNEY).status_code in (200, 201)
    assert admin.post("/v1/journeys/texts-newcomers/publish").status_code == 200
    phone = f"+3361{uuid.uuid4().int % 10**7:07d}"
    first = new_contact(admin, phone=phone, consent={"sms": True})
    stopped = admin.post("/v1/channels/sms/inbound", json={"from": phone, "text": "STOP"})
    assert stopped.status_code == 202, stopped.text

    # Neither an owner's nor a producer's write gives it back: only the consent call does.
    again = admin.put(f"/v1/contacts/{first}", json={"consent": {"sms": True}})
    assert again.status_code == 409, again.text
    [problem] = again.json()["problems"]
    assert problem["path"] == "consent.sms" and "contact:stop" in problem["message"]
    assert admin.get(f"/v1/contacts/{first}").json()["consent"]["sms"] is False

    # A new contact given the number later gets no SMS: the number is suppressed.
    second = f"c-{uuid.uuid4().hex[:8]}"
    fired = admin.post(
        "/v1/triggers/contact.created/events",
        json={"contact_id": second, "contact": {"phone": phone, "consent": {"sms": True}}},
    )
    assert "texts-newcomers" in fired.json()["started"], fired.text
    blocked = lambda: messages(admin, second)  # noqa: E731
    wait_until(lambda: [m["status"] for m in blocked()] == ["blocked"])
    assert blocked()[0]["reason"] == "suppressed"

    # The contact says yes again, and where: recorded, and the number is lifted.
    granted = admin.put(
        f"/v1/contacts/{first}/consent", json={"sms": True, "source": "signup form, 2026-11-30"}
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["consent"]["sms"] is True
    third = f"c-{uuid.uuid4().hex[:8]}"
    admin.post(
        "/v1/triggers/contact.created/events",
        json={"contact_id": third, "contact": {"phone": phone, "consent": {"sms": True}}},
    )
    wait_until(lambda: [m["status"] for m in messages(admin, third)] == ["sent"])
    # The consent call names a contact it knows.
    unknown = admin.put("/v1/contacts/nobody/consent", json={"sms": True, "source": "x"})
    assert unknown.status_code == 404


def messages(admin: httpx.Client, contact_id: str) -> list[dict[str, object]]:
    """The contact's SMS from the journey above (the samples' welcome journey runs too)."""
    answer = admin.get(f"/v1/contacts/{contact_id}/messages").json()
    return [m for m in answer if m["journey_id"] == "texts-newcomers"]
