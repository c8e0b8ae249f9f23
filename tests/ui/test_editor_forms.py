"""The editor's forms without a browser: what each field shows, and what a post changes."""

from __future__ import annotations

from typing import Any

import pytest

from api.ui.editor.actions import Posted, from_yaml, operate, with_fields
from api.ui.editor.forms import FormField
from api.ui.editor.routes import sample_journeys
from api.ui.editor.simulation import SimulationForm
from api.ui.editor.view import EditorView, catalog_for, editor_view
from journeys.authoring.editing import EditError, set_value
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.conditions import Operator
from journeys.definitions.documents import load_bundle
from tests.api.stack import WORKFLOWS

CATALOG: TriggerCatalog = load_bundle([WORKFLOWS]).catalog


def fields_of(view: EditorView) -> list[FormField]:
    found = list(view.settings)
    pending = list(view.steps.steps)
    while pending:
        step = pending.pop(0)
        found += step.fields
        for arm in step.arms:
            pending += arm.steps
    return found


def as_shown(view: EditorView, **typed: str) -> dict[str, str]:
    """The form as the page posts it: each field as shown, but for what was typed."""
    posted = {}
    for form_field in fields_of(view):
        posted[form_field.name] = form_field.shown
        if form_field.kind in ("duration", "moment"):
            posted[form_field.unit_name] = form_field.unit
    return posted | typed


def post(document: dict[str, Any], **typed: str) -> tuple[dict[str, Any], list[Any]]:
    view = editor_view(document, 0, True, CATALOG)
    return with_fields(Posted(document, 0, True, as_shown(view, **typed)), CATALOG)


@pytest.mark.parametrize("journey_id", sorted(sample_journeys(WORKFLOWS)))
def test_a_sample_posted_unchanged_is_the_same_document(journey_id: str) -> None:
    document = sample_journeys(WORKFLOWS)[journey_id]
    view = editor_view(document, 0, True, CATALOG)
    assert view.problem_count == 0 and view.graph is not None
    assert post(document) == (document, [])


def test_durations_are_a_number_and_a_unit() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    view = editor_view(welcome, 0, True, CATALOG)
    within = next(f for f in fields_of(view) if f.name == "f:steps.1.wait_for.within")
    assert (within.kind, within.shown, within.unit) == ("duration", "3", "D")
    changed, _ = post(
        welcome, **{"f:steps.1.wait_for.within": "12", "u:steps.1.wait_for.within": "H"}
    )
    assert changed["steps"][1]["wait_for"]["within"] == "PT12H"


def test_an_emptied_optional_field_leaves_no_key_and_bad_yaml_is_a_problem() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    odd = set_value(welcome, ("start", "when"), {"weird": 1})  # no form shows it: YAML
    changed, problems = post(odd, **{"f:steps.0.email.html": "", "f:start.when": "{oops"})
    assert "html" not in changed["steps"][0]["email"]
    assert changed["start"]["when"] == {"weird": 1}
    assert [(p.path, p.message[:17]) for p in problems] == [("start.when", "this is not YAML:")]


def test_entry_rules_and_reentry_are_fields() -> None:
    loyalty = sample_journeys(WORKFLOWS)["loyalty-points"]
    shown = {f.name: f.shown for f in fields_of(editor_view(loyalty, 0, True, CATALOG))}
    assert shown["f:entry.rate_limit.count"] == "500"
    assert (shown["f:reentry"], shown["f:reentry.after"]) == ("after", "1")
    changed, problems = post(
        loyalty,
        **{
            "f:entry.rate_limit.count": "",
            "f:entry.rate_limit.per": "",
            "f:entry.from": "2026-03-01T09:00:00+01:00",
            "f:reentry": "always",
        },
    )
    assert problems == []
    assert changed["entry"] == {"from": "2026-03-01T09:00:00+01:00"}  # no empty rate_limit
    assert changed["reentry"] == "always"
    again, _ = post(changed, **{"f:reentry": "after"})
    assert again["reentry"] == {"after": "P30D"}
    assert editor_view(again, 0, True, CATALOG).problem_count == 0


def test_buttons_add_move_and_remove_steps_and_arms() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    added = operate(welcome, "add:steps.1.then", {"kind:steps.1.then": "wait_until"})
    assert added["steps"][1]["then"][1] == {
        "id": "wait_until_1",
        "wait": {"until": {"from": "contact."}},
    }
    moved = operate(added, "up:steps.1.then.1", {})
    assert [s["id"] for s in moved["steps"][1]["then"]] == ["wait_until_1", "thanks"]
    branched = operate(welcome, "add:steps", {"kind:steps": "branch"})
    two_arms = operate(branched, "arm:steps.2", {})
    assert len(two_arms["steps"][2]["branch"]) == 2
    assert len(operate(two_arms, "drop:steps.2.branch.0", {})["steps"][2]["branch"]) == 1
    with_exit = operate(welcome, "exit", {})
    assert with_exit["exit"][-1] == {"trigger": ""}
    with pytest.raises(EditError):
        operate(welcome, "arm:steps.0", {})


def test_yaml_replaces_the_document_or_says_why_not() -> None:
    assert from_yaml("kind: Journey\nid: x\n")[0] == {"kind": "Journey", "id": "x"}
    document, problems = from_yaml("- a\n- b\n")
    assert document is None and "one journey" in problems[0].message


def test_conditions_offer_the_contact_start_and_awaited_attributes() -> None:
    cart = sample_journeys(WORKFLOWS)["cart-recovery"]
    catalog = catalog_for(cart, CATALOG)
    assert catalog.start_attributes == ["cart_id", "total", "currency"]
    assert {"contact.first_name", "trigger.total", "event.url"} <= set(catalog.attributes)
    start = next(
        f for f in editor_view(cart, 0, True, CATALOG).settings if f.label == "Start trigger"
    )
    assert start.hint == "its attributes: cart_id, total, currency"


def test_a_branch_condition_is_built_from_attribute_operator_and_value() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    branched = operate(welcome, "add:steps", {"kind:steps": "branch"})
    when = "f:steps.2.branch.0.when"
    changed, problems = post(
        branched,
        **{f"{when}.attr": "contact.first_name", f"{when}.op": "eq", f"{when}.value": "Ada"},
    )
    assert problems == []
    assert changed["steps"][2]["branch"][0]["when"] == {
        "attr": "contact.first_name",
        "op": "eq",
        "value": "Ada",
    }
    changed, _ = post(changed, **{f"{when}.op": "in", f"{when}.value": '["Ada", "Grace"]'})
    assert changed["steps"][2]["branch"][0]["when"]["value"] == ["Ada", "Grace"]
    view = editor_view(changed, 0, True, CATALOG)
    assert view.problem_count == 0
    operators = next(f for f in fields_of(view) if f.name == f"{when}.op").options
    assert [value for value, _ in operators] == [op.value for op in Operator]


def test_messages_are_previewed_for_the_simulate_panels_contact() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]

    def previews(form: SimulationForm) -> dict[str, Any]:
        view = editor_view(welcome, 0, True, CATALOG, simulation=form)
        steps = [view.steps.steps[0], *view.steps.steps[1].arms[0].steps]
        return {s.fields[0].shown: s.preview for s in steps}

    shown = previews(SimulationForm())
    assert shown["welcome"].subject == "Bienvenue Ada !"
    assert shown["thanks"].text == "Merci Ada, à très vite !"  # not on the simulated path
    grace = previews(SimulationForm(contact="email: grace@example.com\nfirst_name: Grace"))
    assert grace["welcome"].subject == "Bienvenue Grace !"
    assert previews(SimulationForm(contact="[not a contact"))["welcome"].subject == (
        "Bienvenue Ada !"
    )


def test_conditions_combine_nest_negate_and_lose_comparisons() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    document = operate(welcome, "add:steps", {"kind:steps": "branch"})
    when = "steps.2.branch.0.when"
    document = operate(document, f"more:{when}", {})  # a comparison becomes all of two
    document = operate(document, f"nest:{when}", {})
    document = operate(document, f"negate:{when}.all.2", {})
    leaf = f"f:{when}.all.2.not.all.0"
    document, problems = post(
        document,
        **{
            f"f:{when}": "any",
            f"f:{when}.all.0.attr": "contact.first_name",
            f"f:{when}.all.0.value": "Ada",
            f"{leaf}.attr": "contact.last_name",
            f"{leaf}.op": "exists",
            f"{leaf}.value": "true",
        },
    )
    assert problems == []
    blank = {"attr": "contact.", "op": "eq", "value": ""}
    assert document["steps"][2]["branch"][0]["when"] == {
        "any": [
            {"attr": "contact.first_name", "op": "eq", "value": "Ada"},
            blank,
            {"not": {"all": [{"attr": "contact.last_name", "op": "exists", "value": True}]}},
        ]
    }
    depths = {f.label: f.depth for f in fields_of(editor_view(document, 0, True, CATALOG))}
    assert depths["Arm 1 when: match"] == 0
    assert depths["Arm 1 when 1: attribute"] == 1
    assert depths["Arm 1 when 3 (not).1: operator"] == 2  # indented as deep as it is held
    document = operate(document, f"drop:{when}.any.1", {})
    document = operate(document, f"negate:{when}.any.1", {})
    assert document["steps"][2]["branch"][0]["when"]["any"][1] == {
        "all": [{"attr": "contact.last_name", "op": "exists", "value": True}]
    }
    assert editor_view(document, 0, True, CATALOG).problem_count == 0


def test_a_wait_for_waits_for_several_triggers_each_with_its_condition() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    document = operate(welcome, "await:steps.1", {})
    wait_for = "steps.1.wait_for"
    document = operate(document, f"more:{wait_for}.any.1.when", {})
    document, problems = post(
        document,
        **{
            f"f:{wait_for}.any.1.trigger": "email.link_clicked",
            f"f:{wait_for}.any.1.of": "welcome",
            f"f:{wait_for}.any.1.when.attr": "event.url",
            f"f:{wait_for}.any.1.when.op": "contains",
            f"f:{wait_for}.any.1.when.value": "shop",
        },
    )
    assert problems == []
    assert document["steps"][1]["wait_for"] == {
        "any": [
            {"trigger": "email.opened", "of": "welcome"},
            {
                "trigger": "email.link_clicked",
                "of": "welcome",
                "when": {"attr": "event.url", "op": "contains", "value": "shop"},
            },
        ],
        "within": "P3D",
    }
    assert editor_view(document, 0, True, CATALOG).problem_count == 0


def test_activate_attributes_and_webhook_fields_are_names_and_values() -> None:
    orders = sample_journeys(WORKFLOWS)["order-followup"]
    attributes = "steps.1.branch.0.steps.0.activate.attributes"
    shown = {f.name: f.shown for f in fields_of(editor_view(orders, 0, True, CATALOG))}
    assert shown[f"f:{attributes}:1:source"] == "from"
    assert shown[f"f:{attributes}:1:from"] == "trigger.order_id"
    assert shown[f"f:{attributes}:0:value"] == "100"
    assert shown["f:start.per"] == "binding"
    document = operate(orders, f"key:{attributes}", {})
    document, problems = post(
        document,
        **{
            f"f:{attributes}:0:value": "150",
            f"f:{attributes}:2:key": "stars",
            f"f:{attributes}:2:source": "from",
        },
    )
    assert problems == []
    document, _ = post(document, **{f"f:{attributes}:2:from": "trigger.amount"})
    assert document["steps"][1]["branch"][0]["steps"][0]["activate"]["attributes"] == {
        "points": 150,
        "order_id": {"from": "trigger.order_id"},
        "stars": {"from": "trigger.amount"},
    }
    _, problems = post(document, **{f"f:{attributes}:2:key": "points"})
    assert [p.message for p in problems] == [f"{attributes_problem()} has a key 'points' already"]
    headers = "steps.4.webhook.headers"
    document = operate(orders, f"key:{headers}", {})
    document, _ = post(document, **{f"f:{headers}:0:key": "X-Shop", f"f:{headers}:0:value": "7"})
    assert document["steps"][4]["webhook"]["headers"] == {"X-Shop": "7"}  # a text, as typed
    document = operate(document, f"unkey:{headers}.0", {})
    assert "headers" not in document["steps"][4]["webhook"]
    body = "steps.4.webhook.body"
    document = operate(document, f"unkey:{body}.2", {})
    assert list(document["steps"][4]["webhook"]["body"]) == ["contact", "order"]


def attributes_problem() -> str:
    return "steps[1].branch[0].steps[0].activate.attributes"


def test_waits_until_a_moment_or_a_time_on_checked_days() -> None:
    orders = sample_journeys(WORKFLOWS)["order-followup"]
    shown = {f.name: f for f in fields_of(editor_view(orders, 0, True, CATALOG))}
    assert (shown["f:steps.0.wait.until_time"].kind, shown["f:steps.0.wait.days"].shown) == (
        "time",
        "mon,tue,wed,thu,fri",
    )
    changed, _ = post(orders, **{"f:steps.0.wait.days": ",sat,sun"})
    assert changed["steps"][0]["wait"]["days"] == ["sat", "sun"]
    document = operate(orders, "add:steps", {"kind:steps": "wait_time"})
    document, _ = post(document)  # all days shown checked: the language's default, unwritten
    assert document["steps"][-1]["wait"] == {"until_time": "09:00"}
    document = operate(orders, "add:steps", {"kind:steps": "wait_moment"})
    until = "steps.5.wait.until"
    document, _ = post(document, **{f"f:{until}": "2026-03-01T09:00", f"u:{until}": "+01:00"})
    assert document["steps"][5]["wait"] == {"until": "2026-03-01T09:00:00+01:00"}
    assert editor_view(document, 0, True, CATALOG).problem_count == 0
    document["steps"][5]["wait"]["until"] = "2026-03-01T09:00:30Z"
    view = editor_view(document, 0, True, CATALOG)
    moment = next(f for f in fields_of(view) if f.name == f"f:{until}")
    assert (moment.shown, moment.unit) == ("2026-03-01T09:00:30", "+00:00")


def test_steps_offer_to_move_into_the_arms_before_them_and_out_of_their_own() -> None:
    welcome = sample_journeys(WORKFLOWS)["welcome"]
    moved = operate(welcome, "out:steps.1.else.0", {})
    view = editor_view(moved, 0, True, CATALOG)
    reminder = view.steps.steps[2]
    assert not reminder.nested
    assert reminder.into == [
        ("into:steps.2.0", "then (it came)"),
        ("into:steps.2.1", "else (it did not)"),
    ]
    assert view.steps.steps[1].arms[0].steps[0].nested
    assert operate(moved, "into:steps.2.1", {}) == welcome


def test_an_exit_steps_emptied_reason_leaves_an_exit_step() -> None:
    loyalty = sample_journeys(WORKFLOWS)["loyalty-points"]
    changed, _ = post(loyalty, **{"f:steps.2.otherwise.0.exit": ""})
    assert changed["steps"][2]["otherwise"][0] == {"id": "nothing-to-say", "exit": None}
