"""Journeys run once per contact and binding (an order, a cart); events reach the right runs."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.stack import Stack
from tests.sinks import eventually, outcome_of

PER_CART = """
kind: Journey
id: cart-per-binding
name: One run per cart
start: {trigger: cart.abandoned, per: binding}
exit: [{trigger: order.placed}]
reentry: always
steps:
  - {id: wait, wait: P1D}
  - {id: nudge, email: {subject: "Cart {{ trigger.cart_id }}", text: "Still there?"}}
"""


@pytest.fixture
async def per_cart(stack: Stack) -> Stack:
    await stack.put_triggers()
    saved = await stack.api.put(
        "/v1/journeys/cart-per-binding",
        content=PER_CART,
        headers={"Content-Type": "application/yaml"},
    )
    assert saved.status_code == 201, saved.text
    assert (await stack.api.post("/v1/journeys/cart-per-binding/publish")).status_code == 200
    return stack


async def test_one_run_per_binding_and_binding_scoped_exits(
    per_cart: Stack, temporal_env: WorkflowEnvironment
) -> None:
    stack = per_cart
    contact = await stack.contact()
    client = temporal_env.client

    def cart(binding: str) -> dict:
        return {
            "contact_id": contact,
            "binding_id": binding,
            "attributes": {"cart_id": binding, "total": 10},
        }

    with temporal_env.with_time_skipping_disabled():
        for binding in ("k1", "k2", "k3"):
            fired = await stack.fire("cart.abandoned", **cart(binding))
            assert fired.json()["started"] == ["cart-per-binding"]
        unbound = await stack.fire(
            "cart.abandoned", contact_id=contact, attributes={"cart_id": "k", "total": 1}
        )
        assert unbound.json()["started"] == []  # a run per binding needs a binding id

        async def running() -> int:
            query = f"ContactId = '{contact}' AND JourneyId = 'cart-per-binding' AND ExecutionStatus = 'Running'"
            return len([w async for w in client.list_workflows(query)])

        await eventually(lambda: running_is(running, 3))

        one = await stack.fire(
            "order.placed", contact_id=contact, binding_id="k1", attributes={"order_id": "o1"}
        )
        assert one.json()["signaled"] == ["cart-per-binding"]
        first = await outcome_of(
            client.get_workflow_handle(f"journey/cart-per-binding/{contact}/k1")
        )
        assert first["reason"] == "trigger:order.placed"
        await eventually(lambda: running_is(running, 2))

        every = await stack.fire("order.placed", contact_id=contact, attributes={"order_id": "o2"})
        assert every.json()["signaled"] == ["cart-per-binding"]
        for binding in ("k2", "k3"):
            outcome = await outcome_of(
                client.get_workflow_handle(f"journey/cart-per-binding/{contact}/{binding}")
            )
            assert outcome["reason"] == "trigger:order.placed"

    instance = await stack.api.get(
        f"/v1/journeys/cart-per-binding/instances/{contact}", params={"binding_id": "k2"}
    )
    assert instance.json()["workflow_id"] == f"journey/cart-per-binding/{contact}/k2"
    runs = (await stack.api.get(f"/v1/contacts/{contact}/journeys")).json()
    assert sorted(r["workflow_id"].rsplit("/", 1)[1] for r in runs) == ["k1", "k2", "k3"]


async def running_is(count, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await count() == expected
