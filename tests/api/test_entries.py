"""Entries decided once, atomically, and answered truly: every refusal with its reason,
repeat entries, CIJ's bindings, correlation by value, record state, removal, unknown
contacts, and the trigger lifecycle guards. Through the gateway, a real worker and the
dev server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.stack import Stack
from tests.api.test_authoring import publish
from tests.sinks import SmtpSink, eventually, outcome_of

TRIGGERS = [
    {
        "name": "visit.booked",
        "attributes": [
            {"name": "visit_id", "type": "text", "required": True},
            {"name": "visit_at", "type": "datetime"},
            {"name": "score", "type": "number"},
        ],
    },
    {"name": "visit.cancelled", "attributes": [{"name": "visit_id", "type": "text"}]},
    {"name": "payment.received", "attributes": [{"name": "visit_id", "type": "text"}]},
]


def journey(journey_id: str, **fields: str) -> str:
    """A journey on visit.booked that waits a day (runs stay inside) and ends on
    visit.cancelled; `fields` set or replace top-level YAML lines."""
    lines = {"start": "{trigger: visit.booked}", "exit": "[{trigger: visit.cancelled}]", **fields}
    extra = "\n".join(f"{key}: {value}" for key, value in lines.items())
    return f"""
kind: Journey
id: {journey_id}
name: {journey_id}
{extra}
steps:
  - {{id: pause, wait: P1D}}
  - {{id: hello, email: {{subject: "Visit {{{{ trigger.visit_id }}}}", text: "See you."}}}}
"""


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    for trigger in TRIGGERS:
        put = await stack.api.put(f"/v1/triggers/{trigger['name']}", json=trigger)
        assert put.status_code == 201, put.text
    return stack


async def book(
    stack: Stack, contact_id: str, visit: str = "v1", score: int | None = None, **body: Any
) -> dict[str, Any]:
    attributes: dict[str, Any] = {"visit_id": visit}
    if score is not None:
        attributes["score"] = score
    response = await stack.fire(
        "visit.booked", contact_id=contact_id, attributes=attributes, **body
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def running(env: WorkflowEnvironment, journey_id: str, contact_id: str) -> set[str]:
    query = (
        f"JourneyId = '{journey_id}' AND ContactId = '{contact_id}' AND ExecutionStatus = 'Running'"
    )
    return {w.id async for w in env.client.list_workflows(query)}


async def runs_become(
    env: WorkflowEnvironment, journey_id: str, contact_id: str, expected: set[str]
) -> None:
    """Until Temporal's visibility, a moment behind the runs, lists exactly these."""

    async def listed() -> bool:
        return await running(env, journey_id, contact_id) == expected

    await eventually(listed)


async def test_every_refusal_is_answered_with_its_reason(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(
        stack,
        journey(
            "picky", start="{trigger: visit.booked, when: {attr: trigger.score, op: gte, value: 5}}"
        ),
    )
    await publish(stack, journey("closed", entry='{until: "2020-01-01T00:00:00Z"}'))
    await publish(stack, journey("scarce", entry="{rate_limit: {count: 1, per: day}}"))
    await publish(stack, journey("paused"))
    assert (await stack.api.post("/v1/journeys/paused/pause")).status_code == 200
    await publish(stack, journey("once"))

    with temporal_env.with_time_skipping_disabled():
        stranger = await book(stack, "nobody-knows-me")
        assert stranger["started"] == []
        assert {r["reason"] for r in stranger["refused"]} == {
            "unknown_contact",
            "outside_window",
            "journey_paused",
        }

        ada, bob = await stack.contact(), await stack.contact()
        first = await book(stack, ada, score=1)
        assert sorted(first["started"]) == ["once", "scarce"]
        assert sorted((r["journey"], r["reason"]) for r in first["refused"]) == [
            ("closed", "outside_window"),
            ("paused", "journey_paused"),
            ("picky", "condition_false"),
        ]
        inside = await book(stack, ada, score=9)
        assert ("once", "already_in_journey") in [
            (r["journey"], r["reason"]) for r in inside["refused"]
        ]
        assert inside["started"] == ["picky"]
        other = await book(stack, bob)
        assert ("scarce", "rate_limited") in [(r["journey"], r["reason"]) for r in other["refused"]]

        await stack.api.post(f"/v1/journeys/once/instances/{ada}/stop")
        await outcome_of(temporal_env.client.get_workflow_handle(f"journey/once/{ada}"))
        again = await book(stack, ada, visit="v2")
        assert ("once", "reentry_blocked") in [
            (r["journey"], r["reason"]) for r in again["refused"]
        ]

    # The ledger and the stats say what the answers said.
    entries = (await stack.api.get(f"/v1/contacts/{ada}/journeys")).json()
    refusals = {(e["journey_id"], e["reason"]) for e in entries if not e["admitted"]}
    assert {("once", "already_in_journey"), ("once", "reentry_blocked")} <= refusals
    stats = (await stack.api.get("/v1/journeys/once/stats")).json()
    assert stats["refused"] == {
        "unknown_contact": 1,
        "already_in_journey": 1,
        "reentry_blocked": 1,
    }
    assert stats["exited"] == {"removed": 1}


async def test_the_other_ways_in_answer_refusals_too(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(stack, journey("once"))
    ada = await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        assert (await book(stack, ada))["started"] == ["once"]
        batch = await stack.api.post(
            "/v1/events:batch",
            json={
                "events": [
                    {"trigger": "visit.booked", "contact_id": ada, "attributes": {"visit_id": "v"}}
                ]
            },
        )
        cloud = await stack.api.post(
            "/v1/cloudevents",
            json={
                "specversion": "1.0",
                "id": f"ce-{ada}",
                "source": "tests",
                "type": "visit.booked",
                "subject": ada,
                "data": {"visit_id": "v"},
            },
            headers={"Content-Type": "application/cloudevents+json"},
        )
        segment = await stack.api.post(
            "/v1/segment/track",
            json={"event": "Visit Booked", "userId": ada, "properties": {"visit_id": "v"}},
        )
    refused = [{"journey": "once", "reason": "already_in_journey"}]
    assert batch.json()["results"][0]["refused"] == refused
    assert cloud.json()["refused"] == refused
    assert segment.json()["refused"] == refused


async def test_twenty_starts_at_once_admit_one(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(stack, journey("single", reentry="always"))
    ada = await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        answers = await asyncio.gather(*(book(stack, ada, visit=f"v{i}") for i in range(20)))
        started = [a for a in answers if a["started"] == ["single"]]
        refused = [a["refused"] for a in answers if a["refused"]]
        assert len(started) == 1
        assert refused == [[{"journey": "single", "reason": "already_in_journey"}]] * 19
        await runs_become(temporal_env, "single", ada, {f"journey/single/{ada}"})
    entries = (await stack.api.get(f"/v1/contacts/{ada}/journeys")).json()
    assert sum(e["admitted"] for e in entries) == 1
    assert len(entries) == 20


async def test_parallel_runs_are_distinct_and_one_exit_ends_them_all(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(stack, journey("repeat", parallel="true", reentry="always"))
    ada = await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        for visit in ("v1", "v2", "v3"):
            assert (await book(stack, ada, visit=visit))["started"] == ["repeat"]
        runs = {f"journey/repeat/{ada}/run-{n}" for n in (1, 2, 3)}
        await runs_become(temporal_env, "repeat", ada, runs)
        cancelled = await stack.fire("visit.cancelled", contact_id=ada)
        assert cancelled.json()["signaled"] == ["repeat"]
        for workflow_id in sorted(runs):
            outcome = await outcome_of(temporal_env.client.get_workflow_handle(workflow_id))
            assert outcome["reason"] == "trigger:visit.cancelled"


async def test_cij_bindings_reach_the_runs_their_rules_say(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(
        stack,
        journey("visits", start="{trigger: visit.booked, per: binding}", reentry="always"),
    )

    async def two_visits() -> str:
        contact = await stack.contact()
        for binding in ("appointment/1", "appointment/2"):
            answer = await book(stack, contact, binding_id=binding)
            assert answer["started"] == ["visits"], answer
        return contact

    def run(contact: str, binding: str) -> str:
        return f"journey/visits/{contact}/{binding}"

    async def cancel(contact: str, binding: str | None) -> list[str]:
        body: dict[str, Any] = {"contact_id": contact}
        if binding:
            body["binding_id"] = binding
        answer = await stack.fire("visit.cancelled", **body)
        assert answer.status_code == 202, answer.text
        signaled: list[str] = answer.json()["signaled"]
        return signaled

    with temporal_env.with_time_skipping_disabled():
        same = await two_visits()
        assert await cancel(same, "appointment/3") == []  # same type, another id: no run
        assert await cancel(same, "appointment/1") == ["visits"]  # same type and id: that run
        await outcome_of(temporal_env.client.get_workflow_handle(run(same, "appointment/1")))
        await runs_become(temporal_env, "visits", same, {run(same, "appointment/2")})

        other_type = await two_visits()
        assert await cancel(other_type, "order/9") == ["visits"]  # another type: every run
        unbound = await two_visits()
        assert await cancel(unbound, None) == ["visits"]  # no binding: every run
        for contact in (other_type, unbound):
            for binding in ("appointment/1", "appointment/2"):
                handle = temporal_env.client.get_workflow_handle(run(contact, binding))
                assert (await outcome_of(handle))["reason"] == "trigger:visit.cancelled"

        bare = await stack.fire(
            "visit.booked", contact_id=same, binding_id="a/b/c", attributes={"visit_id": "v"}
        )
        assert bare.status_code == 422
        assert bare.json()["problems"][0]["path"] == "binding_id"


async def test_a_journey_per_binding_starts_once_per_record(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: opportunities
name: One run per opportunity
start: {trigger: opportunity.created, per: binding}
reentry: always
steps:
  - {id: pause, wait: P1D}
""",
    )
    ada = await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        for opportunity in ("opp-1", "opp-2"):
            created = await stack.api.post(
                "/v1/records/opportunity",
                json={"operation": "create", "id": opportunity, "after": {"contact_id": ada}},
            )
            assert created.json()["started"] == ["opportunities"], created.text
        explicit = await stack.api.post(
            "/v1/records/opportunity",
            json={
                "operation": "create",
                "id": "opp-3",
                "binding_id": "deal/77",
                "after": {"contact_id": ada},
            },
        )
        assert explicit.json()["started"] == ["opportunities"]
        await runs_become(
            temporal_env,
            "opportunities",
            ada,
            {
                f"journey/opportunities/{ada}/opportunity/opp-1",
                f"journey/opportunities/{ada}/opportunity/opp-2",
                f"journey/opportunities/{ada}/deal/77",
            },
        )


async def test_a_wait_for_and_an_exit_match_the_start_by_value(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: pay
name: Pay for your visit
start: {trigger: visit.booked}
exit:
  - {trigger: visit.cancelled, when: {attr: event.visit_id, op: eq, value: {from: trigger.visit_id}}}
reentry: always
steps:
  - id: paid
    wait_for:
      trigger: payment.received
      when: {attr: event.visit_id, op: eq, value: {from: trigger.visit_id}}
      within: P2D
    then: [{id: thanks, email: {subject: "Paid {{ trigger.visit_id }}", text: "Thanks."}}]
""",
    )
    ada, bob = await stack.contact(), await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        for contact in (ada, bob):
            await book(stack, contact, visit="v1")

            async def waiting(contact: str = contact) -> bool:
                view = (await stack.api.get(f"/v1/journeys/pay/instances/{contact}")).json()
                return bool(view.get("status") == "waiting")

            await eventually(waiting)

        # Ada pays for another visit first: no match; then for hers.
        other = await stack.fire("payment.received", contact_id=ada, attributes={"visit_id": "v2"})
        assert other.json()["signaled"] == ["pay"]
        await stack.fire("payment.received", contact_id=ada, attributes={"visit_id": "v1"})
        ada_run = temporal_env.client.get_workflow_handle(f"journey/pay/{ada}")
        assert (await outcome_of(ada_run))["status"] == "completed"
        assert [m["Subject"] for m in smtp_sink.to(f"{ada}@example.com")] == ["Paid v1"]

        # Bob cancels another visit (no exit), then his own (exit).
        await stack.fire("visit.cancelled", contact_id=bob, attributes={"visit_id": "v9"})
        await stack.fire("visit.cancelled", contact_id=bob, attributes={"visit_id": "v1"})
        bob_run = temporal_env.client.get_workflow_handle(f"journey/pay/{bob}")
        assert (await outcome_of(bob_run))["reason"] == "trigger:visit.cancelled"
        history = (await stack.api.get(f"/v1/journeys/pay/instances/{bob}")).json()["history"]
        assert [h["what"] for h in history][-1] == "exited"

    unknown_path = journey(
        "bad-value",
        exit="[{trigger: visit.cancelled, when: {attr: event.visit_id, op: eq, value: {from: trigger.nope}}}]",
    )
    saved = await stack.api.put(
        "/v1/journeys/bad-value", content=unknown_path, headers={"Content-Type": "application/yaml"}
    )
    assert saved.json()["problems"] == [
        {"path": "exit[0].when.value.from", "message": "visit.booked has no attribute 'nope'"}
    ]


async def test_record_changes_are_compared_with_what_journeys_was_told(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await stack.apply_workflows()
    ada = await stack.contact("rec", first_name="Ada")  # quiet: PUT fires no trigger
    entries = (await stack.api.get(f"/v1/contacts/{ada}/journeys")).json()
    assert entries == []

    async def change(
        operation: str, after: dict[str, Any], entity: str = "contact"
    ) -> dict[str, Any]:
        response = await stack.api.post(
            f"/v1/records/{entity}", json={"operation": operation, "id": ada, "after": after}
        )
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    same_email = await change("update", {"email": f"{ada}@example.com", "city": "Lyon"})
    assert same_email["fired"] == ["contact.address_updated"]  # compared with the PUT
    new_email = await change("update", {"email": f"new-{ada}@example.com"})
    assert new_email["fired"] == ["contact.email_updated"]
    # The producer's retry of that change fires what it fired (a duplicate, acting once).
    retried = await change("update", {"email": f"new-{ada}@example.com"})
    assert (retried["fired"], retried["duplicate"]) == (["contact.email_updated"], True)
    unchanged = await change("update", {"email": f"new-{ada}@example.com", "city": "Lyon"})
    assert unchanged["fired"] == []

    with temporal_env.with_time_skipping_disabled():
        created = await change("create", {"email": f"new-{ada}@example.com"})
        assert created["fired"] == ["contact.created"]
        repeated = await change("create", {"email": f"other-{ada}@example.com"})
    assert repeated["fired"] == []
    assert [s["trigger"] for s in repeated["skipped"]] == ["contact.created"]

    deleted = await change("delete", {})
    assert deleted["fired"] == []
    after_delete = await change("create", {"email": f"back-{ada}@example.com"})
    assert after_delete["fired"] == ["contact.created"]


async def test_one_contact_is_taken_out_of_one_journey(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(stack, journey("visits", start="{trigger: visit.booked, per: binding}"))
    ada = await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        for binding in ("appointment/1", "appointment/2"):
            await book(stack, ada, binding_id=binding)
        one = await stack.api.post(
            f"/v1/journeys/visits/instances/{ada}/stop", params={"binding_id": "appointment/1"}
        )
        assert one.status_code == 202, one.text
        assert one.json()["runs_stopping"] == 1
        handle = temporal_env.client.get_workflow_handle(f"journey/visits/{ada}/appointment/1")
        assert (await outcome_of(handle))["reason"] == "removed"
        await runs_become(temporal_env, "visits", ada, {f"journey/visits/{ada}/appointment/2"})
        # A run terminated behind Journeys' back no longer holds its contact inside.
        other = temporal_env.client.get_workflow_handle(f"journey/visits/{ada}/appointment/2")
        await other.terminate("by hand, in Temporal's UI")
        rest = await stack.api.post(f"/v1/journeys/visits/instances/{ada}/stop")
        assert rest.json()["runs_stopping"] == 0
    gone = await stack.api.post(f"/v1/journeys/visits/instances/{ada}/stop")
    assert (gone.status_code, gone.json()["detail"]) == (404, f"{ada} is in no run of visits")
    unknown = await stack.api.post(f"/v1/journeys/nope/instances/{ada}/stop")
    assert unknown.status_code == 404
    stats = (await stack.api.get("/v1/journeys/visits/stats")).json()
    assert stats["exited"] == {"removed": 2}


async def test_an_unknown_contact_is_refused_unless_the_event_carries_it(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    await publish(stack, journey("once"))
    with temporal_env.with_time_skipping_disabled():
        refused = await book(stack, "cleo")
        assert refused["refused"] == [{"journey": "once", "reason": "unknown_contact"}]
        carried = await book(
            stack, "dora", contact={"email": "dora@example.com", "first_name": "Dora"}
        )
        assert carried["started"] == ["once"]
    dora = (await stack.api.get("/v1/contacts/dora")).json()
    assert (dora["email"], dora["first_name"]) == ("dora@example.com", "Dora")
    bad = await stack.fire(
        "visit.booked", contact_id="eve", attributes={"visit_id": "v"}, contact={"email": "no"}
    )
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["path"] == "contact.email"


async def test_triggers_a_published_journey_needs_stay_ready(stack: Stack) -> None:
    draft = await stack.api.put(
        "/v1/triggers/visit.rated", json={"status": "draft", "attributes": []}
    )
    assert draft.status_code == 201
    saved = await stack.api.put(
        "/v1/journeys/rated",
        content=journey("rated", start="{trigger: visit.rated}"),
        headers={"Content-Type": "application/yaml"},
    )
    assert saved.status_code == 201, saved.text  # a draft may use a draft trigger
    refused = await stack.api.post("/v1/journeys/rated/publish")
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {
            "path": "start.trigger",
            "message": "trigger visit.rated is draft: make it ready before publishing a journey "
            "that uses it",
        }
    ]
    await publish(stack, journey("once"))
    to_draft = await stack.api.put(
        "/v1/triggers/visit.cancelled",
        json={"status": "draft", "attributes": [{"name": "visit_id", "type": "text"}]},
    )
    assert to_draft.status_code == 409
    assert "published journeys use visit.cancelled (once)" in to_draft.json()["detail"]
