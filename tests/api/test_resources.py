"""Definitions, contacts and tracking through the gateway."""

from __future__ import annotations

import re
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.api.stack import Stack
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of
from tests.worker.harness import unique

WELCOME_YAML = (Path(__file__).parents[2] / "workflows" / "welcome.yaml").read_text()


async def test_a_journey_in_yaml_is_saved_published_and_versioned(stack: Stack) -> None:
    await stack.put_triggers()
    yaml = {"Content-Type": "application/yaml"}
    saved = await stack.api.put("/v1/journeys/welcome", content=WELCOME_YAML, headers=yaml)
    assert saved.status_code == 201, saved.text
    assert saved.json()["status"] == "draft"
    assert (
        await stack.api.put("/v1/journeys/welcome", content=WELCOME_YAML, headers=yaml)
    ).status_code == 200

    published = await stack.api.post("/v1/journeys/welcome/publish")
    assert published.json() == {"id": "welcome", "version": 1, "new_version": True}
    again = await stack.api.post("/v1/journeys/welcome/publish")
    assert again.json() == {"id": "welcome", "version": 1, "new_version": False}

    changed = WELCOME_YAML.replace("within: P3D", "within: P2D")
    await stack.api.put("/v1/journeys/welcome", content=changed, headers=yaml)
    journey = (await stack.api.get("/v1/journeys/welcome")).json()
    assert journey["has_unpublished_changes"] is True
    assert journey["live_version"] == 1
    assert (await stack.api.post("/v1/journeys/welcome/publish")).json()["version"] == 2
    journey = (await stack.api.get("/v1/journeys/welcome")).json()
    assert [v["version"] for v in journey["versions"]] == [1, 2]
    assert journey["versions"][0]["published_by"] == "bootstrap"

    trigger = (await stack.api.get("/v1/triggers/contact.created")).json()
    assert trigger["kind"] == "business"
    assert trigger["journeys"] == [{"journey_id": "welcome", "roles": ["start"]}]


YAML_BODY = {"Content-Type": "application/yaml"}


async def test_a_bad_journey_gets_every_problem_and_changes_nothing(stack: Stack) -> None:
    bad = """
name: Broken
start: {trigger: email.opened}
steps:
  - {id: a, email: {subject: "Hi {{ user.name }}", text: hi}}
  - {id: a, wait_for: {trigger: sms.replied, of: a, within: P1D}}
"""
    response = await stack.api.put(
        "/v1/journeys/broken", content=bad, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {
            "path": "start.trigger",
            "message": "email.opened is an interaction trigger: it can continue a journey (wait_for), not be a start trigger",
        },
        {
            "path": "steps[0].email.subject",
            "message": "unknown variable 'user': use contact.*, trigger.* or journey.*",
        },
        {"path": "steps[1].id", "message": "step id 'a' is already used at steps[0]"},
        {
            "path": "steps[1].wait_for.of",
            "message": "sms.replied answers an SMS step, but 'a' is an email step",
        },
    ]
    assert (await stack.api.get("/v1/journeys/broken")).status_code == 404

    # A typo in a step's structure and an unknown trigger further on: both, in one answer.
    two = """
name: Two mistakes
start: {trigger: contact.created}
steps:
  - {id: hi, email: {subjet: "Hi", text: hi}}
  - {id: wait, wait_for: {trigger: email.opend, of: hi, within: P1D}}
"""
    both = await stack.api.put("/v1/journeys/two", content=two, headers=YAML_BODY)
    assert both.status_code == 422
    messages = {p["path"]: p["message"] for p in both.json()["problems"]}
    assert "did you mean 'subject'?" in messages["steps[0].email.subjet"]
    assert "email.opened" in messages["steps[1].wait_for.trigger"]

    mismatch = await stack.api.put(
        "/v1/journeys/other", content=WELCOME_YAML, headers={"Content-Type": "application/yaml"}
    )
    assert mismatch.json()["problems"] == [
        {"path": "id", "message": "is 'welcome' but the URL says 'other'"}
    ]
    unparsable = await stack.api.put(
        "/v1/journeys/x", content="a: [", headers={"Content-Type": "application/yaml"}
    )
    assert unparsable.status_code == 422
    assert unparsable.json()["problems"][0]["message"].startswith(
        "not valid YAML (line 1, column 5)"
    )


async def test_publishing_checks_against_the_current_catalog(stack: Stack) -> None:
    order = {"attributes": [{"name": "order_id", "type": "text", "required": True}]}
    assert (await stack.api.put("/v1/triggers/order.placed", json=order)).status_code == 201
    journey = {
        "name": "Thanks",
        "start": {
            "trigger": "order.placed",
            "when": {"attr": "trigger.amount", "op": "gt", "value": 10},
        },
        "steps": [{"id": "thanks", "email": {"subject": "Thanks", "text": "Thanks!"}}],
    }
    response = await stack.api.put("/v1/journeys/thanks", json=journey)
    assert response.json()["problems"] == [
        {"path": "start.when.attr", "message": "order.placed has no attribute 'amount'"}
    ]


async def test_the_full_welcome_through_the_gateway(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    """contact -> contact.created -> welcome email -> open pixel -> thanks SMS -> completed."""
    await stack.apply_workflows()
    contact = unique("ada")
    email = f"{contact}@example.com"
    put = await stack.api.put(
        f"/v1/contacts/{contact}",
        json={
            "email": email,
            "phone": "+33612345678",
            "first_name": "Ada",
            "consent": {"email": True, "sms": True},
        },
    )
    assert put.status_code == 201
    with temporal_env.with_time_skipping_disabled():
        fired = await stack.fire(
            "contact.created", contact_id=contact, attributes={"source": "web"}
        )
        assert fired.json()["started"] == ["welcome"]
        await eventually(lambda: smtp_sink.to(email))
    html = smtp_sink.to(email)[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    pixel = re.search(r'src="http://journeys.test(/t/o/[^"]+)"', html)
    link = re.search(r'href="http://journeys.test(/t/c/[^"]+)"', html)
    assert pixel is not None and link is not None

    gif = await stack.api.get(pixel.group(1), headers={})
    assert (gif.status_code, gif.headers["content-type"]) == (200, "image/gif")
    click = await stack.api.get(link.group(1).replace("&amp;", "&"), headers={})
    assert (click.status_code, click.headers["location"]) == (302, "https://shop.example.com/new")

    handle = temporal_env.client.get_workflow_handle(f"journey/welcome/{contact}")
    await outcome_of(handle)
    assert [r.json()["text"] for r in http_sink.posted_to("/sms")] == ["Merci Ada, à très vite !"]

    instance = (await stack.api.get(f"/v1/journeys/welcome/instances/{contact}")).json()
    assert (instance["status"], instance["version"]) == ("completed", 1)
    assert [h["what"] for h in instance["history"]] == [
        "entered",
        "sent",
        "waiting",
        "matched",
        "sent",
        "completed",
    ]
    messages = (await stack.api.get(f"/v1/contacts/{contact}/messages")).json()
    assert [(m["step"], m["status"], m["summary"]) for m in messages] == [
        ("thanks", "sent", "Merci Ada, à très vite !"),
        ("welcome", "sent", "Bienvenue Ada !"),
    ]
    # Its receipts: the pixel above opened it, the link was clicked; the SMS was only sent.
    welcome, thanks = messages[1], messages[0]
    assert welcome["sent_at"] and welcome["opened_at"] and welcome["clicked_at"]
    assert thanks["sent_at"] and not thanks["opened_at"] and not thanks["failed_at"]
    runs = (await stack.api.get(f"/v1/contacts/{contact}/journeys")).json()
    assert [(r["journey_id"], r["admitted"]) for r in runs] == [("welcome", True)]

    again = await stack.fire("contact.created", contact_id=contact)
    assert again.json()["started"] == []
    assert again.json()["refused"] == [{"journey": "welcome", "reason": "reentry_blocked"}]
    runs = (await stack.api.get(f"/v1/contacts/{contact}/journeys")).json()
    assert [(r["admitted"], r["reason"]) for r in runs] == [
        (False, "reentry_blocked"),
        (True, None),
    ]
    instance = (await stack.api.get(f"/v1/journeys/welcome/instances/{contact}")).json()
    assert instance["status"] == "completed"  # the refusal does not hide the real run


async def test_bad_tracking_tokens(stack: Stack) -> None:
    assert (await stack.api.get("/t/c/forged-token", headers={})).status_code == 404
    pixel = await stack.api.get("/t/o/forged-token", headers={})
    assert (pixel.status_code, pixel.headers["content-type"]) == (200, "image/gif")


async def test_contacts_validate_and_merge(stack: Stack) -> None:
    bad = await stack.api.put(
        "/v1/contacts/c1", json={"email": "nope", "phone": "0612", "timezone": "Mars/Base"}
    )
    assert bad.status_code == 422
    assert [p["path"] for p in bad.json()["problems"]] == ["email", "phone", "timezone"]
    assert (await stack.api.get("/v1/contacts/c1")).status_code == 404
    await stack.api.put(
        "/v1/contacts/c1", json={"email": "a@example.com", "attributes": {"plan": "pro"}}
    )
    updated = await stack.api.put(
        "/v1/contacts/c1", json={"first_name": "Ada", "consent": {"sms": True}}
    )
    assert updated.status_code == 200
    assert updated.json() == {
        "id": "c1",
        "email": "a@example.com",
        "phone": None,
        "first_name": "Ada",
        "last_name": None,
        "timezone": None,
        "attributes": {"plan": "pro"},
        "consent": {"email": None, "sms": True, "push": None},
    }


async def test_stopping_a_journey_ends_its_runs_and_its_entries(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    await stack.apply_workflows()
    contact = await stack.contact()
    with temporal_env.with_time_skipping_disabled():
        fired = await stack.fire(
            "cart.abandoned", contact_id=contact, attributes={"cart_id": "k", "total": 60}
        )
        assert fired.json()["started"] == ["cart-recovery"]
        handle = temporal_env.client.get_workflow_handle(f"journey/cart-recovery/{contact}")

        async def visible() -> bool:  # stopping finds runs through Temporal's visibility
            query = f"WorkflowId = '{handle.id}' AND JourneyStatus = 'waiting'"
            return bool([w async for w in temporal_env.client.list_workflows(query)])

        await eventually(visible)
        stopped = await stack.api.post("/v1/journeys/cart-recovery/stop")
        assert stopped.json() == {"id": "cart-recovery", "status": "stopped", "runs_stopping": 1}
        outcome = await outcome_of(handle)
    assert outcome["status"] == "exited"
    assert outcome["reason"] == "journey_stopped"
    late = await stack.fire(
        "cart.abandoned", contact_id=await stack.contact(), attributes={"cart_id": "k", "total": 60}
    )
    assert late.json()["started"] == []


async def test_erasing_a_contact_ends_its_runs_and_keeps_anonymous_counts(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    await stack.apply_workflows()
    contact = unique("eve")
    email = f"{contact}@example.com"
    await stack.api.put(f"/v1/contacts/{contact}", json={"email": email, "first_name": "Eve"})
    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=contact)
        await eventually(lambda: smtp_sink.to(email))

        async def waiting() -> bool:
            query = f"ContactId = '{contact}' AND JourneyStatus = 'waiting'"
            return bool([w async for w in temporal_env.client.list_workflows(query)])

        await eventually(waiting)
        erased = await stack.api.delete(f"/v1/contacts/{contact}")
        outcome = await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/welcome/{contact}")
        )
    assert erased.json() == {
        "id": contact,
        "contact_deleted": True,
        "runs_stopping": 1,
        "messages_anonymized": 1,
        "entries_anonymized": 1,
    }
    assert outcome["reason"] == "contact_erased"
    assert (await stack.api.get(f"/v1/contacts/{contact}")).status_code == 404
    assert (await stack.api.get(f"/v1/contacts/{contact}/messages")).json() == []
    assert (await stack.api.get(f"/v1/contacts/{contact}/journeys")).json() == []


async def test_trigger_lifecycle_protects_published_journeys(stack: Stack) -> None:
    await stack.apply_workflows()
    cart = {
        "status": "ready",
        "attributes": [
            {"name": "cart_id", "type": "text", "required": True},
            {"name": "total", "type": "text"},
        ],
    }
    changed = await stack.api.put("/v1/triggers/cart.abandoned", json=cart)
    assert changed.status_code == 409
    assert changed.json()["detail"] == (
        "attribute 'total' changes from number to text; attribute 'currency' is removed: "
        "published journeys use cart.abandoned (cart-recovery)"
    )
    compatible = {
        **cart,
        "attributes": [
            {"name": "cart_id", "type": "text", "required": True},
            {"name": "total", "type": "number", "required": True},
            {"name": "currency", "type": "text"},
            {"name": "coupon", "type": "text"},
        ],
    }
    assert (await stack.api.put("/v1/triggers/cart.abandoned", json=compatible)).status_code == 200

    in_use = await stack.api.delete("/v1/triggers/order.placed")
    assert in_use.json() == {
        "detail": "published journeys use order.placed: cart-recovery, order-followup, welcome"
    }
    built_in = await stack.api.delete("/v1/triggers/contact.created")
    assert built_in.status_code == 409
    assert (await stack.api.delete("/v1/triggers/opportunity.won")).status_code == 204
    assert (await stack.api.get("/v1/triggers/opportunity.won")).status_code == 404

    in_use_stopped = await stack.api.put(
        "/v1/triggers/order.placed",
        json={
            "status": "stopped",
            "attributes": [
                {"name": "order_id", "type": "text", "required": True},
                {"name": "cart_id", "type": "text"},
                {"name": "amount", "type": "number"},
            ],
        },
    )
    assert (in_use_stopped.status_code, in_use_stopped.json()["detail"]) == (
        409,
        "it would become stopped and take no events: published journeys use order.placed "
        "(cart-recovery, order-followup, welcome)",
    )
    unused = await stack.api.put("/v1/triggers/survey.answered", json={"status": "stopped"})
    assert unused.status_code == 201
    refused = await stack.fire("survey.answered", contact_id="c1")
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        "trigger survey.answered is stopped, not ready",
    )
    uses = (await stack.api.get("/v1/triggers/order.placed")).json()["journeys"]
    assert uses == [
        {"journey_id": "cart-recovery", "roles": ["exit"]},
        {"journey_id": "order-followup", "roles": ["start"]},
        {"journey_id": "welcome", "roles": ["exit"]},
    ]
