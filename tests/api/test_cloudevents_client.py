"""CloudEvents producers reach journeys in every content mode of the HTTP protocol binding:
the requests are written by the CloudEvents SDK itself, in both of its APIs (2.x's
`cloudevents.core` bindings and the 1.x API it keeps as `cloudevents.v1`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import http as core_http
from cloudevents.core.v03.event import CloudEvent as CoreEvent03
from cloudevents.core.v1.event import CloudEvent as CoreEvent
from cloudevents.v1 import conversion as v1_conversion
from cloudevents.v1.http import CloudEvent as V1Event
from temporalio.testing import WorkflowEnvironment

from api.event_answers import MAX_BATCH
from api.routes.cloudevents import BATCH
from tests.api.stack import Stack

Request = tuple[dict[str, str], bytes]
Writer = Callable[[dict[str, Any], Any], Request]


def _core_event(attributes: dict[str, Any], data: Any) -> CoreEvent | CoreEvent03:
    version = CoreEvent03 if attributes.get("specversion") == "0.3" else CoreEvent
    return version(attributes, data)


@dataclass(frozen=True)
class Sdk:
    binary: Writer
    structured: Writer


SDKS = {
    "cloudevents.core": Sdk(
        binary=lambda a, d: _message(core_http.to_binary_event(_core_event(a, d))),
        structured=lambda a, d: _message(core_http.to_structured_event(_core_event(a, d))),
    ),
    "cloudevents.v1": Sdk(
        binary=lambda a, d: v1_conversion.to_binary(V1Event(a, d)),
        structured=lambda a, d: v1_conversion.to_structured(V1Event(a, d)),
    ),
}


def _message(message: core_http.HTTPMessage) -> Request:
    return message.headers, message.body


@pytest.fixture(params=SDKS)
def sdk(request: pytest.FixtureRequest) -> Sdk:
    return SDKS[request.param]


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    await stack.apply_workflows()
    return stack


async def post(stack: Stack, request: Request) -> httpx.Response:
    headers, body = request
    return await stack.api.post("/v1/cloudevents", headers=headers, content=body)


def batch_of(*requests: Request) -> Request:
    """The batched format: a JSON array of events in the structured JSON format."""
    return {"Content-Type": BATCH}, json.dumps([json.loads(body) for _, body in requests]).encode()


async def test_binary_structured_and_batched_events_reach_journeys(
    stack: Stack, temporal_env: WorkflowEnvironment, sdk: Sdk
) -> None:
    contact = await stack.contact("ce")
    # Spaces and `%` are percent-encoded in a header (the 1.x API leaves them raw).
    cart = {
        "type": "cart.abandoned",
        "source": "https://shop.example.com",
        "subject": contact,
        "id": f"cart {contact} 100%",
        "datacontenttype": "application/json",  # binary mode: the Content-Type
    }
    data = {"cart_id": "k1", "total": 120, "currency": "EUR"}
    with temporal_env.with_time_skipping_disabled():
        binary = await post(stack, sdk.binary(cart, data))
        # The CloudEvent id is the event id, whichever mode carries it.
        structured = await post(stack, sdk.structured(cart, data))
        order = {**cart, "type": "order.placed", "id": f"order-{contact}"}
        invalid = {**cart, "id": f"cart-{contact}-2"}
        batched = await post(
            stack,
            batch_of(
                sdk.structured(order, {"order_id": "o1"}),
                sdk.structured(invalid, {"cart_id": "k2", "total": "a lot"}),
            ),
        )
    assert binary.status_code == 202, binary.text
    assert (binary.json()["event_id"], binary.json()["started"]) == (cart["id"], ["cart-recovery"])
    assert (structured.status_code, structured.json()["duplicate"]) == (202, True)
    assert batched.status_code == 200, batched.text
    results = batched.json()["results"]
    assert [(r["status"], r.get("signaled")) for r in results] == [
        (202, ["cart-recovery"]),
        (422, None),
    ]
    assert results[1]["problems"] == [
        {"path": "attributes.total", "message": "must be a number, got text"}
    ]

    empty = await post(stack, batch_of())
    assert (empty.status_code, empty.json()) == (200, {"accepted": 0, "refused": 0, "results": []})


async def test_what_cannot_be_an_event_is_refused_with_why(stack: Stack, sdk: Sdk) -> None:
    contact = await stack.contact("ce")
    event = {"type": "cart.abandoned", "source": "tests", "subject": contact}
    data = {"cart_id": "k1", "total": 1}

    async def refused(request: Request, status: int) -> dict[str, Any]:
        response = await post(stack, request)
        assert response.status_code == status, response.text
        body = response.json()
        assert isinstance(body["detail"], str) and body["detail"]
        return dict(body)

    text = await refused(sdk.binary({**event, "datacontenttype": "text/plain"}, "hello"), 415)
    assert text["detail"].startswith("data of type text/plain cannot be a trigger's attributes")

    headers, body = sdk.binary({**event, "specversion": "0.3"}, data)
    old = await refused((headers, body), 422)
    assert old["problems"] == [{"path": "ce-specversion", "message": "Input should be '1.0'"}]

    no_subject = {key: value for key, value in event.items() if key != "subject"}
    missing = await refused(sdk.binary(no_subject, data), 422)
    assert missing["problems"] == [{"path": "ce-subject", "message": "required"}]

    # JSON, but no object: the SDKs write this text as `[1, 2]` (2.x) or `"[1, 2]"` (1.x).
    listed = await refused(sdk.binary(event, "[1, 2]"), 422)
    assert [p["path"] for p in listed["problems"]] == ["data"]

    headers, body = sdk.binary(event, data)
    late = await refused(({**headers, "ce-time": "yesterday"}, body), 422)
    assert [p["path"] for p in late["problems"]] == ["ce-time"]
    garbled = await refused(({**headers, "ce-subject": "%FF"}, body), 422)
    assert garbled["problems"] == [{"path": "ce-subject", "message": "not UTF-8"}]
    broken = await refused((headers, b'{"cart_id": '), 400)
    assert broken["detail"].startswith("not valid JSON")

    headers, body = sdk.structured(event, b"\x00\x01")  # bytes: the SDK writes data_base64
    base64 = await refused((headers, body), 422)
    assert "data_base64 is not supported" in base64["problems"][0]["message"]
    xml = await refused(({"Content-Type": "application/cloudevents+xml"}, body), 415)
    assert "JSON event format" in xml["detail"]
    plain = await refused(({"Content-Type": "text/plain"}, body), 415)
    assert "no CloudEvents content mode" in plain["detail"]
    too_many = await refused(batch_of(*[sdk.structured(event, data)] * (MAX_BATCH + 1)), 400)
    assert f"at most {MAX_BATCH} events" in too_many["detail"]
