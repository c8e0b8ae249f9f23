"""Segment's own Python library, its `host` pointed at Journeys, reaches journeys: it posts
batches to {host}/v1/batch with the write key as the Basic-auth user."""

from __future__ import annotations

import gzip
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


def test_segment_batches_sent_gzipped_are_read(gateway: str, admin: httpx.Client) -> None:
    failures: list[Exception] = []
    segment = SegmentClient(
        write_key=write_key(admin),
        host=f"{gateway}/v1/segment",
        gzip=True,  # as analytics-node always sends
        on_error=lambda error, _batch: failures.append(error),
        max_retries=1,
    )
    segment.identify("seg-gz", {"email": "gz@example.com", "firstName": "Gus"})
    segment.flush()
    segment.shutdown()
    assert failures == []
    contact = admin.get("/v1/contacts/seg-gz")
    assert contact.status_code == 200, contact.text
    assert contact.json()["first_name"] == "Gus"


@pytest.mark.parametrize(
    ("encoding", "body", "status", "detail"),
    [
        # A kilobyte that inflates past the body limit stops at the limit, unread.
        ("gzip", gzip.compress(b" " * 50_000_000), 413, "larger than"),
        ("gzip", gzip.compress(b'{"batch": []}')[:-6], 400, "ends early"),
        ("gzip", b"not gzip at all", 400, "damaged"),
        ("gzip", gzip.compress(b'{"batch": []}') * 2, 400, "after its end"),
        ("br", b"{}", 415, "'br' is not supported"),
    ],
    ids=["bomb", "truncated", "damaged", "two-members", "brotli"],
)
def test_a_gzipped_body_is_bounded_and_checked(
    gateway: str, admin: httpx.Client, encoding: str, body: bytes, status: int, detail: str
) -> None:
    answer = httpx.post(
        f"{gateway}/v1/segment/v1/batch",
        auth=(write_key(admin), ""),
        content=body,
        headers={"content-type": "application/json", "content-encoding": encoding},
    )
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]


def test_a_chunked_body_over_the_limit_is_refused_with_its_reason(
    gateway: str, admin: httpx.Client
) -> None:
    """No Content-Length to refuse it by: the count while reading stops it."""

    def chunks() -> Iterator[bytes]:
        yield b'{"batch": ['
        for _ in range(200):
            yield b'{"type": "page", "userId": "u", "properties": {"x": "' + b"y" * 10_000 + b'"}},'
        yield b"]}"

    answer = httpx.post(
        f"{gateway}/v1/segment/v1/batch",
        auth=(write_key(admin), ""),
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json() == {"detail": "the body is larger than 1000000 bytes"}
