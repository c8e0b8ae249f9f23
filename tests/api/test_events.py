"""POST /v1/triggers/{name}/events: validation, auth, routing, idempotency, outages."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from journeys.temporal.converter import data_converter
from tests.api.stack import Stack
from tests.sinks import outcome_of
from tests.worker.harness import unique


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    await stack.apply_workflows()
    return stack


async def test_a_start_starts_and_a_second_one_is_refused_while_the_contact_is_inside(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    contact = await stack.contact()
    body = {"contact_id": contact, "attributes": {"cart_id": "k1", "total": 80, "currency": "EUR"}}
    with temporal_env.with_time_skipping_disabled():
        first = await stack.fire("cart.abandoned", event_id="e1-" + contact, **body)
        second = await stack.fire("cart.abandoned", event_id="e2-" + contact, **body)
    assert first.status_code == 202, first.text
    assert first.json() == {
        "event_id": "e1-" + contact,
        "trigger": "cart.abandoned",
        "started": ["cart-recovery"],
        "signaled": [],
        "refused": [],
        "failed": [],
        "drafts": [],
        "duplicate": False,
    }
    assert second.json()["started"] == []
    assert second.json()["refused"] == [
        {"journey": "cart-recovery", "reason": "already_in_journey"}
    ]

    exit_event = await stack.fire("order.placed", contact_id=contact, attributes={"order_id": "o1"})
    assert exit_event.json()["signaled"] == ["cart-recovery"]  # welcome has no run for them

    await outcome_of(temporal_env.client.get_workflow_handle(f"journey/cart-recovery/{contact}"))
    instance = await stack.api.get(f"/v1/journeys/cart-recovery/instances/{contact}")
    assert instance.status_code == 200
    assert instance.json()["status"] == "exited"
    assert instance.json()["outcome"]["reason"] == "trigger:order.placed"
    assert instance.json()["temporal_ui"].startswith(
        "http://localhost:8233/namespaces/default/workflows/journey%2Fcart-recovery%2F"
    )


async def test_a_retried_event_is_answered_as_a_duplicate(stack: Stack) -> None:
    contact = unique("c")
    body = {"contact_id": contact, "event_id": f"order-{contact}", "attributes": {"order_id": "o1"}}
    first = await stack.fire("order.placed", **body)
    again = await stack.fire("order.placed", **body)
    assert first.json()["duplicate"] is False
    assert again.status_code == 202
    assert again.json() == {
        "event_id": f"order-{contact}",
        "trigger": "order.placed",
        "started": [],
        "signaled": [],
        "refused": [],
        "failed": [],
        "drafts": [],
        "duplicate": True,
    }


async def test_a_condition_on_the_trigger_is_checked_before_touching_temporal(stack: Stack) -> None:
    contact = await stack.contact()
    response = await stack.fire(
        "cart.abandoned", contact_id=contact, attributes={"cart_id": "k", "total": 10}
    )
    assert response.json()["started"] == []
    assert response.json()["refused"] == [{"journey": "cart-recovery", "reason": "condition_false"}]
    runs = (await stack.api.get(f"/v1/contacts/{contact}/journeys")).json()
    assert [(r["journey_id"], r["admitted"], r["reason"]) for r in runs] == [
        ("cart-recovery", False, "condition_false")
    ]


@pytest.mark.parametrize(
    ("trigger", "body", "status", "expected"),
    [
        ("no.such", {"contact_id": "c1"}, 404, {"detail": "unknown trigger 'no.such'"}),
        (
            "email.opened",
            {"contact_id": "c1"},
            403,
            {"detail": "email.opened is an interaction trigger: only Journeys' channels raise it"},
        ),
        (
            "cart.abandoned",
            {"contact_id": "c1", "attributes": {"total": "80", "coupon": "X"}},
            422,
            {
                "detail": "3 problems found",
                "problems": [
                    {"path": "attributes.cart_id", "message": "required"},
                    {"path": "attributes.total", "message": "must be a number, got text"},
                    {
                        "path": "attributes.coupon",
                        "message": "unknown attribute of cart.abandoned (declared: cart_id, total, currency)",
                    },
                ],
            },
        ),
        (
            "order.placed",
            {"contact_id": "a/b", "attributes": {"order_id": "o"}, "colour": "red"},
            422,
            {
                "detail": "2 problems found",
                "problems": [
                    {
                        "path": "contact_id",
                        "message": "'a/b' is not an id: letters, digits and . _ : @ + - (no '/'), at most 200 characters",
                    },
                    {"path": "colour", "message": "unknown field"},
                ],
            },
        ),
    ],
)
async def test_bad_events_get_a_precise_error(
    stack: Stack, trigger: str, body: dict, status: int, expected: dict
) -> None:
    response = await stack.fire(trigger, **body)
    assert response.status_code == status
    assert response.json() == expected


async def test_malformed_json_is_refused_with_its_position(stack: Stack) -> None:
    response = await stack.api.post(
        "/v1/triggers/order.placed/events",
        content=b'{"contact_id": "c1",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["problems"][0]["message"].startswith("not valid JSON")


async def test_a_trigger_that_is_not_ready_gets_409(stack: Stack) -> None:
    draft = {
        "name": "quote.sent",
        "status": "draft",
        "attributes": [{"name": "amount", "type": "number"}],
    }
    assert (await stack.api.put("/v1/triggers/quote.sent", json=draft)).status_code == 201
    response = await stack.fire("quote.sent", contact_id="c1")
    assert response.status_code == 409
    assert response.json() == {"detail": "trigger quote.sent is draft, not ready"}


async def test_keys_are_required_and_scoped(stack: Stack) -> None:
    url = "/v1/triggers/order.placed/events"
    body = {"contact_id": "c1", "attributes": {"order_id": "o1"}}
    missing = await stack.api.post(url, json=body, headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = await stack.api.post(url, json=body, headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "unknown or revoked API key"})

    created = await stack.api.post(
        "/v1/api-keys", json={"name": "shop", "scopes": ["events:write"]}
    )
    assert created.status_code == 201
    key = {"Authorization": f"Bearer {created.json()['secret']}"}
    assert (await stack.api.post(url, json=body, headers=key)).status_code == 202
    forbidden = await stack.api.get("/v1/journeys", headers=key)
    assert (forbidden.status_code, forbidden.json()) == (
        403,
        {"detail": "this key lacks the admin scope"},
    )
    listed = await stack.api.get("/v1/api-keys")
    assert [k["name"] for k in listed.json()] == ["shop"]
    assert "secret" not in listed.json()[0]

    assert (await stack.api.delete(f"/v1/api-keys/{created.json()['id']}")).status_code == 204
    assert (await stack.api.post(url, json=body, headers=key)).status_code == 401


async def test_temporal_unreachable_answers_503_and_the_retry_acts_once(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    dead = await Client.connect("127.0.0.1:1", lazy=True, data_converter=data_converter)
    settings = stack.harness.settings.model_copy(update={"api_key": SecretStr("k")})
    broken = create_app(settings, temporal=dead)
    contact = await stack.contact()
    body = {
        "contact_id": contact,
        "event_id": f"cart-{contact}",
        "attributes": {"cart_id": "k1", "total": 99},
    }
    async with (
        broken.router.lifespan_context(broken),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=broken), base_url="http://x") as client,
    ):
        down = await client.post(
            "/v1/triggers/cart.abandoned/events", json=body, headers={"Authorization": "Bearer k"}
        )
        ready = await client.get("/readyz")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"store": True, "temporal": False}

    with temporal_env.with_time_skipping_disabled():
        retried = await stack.fire("cart.abandoned", **body)
        again = await stack.fire("cart.abandoned", **body)
    assert retried.json()["started"] == ["cart-recovery"]
    assert again.json()["duplicate"] is True
    # The entry decided before Temporal failed is the one the retry started: one, admitted.
    entries = (await stack.api.get(f"/v1/contacts/{contact}/journeys")).json()
    assert [(e["journey_id"], e["admitted"]) for e in entries] == [("cart-recovery", True)]
    handle = temporal_env.client.get_workflow_handle(f"journey/cart-recovery/{contact}")
    await handle.describe()  # the run the retry started (NOT_FOUND otherwise)


async def test_health(stack: Stack) -> None:
    assert (await stack.api.get("/healthz", headers={})).json() == {"status": "ok"}
    ready = await stack.api.get("/readyz")
    assert ready.json() == {"status": "ready", "checks": {"store": True, "temporal": True}}
