"""An event whose journeys do not all begin: the ones that did are never undone or repeated,
the answer says what happened to each, and the producer's retries act once.

Two ways a start fails: Temporal refuses it for good (a journey published before nesting
was bounded, whose definition the serializer rejects), and Temporal is away for one run's
start only (a client interceptor answers UNAVAILABLE at the network border).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from journeys.store.db import transaction
from journeys.store.tables import EntryRow, JourneyRow, JourneyVersionRow
from tests.api.stack import Stack, api_stack
from tests.sinks import HttpSink, SmtpSink, eventually

TRIGGER = {"name": "order.shipped", "attributes": [{"name": "order_id", "type": "text"}]}


def journey(journey_id: str) -> dict[str, Any]:
    return {
        "kind": "Journey",
        "id": journey_id,
        "name": journey_id,
        "start": {"trigger": "order.shipped"},
        "steps": [{"id": "tell", "email": {"subject": f"{journey_id} shipped", "text": "Soon."}}],
    }


def nested_64_deep() -> dict[str, Any]:
    step: dict[str, Any] = {"id": "deepest", "email": {"subject": "deep", "text": "x"}}
    for level in range(64):
        arm = {"when": {"attr": "contact.email", "op": "exists"}, "steps": [step]}
        step = {"id": f"b{level}", "branch": [arm]}
    return {**journey("poisoned"), "steps": [step]}


def publish_unchecked(stack: Stack, definition: dict[str, Any]) -> None:
    """Put a journey live the way a release without the nesting bound could have."""
    with transaction(stack.harness.engine) as session:
        session.add(
            JourneyRow(
                id=definition["id"],
                name=definition["name"],
                draft=definition,
                status="published",
                live_version=1,
            )
        )
        session.add(
            JourneyVersionRow(
                journey_id=definition["id"], version=1, definition=definition, published_by="old"
            )
        )
    stack.app.state.services.catalog.reload()


async def publish(stack: Stack, definition: dict[str, Any]) -> None:
    put = await stack.api.put(f"/v1/journeys/{definition['id']}", json=definition)
    assert put.status_code in (200, 201), put.text
    published = await stack.api.post(f"/v1/journeys/{definition['id']}/publish")
    assert published.status_code == 200, published.text


def entries(stack: Stack, contact_id: str) -> list[tuple[str, bool, str | None]]:
    with transaction(stack.harness.engine) as session:
        rows = session.exec(select(EntryRow).where(EntryRow.contact_id == contact_id)).all()
        return sorted((row.journey_id, row.admitted, row.reason) for row in rows)


async def test_a_journey_temporal_refuses_is_refused_alone_and_retries_act_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    async with api_stack(temporal_env, tmp_path, smtp_sink, http_sink) as stack:
        assert (await stack.api.put("/v1/triggers/order.shipped", json=TRIGGER)).is_success
        await publish(stack, journey("tell-shipped"))
        publish_unchecked(stack, nested_64_deep())
        contact = await stack.contact()

        answers = [
            await stack.fire("order.shipped", contact_id=contact, event_id="ship-1")
            for _ in range(5)
        ]

        first = answers[0].json()
        assert answers[0].status_code == 202, first
        assert first["started"] == ["tell-shipped"]
        [refused] = first["refused"]
        assert refused["journey"] == "poisoned" and refused["reason"] == "start_failed"
        assert "depth" in refused["detail"]
        assert [a.json()["duplicate"] for a in answers[1:]] == [True] * 4
        await eventually(lambda: len(smtp_sink.messages) >= 1)
        assert entries(stack, contact) == [
            ("poisoned", False, "start_failed"),
            ("tell-shipped", True, None),
        ]
        # Each new event still starts the good journey: the poisoned one harms no other.
        again = await stack.fire("order.shipped", contact_id=await stack.contact())
        assert again.json()["started"] == ["tell-shipped"]
        await eventually(lambda: len(smtp_sink.messages) == 2)
        subjects = [m["Subject"] for m in smtp_sink.messages]
        assert subjects == ["tell-shipped shipped"] * 2


class _AwayFor(Interceptor):
    """Temporal unreachable for the starts of one journey, `times` times."""

    def __init__(self, journey_id: str, times: int) -> None:
        self.journey_id = journey_id
        self.times = times

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self)


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, away: _AwayFor) -> None:
        super().__init__(next)
        self._away = away

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        if input.id.startswith(f"journey/{self._away.journey_id}/") and self._away.times > 0:
            self._away.times -= 1
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        return await super().start_workflow(input)


@pytest.fixture
async def flaky_stack(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> AsyncIterator[tuple[Stack, _AwayFor]]:
    away = _AwayFor("second", times=0)
    client = Client(
        temporal_env.client.service_client,
        namespace=temporal_env.client.namespace,
        data_converter=temporal_env.client.data_converter,
        interceptors=[away],
    )
    async with api_stack(temporal_env, tmp_path, smtp_sink, http_sink, client) as stack:
        yield stack, away


async def test_temporal_away_for_one_journey_answers_what_was_done_and_the_retry_finishes(
    flaky_stack: tuple[Stack, _AwayFor], smtp_sink: SmtpSink
) -> None:
    stack, away = flaky_stack
    assert (await stack.api.put("/v1/triggers/order.shipped", json=TRIGGER)).is_success
    await publish(stack, journey("first"))
    await publish(stack, journey("second"))
    contact = await stack.contact()
    away.times = 2

    refused = [
        await stack.fire("order.shipped", contact_id=contact, event_id="ship-2") for _ in range(2)
    ]
    finished = await stack.fire("order.shipped", contact_id=contact, event_id="ship-2")

    for answer in refused:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        detail = answer.json()["detail"]
        assert (
            "could not act for second (second: Temporal cannot be reached" in detail
            and "first got the event" in detail
        )
    assert finished.status_code == 202, finished.text
    assert sorted(finished.json()["started"]) == ["first", "second"]
    await eventually(lambda: len(smtp_sink.messages) == 2)
    assert sorted(m["Subject"] for m in smtp_sink.messages) == [
        "first shipped",
        "second shipped",
    ]
    assert entries(stack, contact) == [("first", True, None), ("second", True, None)]
