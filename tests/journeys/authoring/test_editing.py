"""The editor's changes to a journey document: each returns a new document, and leaves
everything it does not touch as it was."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from journeys.authoring.editing import (
    BLANK_STEPS,
    EditError,
    add_arm,
    add_awaited,
    add_condition,
    add_entry,
    add_step,
    blank_step,
    move_into,
    move_out,
    move_step,
    negate,
    parse_path,
    path_text,
    problem_path,
    regroup,
    remove_entry,
    remove_step,
    replace_step,
    set_entry,
    set_value,
    walk_steps,
)
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import journey_problems, parse_text

WORKFLOWS = Path(__file__).parents[3] / "workflows"


def welcome() -> dict[str, Any]:
    document = parse_text((WORKFLOWS / "welcome.yaml").read_text())[0]
    assert isinstance(document, dict)
    return document


def test_paths_read_and_print_the_same() -> None:
    assert parse_path("steps.1.then.0") == ("steps", 1, "then", 0)
    assert path_text(("steps", 1, "then", 0)) == "steps.1.then.0"
    assert parse_path("") == ()
    assert problem_path(("steps", 1, "then", 0, "email")) == "steps[1].then[0].email"
    with pytest.raises(EditError, match="not a path"):
        parse_path("steps..1")


def test_a_step_is_added_inside_an_arm_without_touching_the_original() -> None:
    original = welcome()
    kept = copy.deepcopy(original)
    step = blank_step("push", original)
    changed = add_step(original, ("steps", 1, "then"), step, index=0)
    assert original == kept
    assert changed["steps"][1]["then"][0] == {"id": "push_1", "push": {"title": "", "body": ""}}
    assert changed["steps"][1]["then"][1]["id"] == "thanks"


def test_new_step_ids_are_unique_in_the_whole_journey() -> None:
    document = welcome()
    document = add_step(document, ("steps",), blank_step("email", document))
    document = add_step(document, ("steps", 1, "else"), blank_step("email", document))
    ids = [step["id"] for _, step in walk_steps(document)]
    assert ids == ["welcome", "opened", "thanks", "reminder", "email_2", "email_1"]
    with pytest.raises(EditError, match="no step kind"):
        blank_step("telegram", document)


def test_every_blank_step_kind_parses_as_its_kind() -> None:
    for kind in BLANK_STEPS:
        document = add_step(welcome(), ("steps",), blank_step(kind, welcome()))
        _, problems = journey_problems(document, TriggerCatalog())
        # Only the new step's blank fields are problems (the catalog here knows no trigger).
        found = {p.path.split(".")[0] for p in problems if "unknown trigger" not in p.message}
        assert found <= {"steps[2]"}, (kind, problems)


def test_steps_move_within_their_list_and_are_removed() -> None:
    document = welcome()
    moved = move_step(document, ("steps", 1), -1)
    assert [s["id"] for s in moved["steps"]] == ["opened", "welcome"]
    with pytest.raises(EditError, match="cannot move further"):
        move_step(document, ("steps", 1), 1)
    removed = remove_step(document, ("steps", 1, "else", 0))
    assert removed["steps"][1]["else"] == []
    with pytest.raises(EditError, match="no step at"):
        remove_step(document, ("steps", 5))


def test_steps_nest_in_branch_and_split_arms() -> None:
    document = add_step(welcome(), ("steps",), blank_step("split", welcome()))
    document = add_step(document, ("steps", 2, "split", 1, "steps"), blank_step("exit", document))
    document = add_step(document, ("steps",), blank_step("branch", document))
    document = add_step(document, ("steps", 3, "branch", 0, "steps"), blank_step("sms", document))
    paths = [path_text(path) for path, _ in walk_steps(document)]
    assert paths[4:] == [
        "steps.2",
        "steps.2.split.1.steps.0",
        "steps.3",
        "steps.3.branch.0.steps.0",
    ]


def test_fields_and_settings_are_set_and_cleared() -> None:
    document = welcome()
    changed = set_value(document, ("steps", 0, "email", "subject"), "Hello")
    assert changed["steps"][0]["email"]["subject"] == "Hello"
    changed = set_value(changed, ("steps", 0, "email", "html"), None)
    assert "html" not in changed["steps"][0]["email"]
    changed = set_value(changed, ("goal",), {"trigger": "order.placed", "within": "P7D"})
    changed = set_value(changed, ("entry", "rate_limit", "count"), 10)
    assert changed["entry"] == {"rate_limit": {"count": 10}}
    assert list(changed)[: len(document)] == list(document)  # keys keep their order
    with pytest.raises(EditError, match="no place"):
        set_value(document, ("steps", 9), {})


def test_branch_and_split_steps_get_new_arms() -> None:
    document = add_step(welcome(), ("steps",), blank_step("split", welcome()))
    document = add_arm(document, ("steps", 2))
    assert document["steps"][2]["split"][2] == {"name": "", "percent": 0, "steps": []}
    with pytest.raises(EditError, match="has no arms"):
        add_arm(document, ("steps", 0))


def test_a_step_is_replaced_as_a_whole() -> None:
    step = {"id": "bye", "exit": "done"}
    changed = replace_step(welcome(), ("steps", 1, "then", 0), step)
    assert changed["steps"][1]["then"] == [step]


def test_a_document_opened_and_left_alone_is_equal_to_the_file() -> None:
    for file in sorted(WORKFLOWS.glob("*.yaml")):
        for document in parse_text(file.read_text()):
            paths = [path for path, _ in walk_steps(document)]
            assert all(paths) or not document.get("steps")
            assert set_value(document, ("name",), document.get("name")) == document


def test_an_emptied_field_takes_the_mappings_it_emptied_with_it() -> None:
    document = set_value(welcome(), ("entry", "rate_limit", "count"), 10)
    assert "entry" not in set_value(document, ("entry", "rate_limit", "count"), None)
    document = set_value(document, ("entry", "from"), "2026-03-01T09:00:00+01:00")
    cleared = set_value(document, ("entry", "rate_limit", "count"), None)
    assert cleared["entry"] == {"from": "2026-03-01T09:00:00+01:00"}


def test_conditions_grow_into_groups_and_are_negated() -> None:
    start = ("start", "when")
    document = add_condition(welcome(), start)
    comparison = {"attr": "contact.", "op": "eq", "value": ""}
    assert document["start"]["when"] == comparison
    document = add_condition(document, start)
    assert document["start"]["when"] == {"all": [comparison, comparison]}
    document = add_condition(document, start, group=True)
    assert document["start"]["when"]["all"][2] == {"all": [comparison]}
    document = regroup(document, start, "any")
    assert list(document["start"]["when"]) == ["any"]
    assert len(document["start"]["when"]["any"]) == 3
    negated = negate(document, (*start, "any", 0))
    assert negated["start"]["when"]["any"][0] == {"not": comparison}
    assert negate(negated, (*start, "any", 0)) == document
    with pytest.raises(EditError, match="cannot become"):
        regroup(document, (*start, "any", 0), "all")


def test_mapping_entries_are_added_renamed_set_and_removed_in_place() -> None:
    at = ("steps", 0, "webhook", "body")
    call = {"id": "call", "webhook": {"url": "https://x"}}
    document = add_step(welcome(), ("steps",), call, index=0)
    document = add_entry(add_entry(document, at), at)
    assert document["steps"][0]["webhook"]["body"] == {"key_1": "", "key_2": ""}
    document = set_entry(document, at, 0, key="order")
    document = set_entry(document, at, 0, value="{{ trigger.order_id }}")
    assert list(document["steps"][0]["webhook"]["body"].items()) == [
        ("order", "{{ trigger.order_id }}"),
        ("key_2", ""),
    ]
    with pytest.raises(EditError, match="has a key 'order' already"):
        set_entry(document, at, 1, key="order")
    document = remove_entry(remove_entry(document, at, 1), at, 0)
    assert "body" not in document["steps"][0]["webhook"]


def test_a_wait_for_one_trigger_becomes_a_wait_for_any() -> None:
    document = add_awaited(welcome(), ("steps", 1))
    wait_for = document["steps"][1]["wait_for"]
    assert wait_for == {
        "any": [{"trigger": "email.opened", "of": "welcome"}, {"trigger": ""}],
        "within": "P3D",
    }
    again = add_awaited(document, ("steps", 1))
    assert again["steps"][1]["wait_for"]["any"][2] == {"trigger": ""}


def test_a_step_moves_out_of_its_arm_and_into_an_arm_of_the_step_before() -> None:
    document = welcome()
    out = move_out(document, ("steps", 1, "then", 0))
    assert [step["id"] for step in out["steps"]] == ["welcome", "opened", "thanks"]
    assert out["steps"][1]["then"] == []
    assert move_into(out, ("steps", 2), 0) == document  # then: the first arm of wait_for
    into_else = move_into(out, ("steps", 2), 1)
    assert [step["id"] for step in into_else["steps"][1]["else"]] == ["reminder", "thanks"]
    split = add_step(document, ("steps",), blank_step("split", document))
    split = add_step(split, ("steps",), {"id": "bye", "exit": None})
    held = move_into(split, ("steps", 3), 1)
    assert held["steps"][2]["split"][1]["steps"] == [{"id": "bye", "exit": None}]
    assert move_out(held, ("steps", 2, "split", 1, "steps", 0)) == split
    with pytest.raises(EditError, match="in no arm"):
        move_out(document, ("steps", 0))
    with pytest.raises(EditError, match="has no arm"):
        move_into(document, ("steps", 1), 0)  # the step before it is an email
