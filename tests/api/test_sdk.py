"""The web snippet's call over the gateway, a real worker and Temporal: publishable keys,
CORS per key, the custom triggers a key names, contacts a page may only create, rate
limits, capped attributes, event-id idempotency, and the script itself."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.stack import Stack
from tests.worker.harness import unique

SHOP = "https://shop.example"
TRIGGER = "whitepaper.downloaded"
JOURNEY = """\
id: white-paper
name: White paper follow-up
audience: contact
start: {trigger: whitepaper.downloaded}
steps:
  - id: thanks
    email: {subject: "Your white paper", text: "Here it is."}
  - id: pause
    wait: P1D
"""


async def web_journey(api: httpx.AsyncClient, *origins: str, **key: Any) -> str:
    """A custom trigger, a published journey starting on it, and a publishable key that may
    fire it from `origins`; returns the key."""
    trigger = {"type": "custom", "attributes": [{"name": "paper", "required": True}]}
    assert (await api.put(f"/v1/triggers/{TRIGGER}", json=trigger)).status_code == 201
    yaml = {"Content-Type": "application/yaml"}
    assert (await api.put("/v1/journeys/white-paper", content=JOURNEY, headers=yaml)).is_success
    assert (await api.post("/v1/journeys/white-paper/publish")).is_success
    body = {"name": "website", "kind": "publishable", "triggers": [TRIGGER], "origins": origins}
    created = await api.post("/v1/api-keys", json=body | key)
    assert created.status_code == 201, created.text
    assert created.json()["secret"] is None
    return str(created.json()["publishable_key"])


def fire(
    stack: Stack, key: str, body: dict[str, Any], origin: str = SHOP, trigger: str = TRIGGER
) -> Any:
    return stack.api.post(
        f"/sdk/triggers/{trigger}/events",
        params={"key": key},
        json=body,
        headers={"Origin": origin, "Authorization": ""},
    )


async def test_a_page_starts_a_journey_and_learns_only_that_its_event_was_taken(
    stack: Stack,
) -> None:
    key = await web_journey(stack.api, SHOP)
    event = {"event_id": unique("e"), "email": "Ada@Example.com", "attributes": {"paper": "q3"}}
    answer = await fire(stack, key, event)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"event_id": event["event_id"], "trigger": TRIGGER, "duplicate": False}
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-credentials" not in answer.headers
    # The email names the contact, and creates it: no consent given or taken.
    contact = (await stack.api.get("/v1/contacts/ada@example.com")).json()
    assert contact["email"] == "Ada@example.com"
    assert contact["consent"] == {"email": None, "sms": None, "push": None}
    run = await stack.api.get("/v1/journeys/white-paper/instances/ada@example.com")
    assert run.status_code == 200, run.text

    # The snippet's retry of the same event acts once.
    again = await fire(stack, key, event)
    assert again.status_code == 202 and again.json()["duplicate"] is True


async def test_a_page_never_changes_a_known_contact(stack: Stack) -> None:
    key = await web_journey(stack.api, SHOP)
    contact_id = await stack.contact(first_name="Grace")
    event = {
        "event_id": unique("e"),
        "contact_id": contact_id,
        "email": "someone-else@example.com",
        "first_name": "Mallory",
        "attributes": {"paper": "q3"},
    }
    answer = await fire(stack, key, event)
    # Taken, and not told that the data was left aside: that would say who the contact is.
    assert answer.status_code == 202, answer.text
    contact = (await stack.api.get(f"/v1/contacts/{contact_id}")).json()
    assert (contact["email"], contact["first_name"]) == (f"{contact_id}@example.com", "Grace")


async def test_cors_preflight_answers_only_the_keys_origins(stack: Stack) -> None:
    key = await web_journey(stack.api, SHOP, "http://localhost:8080")
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    path = f"/sdk/triggers/{TRIGGER}/events"
    allowed = await stack.api.options(path, params={"key": key}, headers={"Origin": SHOP, **asked})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert allowed.headers["access-control-allow-methods"] == "POST"
    assert "access-control-allow-credentials" not in allowed.headers
    for origin, used_key, status, detail in (
        ("https://evil.example", key, 403, "this key may not be used from https://evil.example"),
        (SHOP, "jkpub_0000", 401, "unknown or revoked publishable key"),
    ):
        refused = await stack.api.options(
            path, params={"key": used_key}, headers={"Origin": origin, **asked}
        )
        assert (refused.status_code, refused.json()["detail"]) == (status, detail)
        assert "access-control-allow-origin" not in refused.headers


async def test_what_a_key_does_not_allow_is_refused_with_its_reason(stack: Stack) -> None:
    key = await web_journey(stack.api, SHOP)
    event = {"event_id": unique("e"), "email": "ada@example.com", "attributes": {"paper": "q3"}}

    elsewhere = await fire(stack, key, event, origin="https://evil.example")
    assert elsewhere.status_code == 403
    assert elsewhere.json()["detail"] == "this key may not be used from https://evil.example"
    assert "access-control-allow-origin" not in elsewhere.headers

    unnamed = await fire(stack, key, event, trigger="order.placed")
    assert unnamed.status_code == 403
    assert unnamed.json()["detail"] == "this key may not fire order.placed"
    assert unnamed.headers["access-control-allow-origin"] == SHOP

    unknown = await fire(stack, "jkpub_0000", event)
    assert unknown.status_code == 401

    # Bearer calls take no publishable key.
    bearer = await stack.api.get("/v1/triggers", headers={"Authorization": f"Bearer {key}"})
    assert bearer.status_code == 401
    assert "publishable" in bearer.json()["detail"]

    too_long = await fire(stack, key, event | {"attributes": {"paper": "x" * 501}})
    assert too_long.status_code == 422
    assert [p["path"] for p in too_long.json()["problems"]] == ["attributes.paper"]
    assert too_long.headers["access-control-allow-origin"] == SHOP

    nobody = await fire(stack, key, {"event_id": unique("e"), "attributes": {"paper": "q3"}})
    assert nobody.status_code == 422
    assert "contact_id, email" in nobody.json()["problems"][0]["message"]

    for body in ({"event_id": unique("e"), "contact_id": "c-1", "consent": {"email": True}},):
        assert (await fire(stack, key, body)).status_code == 422  # no consent from a page


async def test_a_flood_is_refused_per_key(stack: Stack) -> None:
    key = await web_journey(stack.api, SHOP, rate_limit=1)
    answers = [
        await fire(stack, key, {"event_id": unique("e"), "contact_id": "c-1"}, trigger="x.y")
        for _ in range(10)
    ]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.json()["detail"].endswith("this key; retry later") for a in refused)
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].headers["access-control-expose-headers"] == "Retry-After"


async def test_a_flood_is_refused_per_address(stack: Stack) -> None:
    key = await web_journey(stack.api, SHOP)  # 50 a second for the key, 5 for an address
    answers = [
        await fire(stack, key, {"event_id": unique("e"), "contact_id": "c-1"}, trigger="x.y")
        for _ in range(30)
    ]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(
        a.json()["detail"].endswith("this address; retry later") for a in refused
    )


async def test_a_publishable_key_names_custom_triggers_and_origins(stack: Stack) -> None:
    await stack.put_triggers()
    base = {"name": "website", "kind": "publishable"}
    cases = [
        ({"triggers": ["order.placed"]}, "", "needs triggers and origins"),
        (
            {"triggers": ["contact.created", "opportunity.won", "no.such"], "origins": [SHOP]},
            "triggers[0] triggers[1] triggers[2]",
            "",
        ),
        (
            {"triggers": ["order.placed"], "origins": ["https://shop.example/page"]},
            "origins[0]",
            "",
        ),
        ({"triggers": ["order.placed"], "origins": [SHOP], "scopes": ["admin"]}, "", "not scopes"),
    ]
    for body, paths, message in cases:
        answer = await stack.api.post("/v1/api-keys", json=base | body)
        assert answer.status_code == 422, answer.text
        problems = answer.json()["problems"]
        assert " ".join(p["path"] for p in problems) == paths
        assert message in problems[0]["message"]
    created = await stack.api.post(
        "/v1/api-keys",
        json=base | {"triggers": ["order.placed"], "origins": ["HTTPS://Shop.example:443/"]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["origins"] == [SHOP]
    listed = {k["id"]: k for k in (await stack.api.get("/v1/api-keys")).json()}
    assert listed[created.json()["id"]]["publishable_key"] == created.json()["publishable_key"]


async def test_the_script_is_served_plain_and_cacheable(stack: Stack) -> None:
    script = await stack.api.get("/sdk/journeys.js", headers={"Authorization": ""})
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=3600"
    assert "window.Journeys" in script.text
    same = await stack.api.get(
        "/sdk/journeys.js", headers={"If-None-Match": script.headers["etag"]}
    )
    assert same.status_code == 304 and same.content == b""
