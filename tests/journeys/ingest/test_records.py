"""Which triggers a record change fires, and which it must not."""

from typing import Any

import pytest

from journeys.definitions.triggers import RecordOperation, TriggerDefinition
from journeys.ingest.records import (
    Firing,
    RecordChange,
    business_triggers,
    contact_changes,
    record_change_triggers,
)

CREATE, UPDATE = RecordOperation.CREATE, RecordOperation.UPDATE
ADA = {"email": "ada@example.com", "phone": "+33 6 12 34 56 78", "city": "Paris"}


def change(
    entity: str, operation: RecordOperation, before: dict[str, Any] | None = None, **after: Any
) -> RecordChange:
    return RecordChange(entity, operation, "r1", before or {}, after)


@pytest.mark.parametrize(
    ("record", "fired"),
    [
        (change("contact", CREATE, **ADA), ["contact.created"]),
        (change("lead", CREATE, email="x@example.com"), ["lead.created"]),
        (change("contact", UPDATE, ADA, email="grace@example.com"), ["contact.email_updated"]),
        (change("contact", UPDATE, ADA, email="  ADA@example.com "), []),  # same address
        (change("contact", UPDATE, ADA, email="ada@example.com", city="Paris"), []),
        (change("contact", UPDATE, ADA, city="Lyon"), ["contact.address_updated"]),
        (change("contact", UPDATE, ADA, postal_code="75001"), ["contact.address_updated"]),
        (change("contact", UPDATE, ADA, phone="+33612345678"), []),  # same digits
        (change("contact", UPDATE, ADA, mobile_phone="+33700000000"), ["contact.phone_updated"]),
        (
            change("contact", UPDATE, ADA, email="g@example.com", city="Nice", phone="+1"),
            ["contact.email_updated", "contact.address_updated", "contact.phone_updated"],
        ),
        (change("contact", UPDATE, ADA, first_name="Ada"), []),
        (change("incident", CREATE, contact_id="c1", title="Broken"), ["incident.created"]),
        (change("incident", UPDATE, {"title": "a"}, title="b", contact_id="c1"), []),
        (change("opportunity", CREATE, contact_id="c1"), ["opportunity.created"]),
        (change("event_checkin", CREATE, contact_id="c1"), ["event_checkin.created"]),
        (change("event_registration", CREATE, contact_id="c1"), ["event_registration.created"]),
        (
            change("event_registration", UPDATE, {"status": "registered"}, status="Canceled"),
            ["event_registration.canceled"],
        ),
        (change("event_registration", UPDATE, {"status": "canceled"}, status="canceled"), []),
        (change("event_registration", UPDATE, {"status": "registered"}, status="attended"), []),
        (
            change("marketing_form_submission", CREATE, contact_id="c1"),
            ["marketing_form.submitted"],
        ),
        (change("invoice", CREATE, contact_id="c1"), []),
    ],
)
def test_business_triggers(record: RecordChange, fired: list[str]) -> None:
    assert [f.trigger for f in business_triggers(record)] == fired


def test_the_contact_of_a_record() -> None:
    assert business_triggers(change("contact", CREATE, email="a@b.c")) == [
        Firing("contact.created", "r1")
    ]
    assert business_triggers(change("incident", CREATE, contact_id="c9")) == [
        Firing("incident.created", "c9")
    ]
    assert business_triggers(change("incident", CREATE, title="no contact")) == [
        Firing("incident.created", None)
    ]


WON = TriggerDefinition.model_validate(
    {
        "name": "opportunity.won",
        "type": "record_change",
        "entity": "opportunity",
        "operation": "update",
        "changed": ["status"],
        "contact_field": "customer_id",
    }
)
REPRICED = TriggerDefinition.model_validate(
    {
        "name": "opportunity.repriced",
        "type": "record_change",
        "entity": "opportunity",
        "operation": "update",
        "changed": ["amount", "currency"],
        "contact_field": "customer_id",
    }
)
INVOICED = TriggerDefinition.model_validate(
    {
        "name": "invoice.created",
        "type": "record_change",
        "entity": "invoice",
        "operation": "create",
        "contact_field": "customer_id",
    }
)


@pytest.mark.parametrize(
    ("record", "fired"),
    [
        (
            change("opportunity", UPDATE, {"status": "open"}, status="won", customer_id="c1"),
            [("opportunity.won", "c1")],
        ),
        (change("opportunity", UPDATE, {"status": "won"}, status="won", customer_id="c1"), []),
        (
            change("opportunity", UPDATE, {"amount": 1}, amount=2, customer_id="c2"),
            [("opportunity.repriced", "c2")],
        ),
        (
            change(
                "opportunity",
                UPDATE,
                {"status": "open", "currency": "EUR"},
                status="won",
                currency="USD",
                customer_id="c3",
            ),
            [("opportunity.won", "c3"), ("opportunity.repriced", "c3")],
        ),
        (change("opportunity", CREATE, status="won", customer_id="c1"), []),
        (change("invoice", CREATE, customer_id="c4"), [("invoice.created", "c4")]),
        (change("invoice", CREATE), [("invoice.created", None)]),
        (change("quote", CREATE, customer_id="c4"), []),
    ],
)
def test_record_change_triggers(record: RecordChange, fired: list[tuple[str, str]]) -> None:
    assert [
        (f.trigger, f.contact_id) for f in record_change_triggers(record, [WON, REPRICED, INVOICED])
    ] == fired


def test_a_contact_record_carries_fields_consent_and_attributes() -> None:
    record = change(
        "contact",
        UPDATE,
        {},
        email="a@b.c",
        first_name="Ada",
        consent_sms=True,
        city="Paris",
        id="r1",
    )
    assert contact_changes(record) == {
        "email": "a@b.c",
        "first_name": "Ada",
        "consent": {"sms": True},
        "attributes": {"city": "Paris"},
    }
