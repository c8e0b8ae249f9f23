"""Journey authoring through the gateway and the real Temporal dev server: every step kind,
versions, pause and resume, entry rules, goals, the graph, the simulator and test sends."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from journeys.kit.signing import SIGNATURE_HEADER
from journeys.temporal.converter import data_converter
from tests.api.stack import Stack
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of
from tests.worker.harness import unique

YAML = {"Content-Type": "application/yaml"}
decode = data_converter.payload_converter.from_payload


async def publish(stack: Stack, text: str) -> None:
    journey_id = next(
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("id:")
    )
    saved = await stack.api.put(f"/v1/journeys/{journey_id}", content=text, headers=YAML)
    assert saved.status_code in (200, 201), saved.text
    published = await stack.api.post(f"/v1/journeys/{journey_id}/publish")
    assert published.status_code == 200, published.text


async def contact(stack: Stack, **fields: Any) -> str:
    contact_id = unique("c")
    body = {
        "email": f"{contact_id}@example.com",
        "first_name": "Ada",
        "consent": {"email": True},
        **fields,
    }
    assert (await stack.api.put(f"/v1/contacts/{contact_id}", json=body)).status_code == 201
    return contact_id


async def history(
    stack: Stack, journey: str, contact_id: str
) -> list[tuple[str | None, str, str | None]]:
    instance = (await stack.api.get(f"/v1/journeys/{journey}/instances/{contact_id}")).json()
    return [(h["step"], h["what"], h["detail"]) for h in instance["history"]]


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    await stack.apply_workflows()
    return stack


async def test_every_step_kind_through_temporal(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    http_sink.answers["/score"] = {"score": 91, "segment": "gold"}
    await publish(
        stack,
        f"""
kind: Journey
id: kinds
name: Every kind
start: {{trigger: order.placed, per: binding}}
reentry: always
goal: {{trigger: review.posted}}
steps:
  - {{id: morning, wait: {{until_time: "09:00"}}}}
  - id: first
    branch:
      - {{name: first, when: {{attr: contact.orders_count, op: eq, value: 1}}, steps: [{{id: hello, email: {{subject: "First {{{{ trigger.order_id }}}}", text: hi}}}}]}}
    otherwise: []
  - id: ab
    split:
      - {{name: a, percent: 50, steps: [{{id: a-push, push: {{title: A, body: a}}}}]}}
      - {{name: b, percent: 50, steps: [{{id: b-push, push: {{title: B, body: b}}}}]}}
  - {{id: sale, wait: {{until: "2020-01-01T00:00:00Z"}}}}
  - id: react
    wait_for: {{any: [{{trigger: review.posted}}, {{trigger: email.opened, of: hello}}], within: PT1H}}
  - id: reward
    activate: {{trigger: loyalty.earned, attributes: {{points: 300, order_id: {{from: trigger.order_id}}}}}}
  - id: score
    webhook: {{url: "{http_sink.url}/score", body: {{who: "{{{{ contact.first_name }}}}", order: "{{{{ trigger.order_id }}}}"}}}}
  - id: hot
    branch:
      - {{name: hot, when: {{attr: response.score, op: gte, value: 80}}, steps: [{{id: vip, exit: vip}}]}}
    otherwise: [{{id: cold, exit: cold}}]
""",
    )
    contact_id = await contact(stack, attributes={"orders_count": 1})
    fired = await stack.fire(
        "order.placed",
        contact_id=contact_id,
        binding_id="o1",
        attributes={"order_id": "o1", "amount": 300},
    )
    assert "kinds" in fired.json()["started"]
    outcome = await outcome_of(
        temporal_env.client.get_workflow_handle(f"journey/kinds/{contact_id}/o1")
    )
    assert (outcome["status"], outcome["reason"]) == ("exited", "vip")

    steps = await history(stack, "kinds", contact_id)
    assert ("sale", "waited", None) in steps  # a moment already past does not wait
    assert ("react", "timed_out", "review.posted, email.opened") in steps
    assert ("first", "branched", "arm 1 (first)") in steps
    split = next(detail for step, what, detail in steps if what == "split")
    assert split.split()[0] in ("a", "b")
    activated = next(detail for step, what, detail in steps if what == "activated")
    # Routed like any event: it starts loyalty-points, or is refused by it (with why: the
    # sample order-followup journey's own activation let the contact in a moment before).
    assert re.search(
        r"started \['loyalty-points'\]|loyalty-points \((already_in_journey|reentry_blocked)\)",
        activated,
    )
    assert ("hot", "branched", "arm 1 (hot)") in steps
    [call] = http_sink.posted_to("/score")
    assert call.json() == {"who": "Ada", "order": "o1"}
    assert call.headers[SIGNATURE_HEADER].startswith("t=")
    # The sample journeys (order-followup, loyalty-points) run beside this one: look at ours.
    assert "First o1" in [m["Subject"] for m in smtp_sink.to(f"{contact_id}@example.com")]
    titles = [p.json()["title"] for p in http_sink.posted_to("/push")]
    assert titles.count(split.split()[0].upper()) == 1


async def test_a_message_or_webhook_that_cannot_render_fails_and_the_run_goes_on(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    """A template that passes the checks but fails on the data (arithmetic on a missing
    value) fails its message or webhook at once, with the reason: no day of retries."""
    await publish(
        stack,
        f"""
kind: Journey
id: unrenderable
name: Arithmetic on a missing value
start: {{trigger: order.placed}}
steps:
  - {{id: mail, email: {{subject: "Points", text: "You have {{{{ contact.points + 1 }}}}"}}}}
  - id: hook
    webhook: {{url: "{http_sink.url}/points", body: {{n: "{{{{ contact.points * 2 }}}}"}}}}
  - {{id: fine, email: {{subject: "Still here", text: "Thanks."}}}}
""",
    )
    contact_id = await contact(stack)
    fired = await stack.fire("order.placed", contact_id=contact_id, attributes={"order_id": "o1"})
    assert "unrenderable" in fired.json()["started"]
    handle = temporal_env.client.get_workflow_handle(f"journey/unrenderable/{contact_id}")
    assert (await outcome_of(handle))["status"] == "completed"

    steps = await history(stack, "unrenderable", contact_id)
    failed = [detail for step, what, detail in steps if step == "mail" and what == "failed"]
    assert failed and "cannot render the template" in str(failed[0])
    assert http_sink.posted_to("/points") == []  # never called with half a body
    subjects = [m["Subject"] for m in smtp_sink.to(f"{contact_id}@example.com")]
    assert subjects == ["Still here"]


async def test_a_run_finishes_on_the_version_it_entered_with(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    def version(subject: str) -> str:
        return f"""
kind: Journey
id: pinned
name: Pinned
start: {{trigger: contact.created}}
reentry: always
steps:
  - {{id: later, wait: P1D}}
  - {{id: hello, email: {{subject: "{subject}", text: x}}}}
"""

    await publish(stack, version("from v1"))
    early = await contact(stack)
    with temporal_env.with_time_skipping_disabled():
        assert (await stack.fire("contact.created", contact_id=early)).json()["started"] == [
            "pinned",
            "welcome",
        ]
        handle = temporal_env.client.get_workflow_handle(f"journey/pinned/{early}")
        await eventually(lambda: _status_is(stack, "pinned", early, "waiting"))
        await publish(stack, version("from v2"))
        await temporal_env.fast_forward(handle, timedelta(days=2))
        await outcome_of(handle)
    late = await contact(stack)
    await stack.fire("contact.created", contact_id=late)
    await outcome_of(temporal_env.client.get_workflow_handle(f"journey/pinned/{late}"))
    assert [
        m["Subject"]
        for m in smtp_sink.to(f"{early}@example.com")
        if m["Subject"].startswith("from")
    ] == ["from v1"]
    assert [
        m["Subject"] for m in smtp_sink.to(f"{late}@example.com") if m["Subject"].startswith("from")
    ] == ["from v2"]
    versions = (await stack.api.get("/v1/journeys/pinned/versions")).json()
    assert [(v["version"], v["live"]) for v in versions] == [(1, False), (2, True)]
    diff = (await stack.api.get("/v1/journeys/pinned/diff", params={"from": 1, "to": 2})).json()
    assert diff["steps_changed"] == ["hello"]
    assert "-    subject: from v1\n+    subject: from v2\n" in diff["diff"]


async def _status_is(stack: Stack, journey: str, contact_id: str, status: str) -> bool:
    response = await stack.api.get(f"/v1/journeys/{journey}/instances/{contact_id}")
    return response.status_code == 200 and response.json()["status"] == status


async def test_pause_freezes_runs_and_refuses_entries_until_resume(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: pausable
name: Pausable
start: {trigger: contact.created}
steps:
  - {id: later, wait: PT1H}
  - {id: hello, email: {subject: "after the pause", text: x}}
""",
    )
    inside, outside = await contact(stack), await contact(stack)
    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=inside)
        handle = temporal_env.client.get_workflow_handle(f"journey/pausable/{inside}")
        await eventually(lambda: _status_is(stack, "pausable", inside, "waiting"))
        paused = await stack.api.post("/v1/journeys/pausable/pause")
        assert paused.json() == {"id": "pausable", "status": "paused", "runs_signaled": 1}
        await eventually(lambda: _status_is(stack, "pausable", inside, "paused"))
        refused = await stack.fire("contact.created", contact_id=outside)
        assert {"journey": "pausable", "reason": "journey_paused"} in refused.json()["refused"]
        await temporal_env.fast_forward(handle, timedelta(hours=3))  # frozen: nothing is sent
        assert smtp_sink.to(f"{inside}@example.com") == [] or all(
            m["Subject"] != "after the pause" for m in smtp_sink.to(f"{inside}@example.com")
        )
        resumed = await stack.api.post("/v1/journeys/pausable/resume")
        assert resumed.json()["status"] == "published"
        await temporal_env.fast_forward(handle, timedelta(hours=2))
        await outcome_of(handle)
    assert "after the pause" in [m["Subject"] for m in smtp_sink.to(f"{inside}@example.com")]
    runs = (await stack.api.get(f"/v1/contacts/{outside}/journeys")).json()
    assert ("pausable", False, "journey_paused") in [
        (r["journey_id"], r["admitted"], r["reason"]) for r in runs
    ]
    assert (await stack.api.post("/v1/journeys/pausable/resume")).json()["status"] == "published"
    not_live = await stack.api.post("/v1/journeys/nope/pause")
    assert not_live.status_code == 404


async def test_entry_windows_and_rate_limits_refuse_with_their_reasons(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: closed
name: Closed
start: {trigger: contact.created}
entry: {until: "2020-01-01T00:00:00Z"}
steps: [{id: x, exit: x}]
""",
    )
    await publish(
        stack,
        """
kind: Journey
id: scarce
name: One a day
start: {trigger: contact.created}
entry: {rate_limit: {count: 1, per: day}}
steps: [{id: x, exit: x}]
""",
    )
    first, second = await contact(stack), await contact(stack)
    answer = (await stack.fire("contact.created", contact_id=first)).json()
    assert {"journey": "closed", "reason": "outside_window"} in answer["refused"]
    assert "scarce" in answer["started"]
    await outcome_of(temporal_env.client.get_workflow_handle(f"journey/scarce/{first}"))
    answer = (await stack.fire("contact.created", contact_id=second)).json()
    assert {"journey": "scarce", "reason": "rate_limited"} in answer["refused"]
    runs = (await stack.api.get(f"/v1/contacts/{second}/journeys")).json()
    reasons = {(r["journey_id"], r["reason"]) for r in runs if not r["admitted"]}
    assert {("closed", "outside_window"), ("scarce", "rate_limited")} <= reasons


async def test_a_goal_after_the_run_counts_within_its_window(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: goal
name: Goal
start: {trigger: contact.created}
goal: {trigger: review.posted, when: {attr: event.stars, op: gte, value: 4}, within: P3D}
steps: [{id: hello, email: {subject: Hi, text: x}}]
""",
    )
    contact_id = await contact(stack)
    await stack.fire("contact.created", contact_id=contact_id)
    await outcome_of(temporal_env.client.get_workflow_handle(f"journey/goal/{contact_id}"))
    await stack.fire("review.posted", contact_id=contact_id, attributes={"stars": 2})
    runs = (await stack.api.get(f"/v1/contacts/{contact_id}/journeys")).json()
    entry = next(r for r in runs if r["journey_id"] == "goal")
    assert (entry["outcome"], entry["goal_reached_at"]) == ("completed", None)
    await stack.fire("review.posted", contact_id=contact_id, attributes={"stars": 5})
    runs = (await stack.api.get(f"/v1/contacts/{contact_id}/journeys")).json()
    assert next(r for r in runs if r["journey_id"] == "goal")["goal_reached_at"] is not None
    uses = (await stack.api.get("/v1/triggers/review.posted")).json()["journeys"]
    assert {"journey_id": "goal", "roles": ["goal"]} in uses


async def test_graph_simulation_and_test_send(stack: Stack, smtp_sink: SmtpSink) -> None:
    mermaid = await stack.api.get("/v1/journeys/welcome/graph")
    assert mermaid.headers["content-type"].startswith("text/plain")
    assert "n_opened -->|yes| n_thanks" in mermaid.text
    svg = await stack.api.get("/v1/journeys/welcome/graph", headers={"Accept": "image/svg+xml"})
    assert svg.text.startswith("<svg") and "email welcome" in svg.text
    page = await stack.api.get("/v1/journeys/welcome/graph", headers={"Accept": "text/html"})
    assert "<svg" in page.text and "flowchart TD" in page.text

    simulation = await stack.api.post(
        "/v1/journeys/cart-recovery/simulate",
        json={
            "version": "live",
            "contact": {"email": "a@example.com", "first_name": "Ada"},
            "attributes": {"cart_id": "k1", "total": 80, "currency": "EUR"},
            "events": [{"after": "PT2H", "trigger": "email.link_clicked", "of": "nudge"}],
        },
    )
    result = simulation.json()
    assert (result["outcome"], result["reason"]) == ("exited", "clicked-through")
    assert result["path"] == ["first-wait", "nudge", "clicked", "done"]
    assert result["messages"][0]["subject"] == "You left 80 EUR in your cart"
    assert [w["by"] for w in result["waits"]] == ["timer", "event"]

    contact_id = await contact(stack)
    sent = await stack.api.post(
        "/v1/journeys/welcome/steps/welcome/test-send", json={"contact_id": contact_id}
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert [m["Subject"] for m in smtp_sink.to(f"{contact_id}@example.com")] == [
        "[Test] Bienvenue Ada !"
    ]
    messages = (await stack.api.get(f"/v1/contacts/{contact_id}/messages")).json()
    assert [(m["step"], m["test"]) for m in messages] == [("welcome", True)]
    assert (await stack.api.get(f"/v1/contacts/{contact_id}/journeys")).json() == []  # not entered
    # The Temporal UI lists the test send by what it is, and names its send.
    client = stack.harness.env.client
    query = f"WorkflowId STARTS_WITH 'test-send/welcome/welcome/{contact_id}/'"
    listed: list[Any] = []

    async def visible() -> bool:
        listed[:] = [execution async for execution in client.list_workflows(query)]
        return bool(listed)

    await eventually(visible)
    handle = client.get_workflow_handle(listed[0].id)
    assert await (await handle.describe()).static_summary() == (
        f"test send of welcome: Welcome new contacts draft, contact {contact_id}"
    )
    history = await handle.fetch_history()
    [scheduled] = [
        e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert decode(scheduled.user_metadata.summary, str) == "send_email welcome (test)"
    wrong = await stack.api.post(
        "/v1/journeys/welcome/steps/opened/test-send", json={"contact_id": contact_id}
    )
    assert wrong.status_code == 404
