"""A definition's every independent problem in one run, each with the closest known name."""

from pathlib import Path

import pytest

from journeys.definitions.documents import load_beside, load_bundle
from journeys.kit.suggest import closest, did_you_mean

ROOT = Path(__file__).parents[3]

TRIGGERS = """
kind: Trigger
name: cart.abandoned
attributes: [{name: total, type: number}]
"""

SEVERAL_MISTAKES = """
kind: Journey
id: recover
name: Recover
start: {trigger: cart.abandond, when: {attr: trigger.total, op: gte, value: 50}}
steps:
  - id: welcome
    emial: {subject: Hi, text: Hello}
  - id: nudge
    email: {subjct: Hi, text: Hello}
  - id: opened
    wait_for: {trigger: email.opend, of: welcom, within: P1D}
  - id: pick
    branch:
      - when: {attr: contct.first_name, op: exists}
        steps: [{id: x, wiat: PT1H}]
      - when: {attr: contact.first_name, op: equalz, value: Ada}
"""


def test_every_independent_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "triggers.yaml").write_text(TRIGGERS)
    (tmp_path / "recover.yaml").write_text(SEVERAL_MISTAKES)
    problems = [f"{p.path}: {p.message}" for p in load_bundle([tmp_path]).problems]
    assert problems == [
        "steps[0].emial: unknown field; did you mean 'email'?",
        "steps[1].email.subject: required",
        "steps[1].email.subjct: unknown field; did you mean 'subject'?",
        "steps[3].branch[0].when.attr: 'contct.first_name' is not a path such as "
        "contact.first_name, trigger.total or event.text; did you mean 'contact.first_name'?",
        "steps[3].branch[0].steps[0].wiat: unknown field; did you mean 'wait'?",
        "steps[3].branch[1].when.op: Input should be 'eq', 'ne', 'gt', 'gte', 'lt', 'lte', "
        "'in', 'not_in', 'contains', 'starts_with' or 'exists'",
        # The references, checked in the same run on what could be read.
        "start.trigger: unknown trigger 'cart.abandond'; did you mean 'cart.abandoned'?",
        "steps[2].wait_for.trigger: unknown trigger 'email.opend'; did you mean 'email.opened'?",
        "steps[2].wait_for.of: no step 'welcom' in this journey; did you mean 'welcome'?",
    ]


def test_a_broken_message_step_still_answers_for_its_channel(tmp_path: Path) -> None:
    """`of` a step whose own fields are wrong is no second problem while its kind is clear,
    nor while it is not (that step has a problem of its own)."""
    (tmp_path / "j.yaml").write_text(
        "kind: Journey\nid: j\nname: J\nstart: {trigger: contact.created}\nsteps:\n"
        "  - {id: hello, email: {subject: Hi}}\n"
        "  - {id: ping, smss: {text: Hi}}\n"
        "  - {id: opened, wait_for: {trigger: email.opened, of: hello, within: P1D}}\n"
        "  - {id: replied, wait_for: {trigger: sms.replied, of: ping, within: P1D}}\n"
        "  - {id: again, wait_for: {trigger: email.opened, of: nowhere, within: P1D}}\n"
    )
    assert [f"{p.path}: {p.message}" for p in load_bundle([tmp_path]).problems] == [
        "steps[0].email: an email needs html, text or both",
        "steps[1].smss: unknown field; did you mean 'sms'?",
        "steps[4].wait_for.of: no step 'nowhere' in this journey",
    ]


def test_what_cannot_be_mended_is_reported_without_guesses(tmp_path: Path) -> None:
    (tmp_path / "j.yaml").write_text("kind: Journey\nid: j\nname: J\nsteps: [{id: a, wait: 1}]\n")
    assert [f"{p.path}: {p.message}" for p in load_bundle([tmp_path]).problems] == [
        "start: required",
        "steps[0].wait: a wait is a duration (PT1H), {until: <date-time>} or "
        "{until_time: '09:00', days: [mon, tue, ...]}",
    ]


def test_a_file_alone_uses_the_triggers_beside_it() -> None:
    bundle = load_beside([ROOT / "workflows" / "cart-recovery.yaml"])
    assert bundle.problems == []
    assert [j.id for j in bundle.journeys] == ["cart-recovery"]
    assert bundle.triggers == []  # the triggers beside it are used, not counted as its own
    assert bundle.beside == [ROOT / "workflows"]


def test_only_the_files_beside_are_read_not_those_above(tmp_path: Path) -> None:
    (tmp_path / "triggers.yaml").write_text(TRIGGERS)
    inner = tmp_path / "journeys"
    inner.mkdir()
    (inner / "j.yaml").write_text(
        "kind: Journey\nid: j\nname: J\nstart: {trigger: cart.abandoned}\n"
        "steps: [{id: a, wait: PT1H}]\n"
    )
    for given in (inner, inner / "j.yaml"):
        assert [p.message for p in load_beside([given]).problems] == [
            "unknown trigger 'cart.abandoned'"
        ]
    assert load_beside([inner / "j.yaml", tmp_path / "triggers.yaml"]).problems == []


@pytest.mark.parametrize(
    ("word", "known", "expected"),
    [
        ("emial", ["email", "sms", "wait"], "; did you mean 'email'?"),
        ("email", ["email"], ""),
        ("zzz", ["email", "sms"], ""),
    ],
)
def test_suggestions(word: str, known: list[str], expected: str) -> None:
    assert did_you_mean(word, known) == expected
    assert closest("opend", ["opened", "clicked"]) == "opened"


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("trigger.totl", "cart.abandoned has no attribute 'totl'; did you mean 'trigger.total'?"),
        ("trigger.amount", "cart.abandoned has no attribute 'amount'"),  # nothing alike
        (
            "contct.email",
            "'contct.email' is not a path such as contact.first_name, trigger.total or "
            "event.text; did you mean 'contact.email'?",
        ),
        (
            "basket.first_name",
            "'basket.first_name' is not a path such as contact.first_name, trigger.total or "
            "event.text",
        ),
    ],
)
def test_a_path_is_suggested_by_the_part_that_differs(
    tmp_path: Path, attr: str, message: str
) -> None:
    """The part every candidate shares (`trigger.`, `.first_name`) makes no two names alike."""
    (tmp_path / "triggers.yaml").write_text(TRIGGERS)
    (tmp_path / "j.yaml").write_text(
        "kind: Journey\nid: j\nname: J\nsteps: [{id: a, wait: PT1H}]\n"
        f"start: {{trigger: cart.abandoned, when: {{attr: {attr}, op: exists}}}}\n"
    )
    assert [p.message for p in load_bundle([tmp_path]).problems] == [message]
