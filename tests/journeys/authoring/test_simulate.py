"""The simulator on the sample journeys: the same interpreter, a virtual clock, nothing sent."""

from pathlib import Path

import pytest

from journeys.authoring.graph import mermaid
from journeys.authoring.simulate import Simulation, simulate
from journeys.definitions.documents import load_bundle
from tests.journeys.builders import journey

SAMPLES = {j.id: j for j in load_bundle([Path(__file__).parents[3] / "workflows"]).journeys}
ADA = {
    "first_name": "Ada",
    "email": "ada@example.com",
    "phone": "+33612345678",
    "consent": {"sms": True},
}


@pytest.mark.parametrize(
    ("events", "path", "sent"),
    [
        (
            ["+2h email.opened of welcome"],
            ["welcome", "opened", "thanks"],
            ["Bienvenue Ada !", "Merci Ada, à très vite !"],
        ),
        (
            [],
            ["welcome", "opened", "reminder"],
            ["Bienvenue Ada !", "Ada, votre cadeau de bienvenue vous attend"],
        ),
        (
            ["+5d email.opened of welcome"],
            ["welcome", "opened", "reminder"],
            ["Bienvenue Ada !", "Ada, votre cadeau de bienvenue vous attend"],
        ),
    ],
)
def test_welcome(events: list[str], path: list[str], sent: list[str]) -> None:
    result = simulate(
        SAMPLES["welcome"], Simulation.model_validate({"contact": ADA, "events": events})
    )
    assert result.outcome == "completed"
    assert result.path == path
    assert [m.subject or m.text for m in result.messages] == sent


def test_welcome_exits_when_an_order_comes_first() -> None:
    result = simulate(
        SAMPLES["welcome"],
        Simulation.model_validate({"contact": ADA, "events": ["+1d order.placed"]}),
    )
    assert (result.outcome, result.reason) == ("exited", "trigger:order.placed")
    assert [w.by for w in result.waits] == ["exit"]


def test_cart_recovery_refuses_small_carts_and_nudges_by_sms_without_a_click() -> None:
    small = simulate(
        SAMPLES["cart-recovery"], Simulation(contact=ADA, attributes={"cart_id": "k", "total": 20})
    )
    assert (small.outcome, small.reason) == ("refused", "condition_false")
    big = simulate(
        SAMPLES["cart-recovery"], Simulation(contact=ADA, attributes={"cart_id": "k", "total": 80})
    )
    assert big.path == ["first-wait", "nudge", "clicked", "sms-nudge"]
    assert [m.channel for m in big.messages] == ["email", "sms"]
    assert big.messages[1].text == "Your cart is still waiting: https://shop.example.com/cart/k"


def test_without_consent_a_message_is_blocked_and_the_path_goes_on() -> None:
    contact = {**ADA, "consent": {"sms": False}}
    result = simulate(
        SAMPLES["welcome"],
        Simulation.model_validate({"contact": contact, "events": ["+1h email.opened of welcome"]}),
    )
    assert [(m.step, m.status, m.reason) for m in result.messages] == [
        ("welcome", "sent", None),
        ("thanks", "blocked", "no_consent"),
    ]


def test_order_followup_explains_its_branches_and_webhook() -> None:
    simulation = Simulation.model_validate(
        {
            "contact": {**ADA, "attributes": {"orders_count": 1}},
            "attributes": {"order_id": "o-9", "amount": 50},
            "events": [{"after": "P2D", "trigger": "review.posted", "attributes": {"stars": 5}}],
            "responses": {"tell-crm": {"ok": True}},
        }
    )
    result = simulate(SAMPLES["order-followup"], simulation)
    decisions = [(d.step, d.what, d.detail) for d in result.decisions]
    assert ("size", "branched", "arm 2 (first order)") in decisions
    assert ("tell-crm", "called", "HTTP 200") in decisions
    assert result.goal_reached_at is not None
    assert result.path[-1] == "tell-crm"


def test_loyalty_points_split_is_stable_per_contact() -> None:
    runs = [
        simulate(
            SAMPLES["loyalty-points"],
            Simulation(contact={"id": "same", **ADA}, attributes={"points": 10}),
        )
        for _ in range(3)
    ]
    assert len({tuple(r.path) for r in runs}) == 1


VISIT = """
kind: Journey
id: visit
name: The day before the visit
start: {trigger: contact.created}
steps:
  - {id: eve, wait: {until: {from: trigger.visit_at}, offset: -P1D}}
  - {id: remind, email: {subject: "Tomorrow", text: "See you."}}
"""


@pytest.mark.parametrize(
    ("visit_at", "waited_until", "why_not"),
    [
        ("2026-01-10T15:00:00+00:00", "2026-01-09T15:00:00+00:00", None),
        ("2026-01-05T15:00:00+00:00", None, "no wait: 2026-01-04T15:00:00+00:00 is past"),
        (None, None, "no wait: no date at trigger.visit_at"),
    ],
)
def test_a_date_wait_from_the_data(
    visit_at: str | None, waited_until: str | None, why_not: str | None
) -> None:
    definition = journey(VISIT)
    attributes = {"visit_at": visit_at} if visit_at else {}
    result = simulate(
        definition, Simulation.model_validate({"contact": ADA, "attributes": attributes})
    )
    assert result.outcome == "completed"
    until = [w.until.isoformat() for w in result.waits if w.until]
    assert until == ([waited_until] if waited_until else [])
    told = [d.detail for d in result.decisions if d.what == "waited"]
    assert told == ([why_not] if why_not else [])
    assert "until trigger.visit_at -P1D" in mermaid(definition)
