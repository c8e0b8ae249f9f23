"""Batches, CloudEvents, Segment and CRM records through the gateway and Temporal."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.stack import Stack
from tests.sinks import SmtpSink
from tests.worker.harness import unique


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    await stack.apply_workflows()
    return stack


async def test_a_batch_answers_each_item(stack: Stack, temporal_env: WorkflowEnvironment) -> None:
    contact = await stack.contact("b")
    events = [
        {
            "trigger": "cart.abandoned",
            "contact_id": contact,
            "event_id": f"{contact}-1",
            "attributes": {"cart_id": "k", "total": 70},
        },
        {"trigger": "cart.abandoned", "contact_id": contact, "attributes": {"total": "a lot"}},
        {"trigger": "no.such", "contact_id": contact},
        {"contact_id": contact},
        {
            "trigger": "order.placed",
            "contact_id": contact,
            "event_id": f"{contact}-2",
            "attributes": {"order_id": "o1"},
        },
    ]
    with temporal_env.with_time_skipping_disabled():
        response = await stack.api.post("/v1/events:batch", json={"events": events})
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["refused"]) == (2, 3)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, 202), (1, 422), (2, 404), (3, 422), (4, 202)]
    assert body["results"][0]["started"] == ["cart-recovery"]
    assert body["results"][1]["problems"] == [
        {"path": "attributes.cart_id", "message": "required"},
        {"path": "attributes.total", "message": "must be a number, got text"},
    ]
    assert body["results"][3]["problems"] == [{"path": "trigger", "message": "required"}]
    assert body["results"][4]["signaled"] == ["cart-recovery"]
    too_many = await stack.api.post("/v1/events:batch", json={"events": [{}] * 501})
    assert too_many.status_code == 422
    assert too_many.json()["problems"][0]["path"] == "events"


async def test_cloudevents_single_and_batch(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    contact = await stack.contact("ce")
    event = {
        "specversion": "1.0",
        "id": f"ce-{contact}",
        "source": "https://shop.example.com",
        "type": "cart.abandoned",
        "subject": contact,
        "time": "2026-11-28T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"cart_id": "k1", "total": 120, "currency": "EUR"},
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    headers = {"Content-Type": "application/cloudevents+json"}
    with temporal_env.with_time_skipping_disabled():
        single = await stack.api.post("/v1/cloudevents", json=event, headers=headers)
        repeat = await stack.api.post("/v1/cloudevents", json=event, headers=headers)
    assert single.status_code == 202, single.text
    assert single.json()["started"] == ["cart-recovery"]
    assert repeat.json()["duplicate"] is True

    batch = [
        {**event, "id": f"ce2-{contact}", "type": "order.placed", "data": {"order_id": "o1"}},
        {
            "specversion": "0.3",
            "id": "x",
            "source": "s",
            "type": "order.placed",
            "subject": contact,
        },
        {**event, "id": f"ce3-{contact}", "data_base64": "aGk="},
    ]
    response = await stack.api.post(
        "/v1/cloudevents",
        json=batch,
        headers={"Content-Type": "application/cloudevents-batch+json"},
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 422, 422]
    assert results[0]["signaled"] == ["cart-recovery"]
    assert results[1]["problems"] == [{"path": "specversion", "message": "Input should be '1.0'"}]
    assert "data_base64 is not supported" in results[2]["problems"][0]["message"]

    missing = await stack.api.post("/v1/cloudevents", json={"specversion": "1.0"}, headers=headers)
    assert missing.status_code == 422
    assert [p["path"] for p in missing.json()["problems"]] == ["id", "source", "type", "subject"]
    broken = await stack.api.post("/v1/cloudevents", content=b"{nope", headers=headers)
    assert broken.status_code == 400


async def test_segment_track(stack: Stack, temporal_env: WorkflowEnvironment) -> None:
    contact = await stack.contact("seg")
    track = {
        "type": "track",
        "event": "Cart Abandoned",
        "userId": contact,
        "messageId": f"seg-{contact}",
        "timestamp": "2026-11-28T10:00:00.000Z",
        "properties": {"cart_id": "k7", "total": 99.5, "revenue": 99.5},
        "context": {"library": {"name": "analytics.js"}, "journeys": {"binding_id": "k7"}},
        "integrations": {},
    }
    with temporal_env.with_time_skipping_disabled():
        response = await stack.api.post("/v1/segment/track", json=track)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "event_id": f"seg-{contact}",
        "trigger": "cart.abandoned",
        "started": ["cart-recovery"],
        "signaled": [],
        "refused": [],
        "failed": [],
        "drafts": [],
        "duplicate": False,
        "ignored_properties": ["revenue"],
    }
    anonymous = await stack.api.post(
        "/v1/segment/track", json={"event": "Order Placed", "anonymousId": "a1"}
    )
    assert anonymous.status_code == 422
    assert anonymous.json()["problems"] == [{"path": "userId", "message": "required"}]
    unknown = await stack.api.post(
        "/v1/segment/track", json={"event": "Page Scrolled", "userId": contact}
    )
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "unknown trigger 'page.scrolled'",
    )


async def test_a_contact_record_upserts_the_contact_before_its_trigger_routes(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    contact = unique("rec")
    record = {
        "operation": "create",
        "id": contact,
        "after": {
            "email": f"{contact}@example.com",
            "first_name": "Rosa",
            "consent_email": True,
            "city": "Lyon",
        },
    }
    with temporal_env.with_time_skipping_disabled():
        created = await stack.api.post("/v1/records/contact", json=record)
    assert created.status_code == 202, created.text
    assert created.json() == {
        "fired": ["contact.created"],
        "started": ["welcome"],
        "signaled": [],
        "refused": [],
        "failed": [],
        "drafts": [],
        "duplicate": False,
        "skipped": [],
    }
    stored = (await stack.api.get(f"/v1/contacts/{contact}")).json()
    assert (stored["email"], stored["attributes"], stored["consent"]["email"]) == (
        f"{contact}@example.com",
        {"city": "Lyon"},
        True,
    )
    again = await stack.api.post("/v1/records/contact", json=record)
    assert again.json()["duplicate"] is True

    moved = {
        "operation": "update",
        "id": contact,
        "before": {"email": f"{contact}@example.com", "city": "Lyon"},
        "after": {"email": f"{contact.upper()}@EXAMPLE.COM", "city": "Paris"},
    }
    response = await stack.api.post("/v1/records/contact", json=moved)
    assert response.json()["fired"] == ["contact.address_updated"]


async def test_record_change_triggers_and_refusals(stack: Stack) -> None:
    contact = unique("opp")
    change = {
        "operation": "update",
        "id": "opp-1",
        "before": {"status": "open"},
        "after": {"status": "won", "contact_id": contact},
    }
    response = await stack.api.post("/v1/records/opportunity", json=change)
    assert response.json()["fired"] == ["opportunity.won"]

    nothing = await stack.api.post(
        "/v1/records/invoice", json={"operation": "create", "id": "i1", "after": {}}
    )
    assert (nothing.status_code, nothing.json()["fired"]) == (202, [])

    orphan = await stack.api.post(
        "/v1/records/incident", json={"operation": "create", "id": "i1", "after": {"title": "x"}}
    )
    assert orphan.json()["skipped"] == [
        {
            "trigger": "incident.created",
            "status": 422,
            "detail": "the record names no contact (for a custom trigger: its contact_field)",
        }
    ]
    no_before = await stack.api.post(
        "/v1/records/contact", json={"operation": "update", "id": "c", "after": {}}
    )
    assert (no_before.status_code, no_before.json()["fired"]) == (202, [])  # nothing changed
    bad_email = await stack.api.post(
        "/v1/records/contact", json={"operation": "create", "id": "c", "after": {"email": "nope"}}
    )
    assert bad_email.status_code == 422
    assert bad_email.json()["problems"][0]["path"] == "after.email"
