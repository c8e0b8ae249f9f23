"""Hostile bodies over real HTTP: deeply nested JSON and YAML, YAML alias bombs, bodies over
the size limit, whatever the route. Each is refused with a clear 4xx JSON error, quickly,
and the gateway goes on answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from journeys.contacts.model import MAX_CONTACT_BYTES
from journeys.definitions.journeys import MAX_CONDITION_DEPTH, MAX_NESTING
from tests.abuse.served import ADMIN

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


BINARY_CLOUDEVENT = {
    "Content-Type": "application/json",
    "ce-specversion": "1.0",
    "ce-id": "hostile-1",
    "ce-source": "tests",
    "ce-type": "order.placed",
}


def test_hostile_binary_cloudevents_are_refused(api: httpx.Client) -> None:
    """A binary-mode CloudEvent's body is its data and each ce-* header an attribute: data
    nested past the parser and header bytes that are not UTF-8 are refused, never a 500."""
    deep = api.post(
        "/v1/cloudevents", content="[" * DEEP, headers={**BINARY_CLOUDEVENT, "ce-subject": "c1"}
    )
    assert refused(deep)["detail"] == "not valid JSON: nested too deeply: line 1 column 1 (char 0)"
    raw = api.post(
        "/v1/cloudevents",
        content=b"{}",
        headers=[*BINARY_CLOUDEVENT.items(), ("ce-subject", b"\xff\xfe")],
    )
    assert refused(raw)["problems"] == [{"path": "ce-subject", "message": "not UTF-8"}]
    assert api.get("/healthz").status_code == 200


DEEP_VALUE = "@deep"
JSON = {"Content-Type": "application/json"}


def with_deep_values(body: object, depth: int) -> str:
    """The body as JSON, each DEEP_VALUE a list nested `depth` deep: written out as text, as
    Python's own encoder would recurse past its limit (depending on the caller's stack)."""
    return json.dumps(body).replace(f'"{DEEP_VALUE}"', "[" * depth + '"x"' + "]" * depth)


@pytest.mark.parametrize("depth", [300, 700, 950])
def test_deep_values_that_still_parse_are_refused_or_kept_whole(
    api: httpx.Client, depth: int
) -> None:
    """Values nested almost as deep as the parser allows: an event refuses them (events are
    small facts); a contact, a definition and a simulation either take them and answer
    them back whole, or refuse them, never a 500."""
    event = api.post(
        "/v1/triggers/order.placed/events",
        content=with_deep_values(
            {"contact_id": "c1", "attributes": {"order_id": "o1", "cart_id": DEEP_VALUE}}, depth
        ),
        headers=JSON,
    )
    assert refused(event)["problems"]
    for method, path, body in [
        ("PUT", "/v1/contacts/deep", {"attributes": {"deep": DEEP_VALUE}}),
        (
            "PUT",
            "/v1/journeys/deep-values",
            {
                "name": "Deep",
                "start": {"trigger": "contact.created"},
                "steps": [
                    {"id": "call", "webhook": {"url": "http://127.0.0.1:9/", "body": DEEP_VALUE}}
                ],
            },
        ),
        (
            "POST",
            "/v1/journeys/welcome/simulate",
            {"contact": {"first_name": DEEP_VALUE}, "attributes": {"x": DEEP_VALUE}},
        ),
    ]:
        response = api.request(method, path, content=with_deep_values(body, depth), headers=JSON)
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


def test_deeply_nested_conditions_are_refused_in_linear_time(api: httpx.Client) -> None:
    """Each level of a condition once dumped its whole subtree again (2^depth): 60 levels
    never came back. Now they are refused for their depth, at once, where they go too deep."""
    condition: dict[str, object] = {"attr": "trigger.order_id", "op": "eq", "value": "o1"}
    for _ in range(60):
        condition = {"not": condition}
    journey = {
        "name": "Deep condition",
        "start": {"trigger": "order.placed", "when": condition},
        "steps": [{"id": "done", "exit": None}],
    }
    response = api.put("/v1/journeys/deep-condition", json=journey)
    [problem] = refused(response)["problems"]
    assert problem["path"] == "start.when" + ".not" * 60
    assert problem["message"].startswith(f"conditions nested more than {MAX_CONDITION_DEPTH}")


def test_a_contact_stops_growing_at_its_bound_on_every_write_path(api: httpx.Client) -> None:
    """Five writes of 950 KB each once made one contact 4.75 MB: its runs then failed on
    Temporal's payload limit and its lookups answered 500. Each write is within a request's
    bounds; the merged contact is refused past MAX_CONTACT_BYTES, and stays usable."""
    chunk = "x" * 9_000
    writes = [
        ("PUT", "/v1/contacts/grower", {"attributes": {f"a{n}_{i}": chunk for i in range(3)}})
        for n in range(5)
    ] + [
        (
            "POST",
            "/v1/triggers/contact.created/events",
            {"contact_id": "grower", "contact": {"attributes": {f"b{i}": chunk for i in range(5)}}},
        )
    ]
    answers = [api.request(method, path, json=body) for method, path, body in writes]
    assert [a.status_code for a in answers[:2]] == [201, 200], answers[0].text
    assert any(a.status_code == 422 for a in answers)
    for answer in answers:
        if answer.status_code == 422:
            [problem] = refused(answer)["problems"]  # type: ignore[misc]
            assert problem["path"] in ("attributes", "contact.attributes")
            assert f"at most {MAX_CONTACT_BYTES:,}" in problem["message"]
    contact = api.get("/v1/contacts/grower")
    assert contact.status_code == 200
    size = len(json.dumps(contact.json()["attributes"], separators=(",", ":")).encode())
    assert size <= MAX_CONTACT_BYTES
    assert api.get("/v1/contacts/grower/journeys").status_code == 200


def test_a_lone_surrogate_in_a_definition_is_refused_or_kept_whole(api: httpx.Client) -> None:
    """JSON's "\\ud800" parses to a text UTF-8 cannot hold (found by the definition property
    tests, where measuring a journey's size crashed on it)."""
    journey = {
        "name": "Lone \ud800 surrogate",
        "start": {"trigger": "contact.created"},
        "steps": [{"id": "hi", "email": {"subject": "\ud800", "text": "x"}}],
    }
    response = api.put("/v1/journeys/surrogate", content=json.dumps(journey), headers=JSON)
    if response.status_code >= 400:
        assert refused(response)["problems"]
    else:
        assert api.get("/v1/journeys/surrogate").json()["definition"]["name"] == journey["name"]


def test_slow_simulations_are_stopped_and_the_api_keeps_answering(api: httpx.Client) -> None:
    """42 simulations of a template that passed every guard yet took minutes once froze the
    whole API, health checks included. Each now runs in a process of its own, stopped at
    its time limit, while the API answers."""
    slow = "{% for i in range(100000) %}{% if (contact.s|sort)[0] %}{% endif %}{% endfor %}"
    journey = {
        "name": "Slow",
        "start": {"trigger": "contact.created"},
        "steps": [{"id": "hi", "email": {"subject": "Hi", "html": slow}}],
    }
    assert api.put("/v1/journeys/slow-template", json=journey).status_code in (200, 201)
    body = {"contact": {"email": "a@example.com", "attributes": {"s": "x" * 10_000}}}

    def simulate() -> httpx.Response:
        return api.post("/v1/journeys/slow-template/simulate", json=body, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        simulations = [pool.submit(simulate) for _ in range(4)]
        health = api.get("/healthz")
        assert health.status_code == 200
        assert not all(s.done() for s in simulations)  # answered while they ran
        for simulation in simulations:
            [problem] = refused(simulation.result())["problems"]  # type: ignore[misc]
            assert problem["message"].startswith("the simulation was stopped: it ran for more")


def test_a_journey_nested_too_deep_is_refused_and_poisons_nothing(api: httpx.Client) -> None:
    """Branches nested 64 deep passed validation; once published, every event of the start
    trigger, GET /v1/journeys and `journeys apply` answered 500."""
    steps: list[dict[str, object]] = [{"id": "end", "exit": None}]
    for level in range(64):
        arm = {"when": {"attr": "trigger.order_id", "op": "exists"}, "steps": steps}
        steps = [{"id": f"b{level}", "branch": [arm]}]
    journey = {"name": "Deep", "start": {"trigger": "order.placed"}, "steps": steps}
    response = api.put("/v1/journeys/deep-branches", json=journey)
    problems = refused(response)["problems"]
    assert isinstance(problems, list)
    assert any(f"nested more than {MAX_NESTING} deep" in p["message"] for p in problems)
    assert api.get("/v1/journeys").status_code == 200
    fired = api.post(
        "/v1/triggers/order.placed/events",
        json={"contact_id": "deep-1", "attributes": {"order_id": "o1"}},
    )
    assert fired.status_code == 202, fired.text
