"""Segment's own Python library, its `host` pointed at Journeys, reaches journeys: it posts
batches to {host}/v1/batch with the write key as the Basic-auth user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from segment.analytics.client import Client as SegmentClient
from temporalio.testing import WorkflowEnvironment

from journeys.cli.dev.processes import wait_until
from tests.abuse.served import ADMIN, samples_gateway


@pytest.fixture(scope="module")
def gateway(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Served by uvicorn: the Segment library speaks HTTP to a real server."""
    with samples_gateway(temporal_env, tmp_path_factory.mktemp("segment")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def admin(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, headers=ADMIN, timeout=30) as client:
        yield client


def write_key(admin: httpx.Client) -> str:
    created = admin.post("/v1/api-keys", json={"name": "segment", "scopes": ["events:write"]})
    assert created.status_code == 201, created.text
    return str(created.json()["secret"])


def test_segment_analytics_python_batches_reach_journeys(
    gateway: str, admin: httpx.Client, tmp_path: Path
) -> None:
    failures: list[Exception] = []
    segment = SegmentClient(
        write_key=write_key(admin),
        host=f"{gateway}/v1/segment",
        upload_size=10,  # batched: the calls below go out together
        on_error=lambda error, _batch: failures.append(error),
        max_retries=1,
    )
    segment.identify(
        "seg-ada",
        {"email": "ada@example.com", "firstName": "Ada", "plan": "gold", "consent": "all"},
        context={"timezone": "Europe/Paris"},
    )
    segment.track(
        "seg-ada",
        "Cart Abandoned",
        {"cart_id": "k-1", "total": 80, "currency": "EUR", "revenue": 80},
        message_id="seg-cart-1",
    )
    segment.page("seg-ada", "Docs", "Getting started")
    segment.track("seg-ada", "Video Played", {"seconds": 12})  # no trigger of that name
    segment.alias("seg-ada-previous", "seg-ada")
    segment.flush()
    segment.shutdown()
    assert failures == []

    contact = admin.get("/v1/contacts/seg-ada")
    assert contact.status_code == 200, contact.text
    fields = contact.json()
    assert (fields["email"], fields["first_name"], fields["timezone"]) == (
        "ada@example.com",
        "Ada",
        "Europe/Paris",
    )
    assert fields["attributes"] == {"plan": "gold"}
    assert fields["consent"] == {"email": None, "sms": None, "push": None}

    def entered() -> list[str]:
        entries = admin.get("/v1/contacts/seg-ada/journeys").json()
        return [e["journey_id"] for e in entries if e["event_id"] == "seg-cart-1"]

    wait_until(lambda: entered() == ["cart-recovery"])
    # The same messageId again (a library's retry) acts on nothing.
    again = httpx.post(
        f"{gateway}/v1/segment/v1/track",
        auth=(write_key(admin), ""),
        json={
            "userId": "seg-ada",
            "event": "Cart Abandoned",
            "messageId": "seg-cart-1",
            "properties": {"cart_id": "k-1", "total": 80, "currency": "EUR"},
        },
    )
    assert again.status_code == 200, again.text
    [result] = again.json()["results"]
    assert result["status"] == "accepted" and result["answer"]["duplicate"] is True


def test_every_valid_segment_message_gets_a_result_never_a_4xx(
    gateway: str, admin: httpx.Client
) -> None:
    key = write_key(admin)
    batch = {
        "batch": [
            {"type": "track", "anonymousId": "anon-1", "event": "Order Placed"},
            {"type": "screen", "userId": "seg-bob", "name": "Home"},
            {"type": "group", "userId": "seg-bob", "groupId": "g1"},
            {"type": "identify", "userId": "seg-bob", "traits": {"email": "not an address"}},
            {"type": "track", "userId": "seg-bob", "event": "Order Placed", "properties": {}},
        ]
    }
    answer = httpx.post(f"{gateway}/v1/segment/v1/batch", auth=(key, ""), json=batch)
    assert answer.status_code == 200, answer.text
    statuses = [(r["type"], r["status"]) for r in answer.json()["results"]]
    assert statuses == [
        ("track", "ignored"),
        ("screen", "ignored"),
        ("group", "ignored"),
        ("identify", "refused"),
        ("track", "refused"),
    ]
    details = [r["detail"] for r in answer.json()["results"]]
    assert "anonymousIds" in details[0] and "email" in details[3] and "order_id" in details[4]
    assert httpx.post(f"{gateway}/v1/segment/v1/batch", json=batch).status_code == 401
