"""Hostile bodies over real HTTP: deeply nested JSON and YAML, YAML alias bombs, bodies over
the size limit, whatever the route. Each is refused with a clear 4xx JSON error, quickly,
and the gateway goes on answering."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.abuse.conftest import ADMIN

DEEP = 100_000  # levels: far past Python's recursion limit, yet a 200 KB body
JSON_ROUTES = [
    ("POST", "/v1/triggers/order.placed/events", "application/json"),
    ("POST", "/v1/events:batch", "application/json"),
    ("POST", "/v1/cloudevents", "application/cloudevents+json"),
    ("POST", "/v1/cloudevents", "application/cloudevents-batch+json"),
    ("POST", "/v1/segment/track", "application/json"),
    ("POST", "/v1/records/opportunity", "application/json"),
    ("PUT", "/v1/triggers/deep.trigger", "application/json"),
    ("PUT", "/v1/journeys/deep", "application/json"),
    ("PUT", "/v1/journeys/deep", "application/yaml"),
    ("PUT", "/v1/contacts/deep", "application/json"),
    ("PUT", "/v1/settings/messaging", "application/json"),
    ("POST", "/v1/journeys/welcome/simulate", "application/json"),
    ("POST", "/v1/journeys/welcome/steps/welcome/test-send", "application/json"),
    ("POST", "/v1/api-keys", "application/json"),
    ("POST", "/v1/channels/email/events", "application/json"),
    ("POST", "/v1/channels/sms/events", "application/json"),
    ("POST", "/v1/channels/sms/inbound", "application/json"),
    ("POST", "/v1/channels/push/events", "application/json"),
]


@pytest.fixture(scope="module")
def api(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, headers=ADMIN, timeout=30) as client:
        yield client


def refused(response: httpx.Response) -> dict[str, object]:
    """The house's refusal: a 4xx whose JSON body says what is wrong."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return dict(body)


@pytest.mark.parametrize(("method", "path", "content_type"), JSON_ROUTES)
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_bodies_are_refused(
    api: httpx.Client, method: str, path: str, content_type: str, opening: str
) -> None:
    body = opening * DEEP
    refused(api.request(method, path, content=body, headers={"Content-Type": content_type}))
    assert api.get("/healthz").status_code == 200


@pytest.mark.parametrize(("method", "path", "content_type"), JSON_ROUTES)
def test_bodies_over_the_limit_are_refused_before_they_are_read(
    api: httpx.Client, method: str, path: str, content_type: str
) -> None:
    body = json.dumps({"contact_id": "c1", "attributes": {"x": "a" * 1_100_000}})
    response = api.request(method, path, content=body, headers={"Content-Type": content_type})
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "the body is larger than 1000000 bytes"},
    )


def nested(depth: int, leaf: object = "x") -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [300, 700, 950])
def test_deep_values_that_still_parse_are_refused_or_kept_whole(
    api: httpx.Client, depth: int
) -> None:
    """Values nested almost as deep as the parser allows: an event refuses them (events are
    small facts); a contact, a definition and a simulation either take them and answer
    them back whole, or refuse them, never a 500."""
    event = api.post(
        "/v1/triggers/order.placed/events",
        json={"contact_id": "c1", "attributes": {"order_id": "o1", "cart_id": nested(depth)}},
    )
    assert refused(event)["problems"]
    for method, path, body in [
        ("PUT", "/v1/contacts/deep", {"attributes": {"deep": nested(depth)}}),
        (
            "PUT",
            "/v1/journeys/deep-values",
            {
                "name": "Deep",
                "start": {"trigger": "contact.created"},
                "steps": [
                    {"id": "call", "webhook": {"url": "http://127.0.0.1:9/", "body": nested(depth)}}
                ],
            },
        ),
        (
            "POST",
            "/v1/journeys/welcome/simulate",
            {"contact": {"first_name": nested(depth)}, "attributes": {"x": nested(depth)}},
        ),
    ]:
        response = api.request(method, path, content=json.dumps(body))
        if response.status_code < 400:
            assert response.status_code in (200, 201)
        else:
            refused(response)
    assert api.get("/healthz").status_code == 200


def test_deep_yaml_is_refused(api: httpx.Client) -> None:
    yaml_headers = {"Content-Type": "application/yaml"}
    flow = "name: Deep\nsteps: " + "[" * DEEP
    block = "name: Deep\nsteps:\n" + "".join(" " * level + "- \n" for level in range(1, 1200))
    for text in (flow, block):
        body = refused(api.put("/v1/journeys/deep", content=text, headers=yaml_headers))
        assert body["problems"][0]["message"].startswith("not")


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(api: httpx.Client) -> None:
    """A few hundred bytes whose aliases stand for ten to the ninth texts, inside a webhook
    body (free JSON, where templates are looked for in every text)."""
    anchors = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    anchors += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = (
        "name: Bomb\nstart: {trigger: contact.created}\nsteps:\n"
        "  - id: call\n    webhook:\n      url: http://127.0.0.1:9/\n      body:\n"
        + "".join(f"        {line}\n" for line in anchors)
    )
    response = api.put(
        "/v1/journeys/bomb", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert refused(response)["problems"] == [
        {
            "path": "",
            "message": "not accepted as YAML: more than 100000 values, counting each alias in full",
        }
    ]


def test_deeply_nested_conditions_validate_in_linear_time(api: httpx.Client) -> None:
    """Each level of a condition once dumped its whole subtree again (2^depth): 60 levels
    never came back. Now the journey is kept, or refused for its depth."""
    condition: dict[str, object] = {"attr": "trigger.order_id", "op": "eq", "value": "o1"}
    for _ in range(60):
        condition = {"not": condition}
    journey = {
        "name": "Deep condition",
        "start": {"trigger": "order.placed", "when": condition},
        "steps": [{"id": "done", "exit": None}],
    }
    response = api.put("/v1/journeys/deep-condition", json=journey)
    assert response.status_code == 201, response.text
    assert api.get("/v1/journeys/deep-condition").json()["definition"]["start"]["when"] == condition
