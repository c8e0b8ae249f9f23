"""Properties of definitions: journeys valid by construction are accepted and survive a
round trip through their documents; anything else, however broken, is refused with
problems that say where, and never crashes the loader or the checks."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.definitions.documents import (
    check_definition,
    load_bundle,
    parse_definition,
    parse_text,
    to_document,
)
from journeys.definitions.journeys import JourneyDefinition
from journeys.definitions.triggers import TriggerDefinition
from journeys.definitions.validation import validate_journey
from journeys.kit.problems import Problem
from tests.abuse.strategies import CATALOG, hostile_values, journeys, json_values

TRIGGER = {
    "kind": "Trigger",
    "name": "order.shipped",
    "type": "custom",
    "attributes": [{"name": "order_id", "type": "text", "required": True}],
}
RECORD = {
    "kind": "Trigger",
    "name": "ticket.closed",
    "type": "record_change",
    "entity": "ticket",
    "operation": "update",
    "changed": ["status"],
    "contact_field": "contact_id",
}


@given(journeys())
def test_valid_journeys_are_accepted_and_round_trip(document: dict[str, Any]) -> None:
    definition, problems = parse_definition(document)
    assert problems == []
    assert isinstance(definition, JourneyDefinition)
    assert validate_journey(definition, CATALOG) == []
    again, problems = parse_definition(json.loads(json.dumps(to_document(definition))))
    assert problems == []
    assert again == definition


def locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a document, as the keys that lead to it."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += locations(item, (*path, index))
    return found


@st.composite
def broken(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A valid document with one place replaced by anything, removed, or given a sibling."""
    document = draw(base)
    path = draw(st.sampled_from(locations(document)))
    if not path:
        return draw(hostile_values)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        parent[path[-1]] = draw(hostile_values)
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = draw(json_values)
    else:
        parent.insert(path[-1], draw(hostile_values))
    return document


def assert_refused_or_checked(document: Any) -> None:
    definition, problems = parse_definition(document)
    if definition is None:
        assert problems, "refused without saying why"
    else:
        assert problems == []
        problems = check_definition(definition, CATALOG)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert isinstance(problem.path, str) and problem.message


@settings(max_examples=300)
@given(broken(journeys()))
def test_a_broken_journey_is_refused_with_problems_never_a_crash(document: Any) -> None:
    assert_refused_or_checked(document)


@given(broken(st.sampled_from([TRIGGER, RECORD]).map(lambda d: json.loads(json.dumps(d)))))
def test_a_broken_trigger_is_refused_with_problems_never_a_crash(document: Any) -> None:
    assert_refused_or_checked(document)


@given(hostile_values, st.sampled_from([None, "Journey", "Trigger"]))
def test_any_value_is_refused_with_problems_never_a_crash(value: Any, kind: str | None) -> None:
    if isinstance(value, dict) and kind is not None:
        value = {"kind": kind, **value}
    assert_refused_or_checked(value)


@given(st.text(max_size=300))
def test_any_text_parses_or_fails_with_a_parse_error(text: str) -> None:
    with contextlib.suppress(json.JSONDecodeError, yaml.YAMLError):
        parse_text(text)


@settings(max_examples=50)
@given(st.one_of(st.text(max_size=200), journeys().map(yaml.safe_dump)))
def test_any_file_loads_into_definitions_or_problems(tmp_path_factory: Any, text: str) -> None:
    folder: Path = tmp_path_factory.mktemp("bundle")
    (folder / "fuzz.yaml").write_text(text, encoding="utf-8")
    bundle = load_bundle([folder])
    for definition in [*bundle.triggers, *bundle.journeys]:
        assert isinstance(definition, TriggerDefinition | JourneyDefinition)
    assert all(problem.file is not None for problem in bundle.problems)
