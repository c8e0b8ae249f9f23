"""Journey analytics and inspection, from a scripted scenario whose every run is known: the
stats must count exactly what happened, and the runs must be findable in Temporal."""

from __future__ import annotations

import re
from typing import Any

from temporalio.testing import WorkflowEnvironment

from journeys.temporal import names
from tests.api.stack import Stack
from tests.api.test_authoring import contact, publish
from tests.sinks import SmtpSink, eventually, outcome_of

TRIGGERS = [
    {"name": "quiz.taken", "attributes": [{"name": "score", "type": "number", "required": True}]},
    {"name": "quiz.shared", "attributes": []},
    {"name": "quiz.quit", "attributes": []},
]

QUIZ = """
kind: Journey
id: quiz
name: Quiz
start: {trigger: quiz.taken, when: {attr: trigger.score, op: gte, value: 10}}
reentry: never
exit: [{trigger: quiz.quit}]
goal: {trigger: quiz.shared, within: P7D}
steps:
  - {id: thanks, email: {subject: "Thanks {{ contact.first_name }}", html: "<p>You scored.</p>"}}
  - id: opened
    wait_for: {trigger: email.opened, of: thanks, within: P3D}
    else: [{id: nudge, email: {subject: Come back, text: "Try again?"}}]
"""


async def test_stats_count_exactly_what_the_runs_did(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    for trigger in TRIGGERS:
        assert (await stack.api.put(f"/v1/triggers/{trigger['name']}", json=trigger)).is_success
    await publish(stack, QUIZ)
    client = temporal_env.client

    def run(contact_id: str) -> Any:
        return client.get_workflow_handle(f"journey/quiz/{contact_id}")

    async def waiting(contact_id: str) -> None:
        async def is_waiting() -> bool:
            instance = await stack.api.get(f"/v1/journeys/quiz/instances/{contact_id}")
            return instance.is_success and instance.json()["status"] == "waiting"

        await eventually(is_waiting)

    with temporal_env.with_time_skipping_disabled():
        # Ada enters, reaches the goal, opens the email: completed, goal reached.
        ada = await contact(stack)
        await stack.fire("quiz.taken", contact_id=ada, attributes={"score": 12})
        await waiting(ada)
        [email] = smtp_sink.to(f"{ada}@example.com")
        await stack.fire("quiz.shared", contact_id=ada)
        delivered = {"message_id": email["X-Journeys-Message-Id"], "event": "delivered"}
        assert (await stack.api.post("/v1/channels/email/events", json=delivered)).is_success
        html = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
        pixel = re.search(r'src="http://journeys.test(/t/o/[^"]+)"', html)
        assert pixel is not None and (await stack.api.get(pixel.group(1))).is_success
        assert (await outcome_of(run(ada)))["status"] == "completed"

        # Cleo enters and quits while waiting: exited by the exit trigger.
        cleo = await contact(stack)
        await stack.fire("quiz.taken", contact_id=cleo, attributes={"score": 11})
        await waiting(cleo)
        await stack.fire("quiz.quit", contact_id=cleo)
        assert (await outcome_of(run(cleo)))["reason"] == "trigger:quiz.quit"

        # Dan scores too low: refused at the gateway, no run.
        dan = await contact(stack)
        refused = await stack.fire("quiz.taken", contact_id=dan, attributes={"score": 3})
        assert refused.json()["started"] == []

    # Bea withdrew email consent: both emails are blocked, the window times out (skipped).
    bea = await contact(stack, consent={"email": False})
    await stack.fire("quiz.taken", contact_id=bea, attributes={"score": 15})
    assert (await outcome_of(run(bea)))["status"] == "completed"

    # Ada again: the journey never lets a contact in twice, and says so.
    again = await stack.fire("quiz.taken", contact_id=ada, attributes={"score": 20})
    assert again.json()["refused"] == [{"journey": "quiz", "reason": "reentry_blocked"}]

    # Version 2 changes the nudge; Eve enters it and is still waiting at the end.
    await publish(stack, QUIZ.replace("Come back", "We miss you"))
    with temporal_env.with_time_skipping_disabled():
        eve = await contact(stack)
        await stack.fire("quiz.taken", contact_id=eve, attributes={"score": 10})
        await waiting(eve)

        async def stats(query: str = "") -> dict[str, Any]:
            answer = await stack.api.get(f"/v1/journeys/quiz/stats{query}")
            assert answer.status_code == 200, answer.text
            figures: dict[str, Any] = answer.json()
            del figures["as_of"]
            return figures

        async def eve_counted() -> bool:
            return (await stats("?version=2"))["steps"][1]["inflow"] == 1

        await eventually(eve_counted)

        # Eve shares while still waiting: her goal counts at once, not when her run ends.
        await stack.fire("quiz.shared", contact_id=eve)

        async def eve_scored() -> bool:
            return (await stats("?version=2"))["goal_reached"] == 1

        await eventually(eve_scored)

        overall = await stats()
        assert overall == {
            "journey_id": "quiz",
            "version": None,
            "entered": 4,
            "active": 1,
            "completed": 2,
            "exited": {"trigger:quiz.quit": 1},
            "refused": {"condition_false": 1, "reentry_blocked": 1},
            "goal_reached": 2,
            "versions": [
                {"version": 1, "entered": 3, "completed": 2, "exited": 1},
                {"version": 2, "entered": 1, "completed": 0, "exited": 0},
            ],
            "steps": [
                step("thanks", inflow=4, processed=3, blocked={"no_consent": 1}),
                step("opened", inflow=4, processed=2),
                step("nudge", inflow=1, blocked={"no_consent": 1}),
            ],
            "channels": {
                "email": channel(sent=3, delivered=1, opened=1, blocked={"no_consent": 2})
            },
        }
        assert await stats("?version=2") == {
            "journey_id": "quiz",
            "version": 2,
            "entered": 1,
            "active": 1,
            "completed": 0,
            "exited": {},
            "refused": {},
            "goal_reached": 1,
            "versions": [{"version": 2, "entered": 1, "completed": 0, "exited": 0}],
            "steps": [
                step("thanks", inflow=1, processed=1),
                step("opened", inflow=1),
                step("nudge", inflow=0),
            ],
            "channels": {"email": channel(sent=1)},
        }

        # Where is Eve? Temporal knows, by search attribute and memo.
        description = await run(eve).describe()
        assert await description.memo_value(names.MEMO_JOURNEY_NAME) == "Quiz"
        attributes = description.typed_search_attributes
        assert attributes.get(names.JOURNEY_STEP) == "opened"
        assert attributes.get(names.JOURNEY_STATUS) == "waiting"
        assert attributes.get(names.JOURNEY_VERSION) == 2
        query = f"JourneyId = 'quiz' AND ContactId = '{eve}' AND JourneyStatus = 'waiting'"

        async def listed() -> list[str]:
            return [w.id async for w in client.list_workflows(query)]

        await eventually(listed)
        assert await listed() == [f"journey/quiz/{eve}"]

        # Why did Dan not enter? His journeys say so.
        entries = (await stack.api.get(f"/v1/contacts/{dan}/journeys")).json()
        assert [(e["journey_id"], e["admitted"], e["reason"]) for e in entries] == [
            ("quiz", False, "condition_false")
        ]

    missing = await stack.api.get("/v1/journeys/quiz/stats?version=9")
    assert missing.status_code == 404
    assert (await stack.api.get("/v1/journeys/nope/stats")).status_code == 404


def step(name: str, **figures: Any) -> dict[str, Any]:
    empty = {"inflow": 0, "processed": 0, "postponed": 0, "blocked": {}, "failed": 0}
    return {"step": name} | empty | figures


def channel(**figures: Any) -> dict[str, Any]:
    empty = dict.fromkeys(
        ("sent", "delivered", "opened", "clicked", "bounced", "complained", "replied", "failed"), 0
    )
    return empty | {"blocked": {}} | figures
