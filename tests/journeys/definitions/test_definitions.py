import json
from pathlib import Path

import pytest

from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import (
    check_definition,
    load_bundle,
    parse_definition,
    parse_text,
)
from journeys.definitions.journeys import (
    MAX_CONDITION_DEPTH,
    MAX_DEFINITION_BYTES,
    MAX_NESTING,
    MAX_STEPS,
)

ROOT = Path(__file__).parents[3]
SAMPLES = ROOT.parent / "shared" / "contract" / "workflows"


def problems_of(text: str, extra_triggers: str = "") -> list[str]:
    catalog = TriggerCatalog()
    if extra_triggers:
        triggers = [parse_definition(doc)[0] for doc in parse_text(extra_triggers)]
        catalog = catalog.with_definitions(t for t in triggers if t is not None)  # type: ignore[misc]
    definition, problems = parse_definition(parse_text(text)[0])
    if definition is not None:
        problems = check_definition(definition, catalog)
    return [f"{p.path}: {p.message}" for p in problems]


def test_the_workflows_folder_validates() -> None:
    bundle = load_bundle([ROOT / "workflows"])
    assert bundle.problems == []
    assert {j.id for j in bundle.journeys} >= {"welcome", "cart-recovery"}


@pytest.mark.skipif(not SAMPLES.exists(), reason="the contract samples live beside the repo")
def test_the_contract_samples_are_the_workflows_unchanged() -> None:
    for sample in SAMPLES.glob("*.yaml"):
        assert (ROOT / "workflows" / sample.name).read_text() == sample.read_text()


BASE = """
kind: Journey
id: j
name: J
start: {trigger: contact.created}
steps:
"""


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "  - {id: a, email: {subject: s, text: t}}\n  - {id: a, wait: PT1H}",
            "steps[1].id: step id 'a' is already used at steps[0]",
        ),
        (
            "  - {id: w, wait_for: {trigger: email.opened, within: P1D}}",
            "steps[0].wait_for.of: required: email.opened answers a message; "
            "name the email step it answers",
        ),
        (
            "  - {id: w, wait_for: {trigger: email.opened, of: m, within: P1D}}\n"
            "  - {id: m, email: {subject: s, text: t}}",
            "steps[0].wait_for.of: step 'm' comes later in the journey",
        ),
        (
            "  - {id: m, sms: {text: t}}\n"
            "  - {id: w, wait_for: {trigger: email.opened, of: m, within: P1D}}",
            "steps[1].wait_for.of: email.opened answers an email step, but 'm' is an SMS step",
        ),
        (
            "  - {id: w, wait_for: {trigger: no.such, within: P1D}}",
            "steps[0].wait_for.trigger: unknown trigger 'no.such'",
        ),
        (
            "  - {id: m, email: {subject: '{{ order.id }}', text: t}}",
            "steps[0].email.subject: unknown variable 'order': use contact.*, trigger.* or journey.*",
        ),
        (
            "  - {id: m, sms: {text: '{% if %}'}}",
            "steps[0].sms.text: template error on line 1: Expected an expression, "
            "got 'end of statement block'",
        ),
        (
            "  - {id: m, wait: P1M}",
            "steps[0].wait: months and years have no fixed length; use days, e.g. P30D",
        ),
        (
            "  - {id: m}",
            "steps[0]: a step has an id and exactly one of: email, sms, push, wait, wait_for, branch, split, activate, webhook, exit",
        ),
        ("  - {id: m, email: {subject: s}}", "steps[0].email: an email needs html, text or both"),
    ],
)
def test_step_rules(steps: str, expected: str) -> None:
    assert expected in problems_of(BASE + steps)


def test_interaction_triggers_cannot_start_or_stop_a_journey() -> None:
    text = """
kind: Journey
id: j
name: J
start: {trigger: email.opened}
exit: [{trigger: sms.replied}]
steps: [{id: a, wait: PT1H}]
"""
    assert problems_of(text) == [
        "start.trigger: email.opened is an interaction trigger: it can continue a journey "
        "(wait_for), not be a start trigger",
        "exit[0].trigger: sms.replied is an interaction trigger: it can continue a journey "
        "(wait_for), not be an exit trigger",
    ]


def test_audience_must_match() -> None:
    text = """
kind: Journey
id: j
name: J
audience: lead
start: {trigger: contact.created}
steps: [{id: a, wait: PT1H}]
"""
    assert problems_of(text) == [
        "start.trigger: contact.created is about a contact, but this journey's audience is lead"
    ]


def test_condition_paths_are_checked_against_scope_and_trigger_attributes() -> None:
    triggers = """
kind: Trigger
name: cart.abandoned
attributes: [{name: total, type: number}]
"""
    text = """
kind: Journey
id: j
name: J
start:
  trigger: cart.abandoned
  when: {all: [{attr: trigger.totl, op: gt, value: 1}, {attr: event.x, op: exists}]}
steps: [{id: a, wait: PT1H}]
"""
    assert problems_of(text, triggers) == [
        "start.when.all[0].attr: cart.abandoned has no attribute 'totl'; did you mean 'trigger.total'?",
        "start.when.all[1].attr: not available here (use trigger.*, journey.*, contact.*)",
    ]


def test_every_structural_problem_is_reported_at_once() -> None:
    text = """
kind: Journey
id: Not An Id
name: J
timezone: Mars/Base
reentry: sometimes
start: {trigger: contact.created}
steps: [{id: a, wait: soon}, {id: b, sms: {txt: x}}]
"""
    assert problems_of(text) == [
        "id: 'Not An Id' is not a journey id: lower-case letters, digits, - and _",
        "timezone: 'Mars/Base' is not an IANA time zone such as Europe/Paris",
        "reentry: must be never, always or {after: <duration>}, e.g. {after: P30D}",
        "steps[0].wait: 'soon' is not an ISO 8601 duration such as PT1H or P3D",
        "steps[1].sms.text: required",
        "steps[1].sms.txt: unknown field; did you mean 'text'?",
    ]


def test_record_change_triggers_need_their_fields() -> None:
    assert problems_of("kind: Trigger\nname: deal.won\ntype: record_change\n") == [
        ": a record_change trigger needs entity, operation, contact_field"
    ]
    assert problems_of("kind: Trigger\nname: contact.created\n") == [
        "name: contact.created is a built-in trigger"
    ]


def test_files_report_their_name_and_document(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: Trigger\nname: a.b\n---\nkind: Journey\nid: x\n")
    (tmp_path / "b.yaml").write_text("kind: [unclosed\n")
    bundle = load_bundle([tmp_path])
    assert [str(p) for p in bundle.problems] == [
        f"{tmp_path}/a.yaml#2: name: required",
        f"{tmp_path}/a.yaml#2: start: required",
        f"{tmp_path}/a.yaml#2: steps: required",
        f"{tmp_path}/b.yaml: (document): not valid YAML (line 2, column 1): "
        "expected ',' or ']', but got '<stream end>'",
    ]


def test_a_journey_may_use_a_trigger_defined_in_another_file(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("kind: Trigger\nname: order.placed\n")
    (tmp_path / "j.yaml").write_text(
        BASE.replace("contact.created", "order.placed") + "  - {id: a, wait: PT1H}\n"
    )
    assert load_bundle([tmp_path]).problems == []


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "  - {id: out, exit: done}\n  - {id: never, email: {subject: s, text: t}}",
            "steps[1]: unreachable: the exit step 'out' before it ends the run",
        ),
        (
            "  - {id: ab, split: [{name: a, percent: 60}, {name: b, percent: 30}]}",
            "steps[0].split: the percentages add up to 90, not 100",
        ),
        ("  - {id: w, wait: P400D}", "steps[0].wait: at most 365 days (P365D)"),
        (
            "  - {id: w, wait: {until_time: '25:00'}}",
            "steps[0].wait.until_time: '25:00' is not a time of day such as 09:00",
        ),
        (
            "  - {id: loop, activate: {trigger: contact.created}}",
            "steps[0].activate.trigger: contact.created is not a custom trigger: only custom triggers can be activated",
        ),
        (
            "  - {id: f, wait_for: {trigger: order.placed, any: [{trigger: order.placed}], within: P1D}}",
            "steps[0].wait_for: a wait_for names one trigger, or several under `any`",
        ),
        (
            "  - {id: b, branch: [{when: {attr: event.x, op: exists}, steps: [{id: x, exit: x}]}], otherwise: [{id: y, exit: y}], colour: red}",
            "steps[0].colour: unknown field",
        ),
        (
            "  - {id: h, webhook: {url: 'https://x.example', body: {who: '{{ user.id }}'}}}",
            "steps[0].webhook.body.who: unknown variable 'user': use contact.*, trigger.*, event.*, response.* or journey.*",
        ),
        (
            "  - {id: h, webhook: {url: 'not a url'}}",
            "steps[0].webhook.url: Input should be a valid URL, relative URL without a base",
        ),
    ],
)
def test_rules_of_the_other_step_kinds(steps: str, expected: str) -> None:
    assert expected in problems_of(
        BASE + steps, extra_triggers="kind: Trigger\nname: order.placed\n"
    )


def test_activating_the_start_trigger_would_loop() -> None:
    triggers = "kind: Trigger\nname: lead.scored\nattributes: [{name: score, type: number, required: true}]\n"
    text = """
kind: Journey
id: j
name: J
start: {trigger: lead.scored}
steps:
  - {id: again, activate: {trigger: lead.scored, attributes: {score: {from: trigger.score}}}}
  - {id: typed, activate: {trigger: lead.scored, attributes: {score: high, colour: red}}}
"""
    assert problems_of(text, triggers) == [
        "steps[0].activate.trigger: lead.scored starts this journey: activating it here would loop",
        "steps[1].activate.trigger: lead.scored starts this journey: activating it here would loop",
        "steps[1].activate.attributes.score: must be a number, got text",
        "steps[1].activate.attributes.colour: unknown attribute of lead.scored (declared: score)",
    ]


VISIT_TRIGGER = """
kind: Trigger
name: visit.booked
attributes:
  - {name: visit_id, type: text, required: true}
  - {name: visit_at, type: datetime}
"""


@pytest.mark.parametrize(
    ("fields", "steps", "expected"),
    [
        ("", "  - {id: w, wait: {until: {from: trigger.visit_at}, offset: -P1D}}", []),
        (
            "",
            "  - {id: w, wait: {until: {from: trigger.visit_id}}}",
            ["steps[0].wait.until.from: visit_id of visit.booked is text, not a datetime"],
        ),
        (
            "",
            "  - {id: w, wait: {until: {from: trigger.nope}}}",
            ["steps[0].wait.until.from: visit.booked has no attribute 'nope'"],
        ),
        (
            "",
            "  - {id: w, wait: {until: {from: contact.birthday}, offset: P400D}}",
            ["steps[0].wait.offset: at most 365 days either way"],
        ),
        (
            "exit: [{trigger: visit.booked, when: {attr: event.visit_id, op: eq, value: {from: trigger.visit_id}}}]\n",
            "  - {id: w, wait: P1D}",
            [],
        ),
        (
            "exit: [{trigger: visit.booked, when: {attr: event.visit_id, op: in, value: {from: trigger.visit_id}}}]\n",
            "  - {id: w, wait: P1D}",
            ["exit[0].when: 'in' needs a list value"],
        ),
        (
            "goal: {trigger: visit.booked, when: {attr: event.visit_id, op: eq, value: {from: contact.id}}}\n",
            "  - {id: w, wait: P1D}",
            ["goal.when.value.from: not available here (use trigger.*, journey.*, event.*)"],
        ),
        (
            "parallel: maybe\n",
            "  - {id: w, wait: P1D}",
            ["parallel: Input should be a valid boolean, unable to interpret input"],
        ),
    ],
)
def test_second_wave_fields_are_checked_with_their_path(
    fields: str, steps: str, expected: list[str]
) -> None:
    text = f"""
kind: Journey
id: j
name: J
start: {{trigger: visit.booked}}
{fields}steps:
{steps}
"""
    assert problems_of(text, VISIT_TRIGGER) == expected


def _nested(depth: int) -> dict[str, object]:
    """An email inside `depth` branches, one inside the other."""
    step: dict[str, object] = {"id": "deepest", "sms": {"text": "hi"}}
    for level in range(depth):
        arm = {"when": {"attr": "contact.email", "op": "exists"}, "steps": [step]}
        step = {"id": f"b{level}", "branch": [arm]}
    return step


def _journey(steps: list[object], when: object | None = None) -> str:
    start: dict[str, object] = {"trigger": "contact.created"}
    if when is not None:
        start["when"] = when
    doc = {"kind": "Journey", "id": "j", "name": "J", "start": start, "steps": steps}
    return json.dumps(doc)


def test_nesting_is_bounded_where_it_goes_too_deep() -> None:
    assert problems_of(_journey([_nested(MAX_NESTING)])) == []
    path = "steps[0]" + ".branch[0].steps[0]" * (MAX_NESTING + 1)
    assert problems_of(_journey([_nested(MAX_NESTING + 1)])) == [
        f"{path}: steps nested more than {MAX_NESTING} deep (then, else, branch and split "
        "arms inside one another)"
    ]


def test_steps_and_size_are_bounded() -> None:
    steps = [{"id": f"w{i}", "wait": "PT1M"} for i in range(MAX_STEPS + 1)]
    assert problems_of(_journey(steps)) == [
        f"steps: {MAX_STEPS + 1} steps; a journey has at most {MAX_STEPS}"
    ]
    big = "x" * 99_000
    emails = [{"id": f"e{i}", "email": {"subject": "s", "text": big}} for i in range(6)]
    [problem] = problems_of(_journey(emails))
    assert problem.startswith(": the journey is 594,") and f"{MAX_DEFINITION_BYTES:,}" in problem


def test_condition_depth_is_bounded() -> None:
    condition: object = {"attr": "contact.email", "op": "exists"}
    for _ in range(MAX_CONDITION_DEPTH):
        condition = {"not": condition}
    assert problems_of(_journey([{"id": "w", "wait": "P1D"}], condition)) == []
    problems = problems_of(_journey([{"id": "w", "wait": "P1D"}], {"all": [condition]}))
    assert problems == [
        "start.when." + "all[0]" + ".not" * MAX_CONDITION_DEPTH + ": conditions nested more "
        f"than {MAX_CONDITION_DEPTH} deep (all, any and not inside one another)"
    ]
