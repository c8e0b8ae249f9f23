"""Keys, scopes, signed requests, rate limits and size limits at the gateway."""

from __future__ import annotations

import base64
import json
import time

import pytest

from journeys.kit.signing import sign
from tests.api.stack import ADMIN, Stack
from tests.worker.harness import unique

URL = "/v1/triggers/order.placed/events"


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    await stack.put_triggers()
    return stack


def order(contact: str = "c1") -> bytes:
    return json.dumps({"contact_id": contact, "attributes": {"order_id": "o1"}}).encode()


async def test_signed_requests_valid_wrong_replayed_and_late(stack: Stack) -> None:
    created = await stack.api.post(
        "/v1/api-keys", json={"name": "webhooks", "scopes": ["events:write"], "signed": True}
    )
    key = created.json()
    assert key["secret"] is None
    secret, key_id = key["signing_secret"], key["id"]

    def signed(body: bytes, at: float | None = None, with_secret: str = secret) -> dict[str, str]:
        header = sign(with_secret, body, int(at or time.time()))
        return {
            "X-Journeys-Signature": f"keyid={key_id},{header}",
            "Authorization": "",
            "Content-Type": "application/json",
        }

    body = order()
    headers = signed(body)
    assert (await stack.api.post(URL, content=body, headers=headers)).status_code == 202
    replayed = await stack.api.post(URL, content=body, headers=headers)
    assert (replayed.status_code, replayed.json()["detail"]) == (
        401,
        "replayed signature: sign every request anew",
    )
    wrong = await stack.api.post(URL, content=body, headers=signed(body, with_secret="guess"))
    assert wrong.status_code == 401
    tampered = await stack.api.post(URL, content=order("someone-else"), headers=signed(body))
    assert tampered.status_code == 401
    late = await stack.api.post(URL, content=body, headers=signed(body, at=time.time() - 3600))
    assert late.json()["detail"].startswith("bad signature, or a timestamp more than 300 s away")

    as_bearer = await stack.api.post(
        URL, content=body, headers={"Authorization": f"Bearer {key_id}"}
    )
    assert as_bearer.status_code == 401
    admin_call = await stack.api.get("/v1/journeys", headers=signed(b""))
    assert admin_call.status_code == 401  # signatures are for ingestion only


async def test_basic_auth_carries_a_key_as_cdps_send_it(stack: Stack) -> None:
    created = (
        await stack.api.post("/v1/api-keys", json={"name": "cdp", "scopes": ["events:write"]})
    ).json()
    basic = base64.b64encode(f"{created['secret']}:".encode()).decode()
    response = await stack.api.post(
        URL, json=json.loads(order()), headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 202


async def test_a_key_over_its_rate_gets_429_with_retry_after(stack: Stack) -> None:
    created = (
        await stack.api.post(
            "/v1/api-keys", json={"name": "slow", "scopes": ["events:write"], "rate_limit": 1}
        )
    ).json()
    headers = {"Authorization": f"Bearer {created['secret']}"}
    statuses = [
        (await stack.api.post(URL, json=json.loads(order()), headers=headers)).status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]  # a burst of twice the rate, then wait
    limited = await stack.api.post(URL, json=json.loads(order()), headers=headers)
    assert limited.headers["Retry-After"] == "1"
    assert limited.json() == {"detail": "rate limit of this key exceeded"}


async def test_size_limits(stack: Stack) -> None:
    huge = b'{"contact_id": "c1", "attributes": {"x": "' + b"a" * 1_100_000 + b'"}}'
    response = await stack.api.post(URL, content=huge, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "the body is larger than 1000000 bytes"},
    )

    many = {"contact_id": "c1", "attributes": {f"a{i}": i for i in range(201)}}
    too_many = await stack.api.post(URL, json=many)
    assert too_many.json()["problems"] == [
        {"path": "attributes", "message": "at most 200 attributes, got 201"}
    ]
    long_text = {"contact_id": "c1", "attributes": {"order_id": "x" * 10_001}}
    too_long = await stack.api.post(URL, json=long_text)
    assert too_long.json()["problems"] == [
        {"path": "attributes", "message": "order_id: text longer than 10000 characters"}
    ]


async def test_a_revoked_key_stops_working_and_admin_needs_admin(stack: Stack) -> None:
    created = (
        await stack.api.post("/v1/api-keys", json={"name": "p", "scopes": ["events:write"]})
    ).json()
    headers = {"Authorization": f"Bearer {created['secret']}"}
    assert (
        await stack.api.put(f"/v1/contacts/{unique('x')}", json={}, headers=headers)
    ).status_code == 403
    assert (await stack.api.delete(f"/v1/api-keys/{created['id']}")).status_code == 204
    assert (await stack.api.post(URL, json=json.loads(order()), headers=headers)).status_code == 401
    assert (await stack.api.delete(f"/v1/api-keys/{created['id']}")).status_code == 404


async def test_a_key_without_its_scheme_and_a_body_not_sent_as_json_say_what_to_change(
    stack: Stack,
) -> None:
    secret = ADMIN["Authorization"].removeprefix("Bearer ")
    bare = await stack.api.post(URL, content=order(), headers={"Authorization": secret})
    assert bare.status_code == 401
    assert bare.json()["detail"] == (
        "the Authorization header is not `Bearer <key>`: its scheme is missing or unknown"
    )
    assert secret not in bare.text
    missing = await stack.api.post(URL, content=order(), headers={"Authorization": ""})
    assert missing.json()["detail"] == "missing API key: send `Authorization: Bearer <key>`"

    for sent in ("text/plain", "application/x-www-form-urlencoded"):  # curl -d's default
        plain = await stack.api.post(URL, content=order(), headers={"Content-Type": sent})
        assert plain.status_code == 415, plain.text
        assert plain.json()["detail"] == (
            f"the body must be JSON: send `Content-Type: application/json` (this request sent {sent})"
        )
