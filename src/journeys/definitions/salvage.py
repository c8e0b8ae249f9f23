"""A journey with structural problems, made checkable: each broken part is replaced by a
stand-in, so that its references (triggers, steps, paths) are checked in the same run as
its structure, and a file's every independent problem is found at once."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter, ValidationError

from journeys.definitions.common import StepId
from journeys.definitions.journeys import STEP_KINDS, STEP_LISTS, JourneyDefinition, WaitForStep
from journeys.kit.problems import TAG_PREFIX

# Top-level fields no reference check depends on: left out, or given a neutral value.
_DROPPABLE = frozenset({"description", "entry", "goal", "reentry", "parallel", "frequency_caps"})
_NEUTRAL = {"name": "-", "timezone": "UTC"}
_MESSAGES = {
    "email": {"subject": "-", "text": "-"},
    "sms": {"text": "-"},
    "push": {"title": "-", "body": "-"},
}
# A branch arm needs a condition; this one reads nothing a check could refuse.
_ANY_CONDITION = {"attr": "contact.id", "op": "exists"}
_STEP_ID: TypeAdapter[str] = TypeAdapter(StepId)


def salvage(document: dict[str, Any]) -> tuple[JourneyDefinition, set[str]] | None:
    """The journey with its broken parts replaced, and the paths of problems that only the
    replacements cause; None if it is valid already or cannot be mended this way."""
    try:
        JourneyDefinition.model_validate(document)
        return None
    except ValidationError as error:
        locations = [
            (_location(item["loc"]), item["type"]) for item in error.errors(include_url=False)
        ]
    try:
        mended = copy.deepcopy(document)
    except RecursionError:
        # Nested past what Python walks (the parser stops a little deeper): its structure
        # is refused for its depth already, and there is nothing to check beyond that.
        return None
    stand_ins: set[str] = set()  # ids of stand-ins whose kind is unknown
    # Deepest first, so that replacing a step does not move what a later fix points to.
    for location, kind in sorted(locations, key=lambda item: -len(item[0])):
        if not _mend(mended, location, kind, stand_ins):
            return None
    try:
        journey = JourneyDefinition.model_validate(mended)
    except ValidationError:
        return None
    return journey, set(_answers_to(journey, stand_ins))


def _location(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    return tuple(part for part in loc if not str(part).startswith(TAG_PREFIX))


def _mend(
    document: dict[str, Any], location: tuple[str | int, ...], kind: str, ids: set[str]
) -> bool:
    steps = [i for i in range(1, len(location)) if _is_step(location, i)]
    conditions = [i for i, part in enumerate(location) if part == "when"]
    step_end = steps[-1] + 1 if steps else 0
    if conditions and conditions[-1] >= step_end:
        at = conditions[-1]
        parent = _node(document, location[:at])
        if not isinstance(parent, dict):
            return False
        if len(location) > 2 and location[at - 2] == "branch":
            parent["when"] = _ANY_CONDITION
        else:
            parent.pop("when", None)
        return True
    if steps:
        container = _node(document, location[: step_end - 1])
        index = location[step_end - 1]
        if isinstance(container, list) and isinstance(index, int) and index < len(container):
            container[index] = _stand_in(container[index], len(ids), ids)
            return True
        return False
    if kind == "extra_forbidden":
        parent = _node(document, location[:-1])
        if isinstance(parent, dict):
            parent.pop(location[-1], None)
            return True
        return False
    top = location[0] if location else None
    if top in _DROPPABLE:
        document.pop(str(top), None)
        return True
    if top in _NEUTRAL:
        document[str(top)] = _NEUTRAL[str(top)]
        return True
    return False


def _is_step(location: tuple[str | int, ...], index: int) -> bool:
    return isinstance(location[index], int) and location[index - 1] in STEP_LISTS


def _node(document: Any, location: tuple[str | int, ...]) -> Any:
    node = document
    for part in location:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _stand_in(step: Any, number: int, unknown_kind: set[str]) -> dict[str, Any]:
    """A step that is valid and refers to nothing, with the broken step's id and, when
    it is clear, its channel (so that an `of` naming it still finds a message step)."""
    step_id = f"stand-in-{number}"
    if isinstance(step, dict):
        with contextlib.suppress(ValidationError):  # else the stand-in's own id
            step_id = _STEP_ID.validate_python(step.get("id"))
    kinds = [kind for kind in STEP_KINDS if isinstance(step, dict) and kind in step]
    if len(kinds) == 1 and kinds[0] in _MESSAGES:
        return {"id": step_id, kinds[0]: _MESSAGES[kinds[0]]}
    unknown_kind.add(step_id)
    return {"id": step_id, "wait": "PT1M"}


def _answers_to(journey: JourneyDefinition, stand_ins: set[str]) -> Iterator[str]:
    """The `of` paths naming a stand-in of unknown kind: not a problem of their own."""
    for path, step in journey.walk():
        if isinstance(step, WaitForStep):
            single = step.wait_for.any is None
            for index, awaited in enumerate(step.wait_for.awaited):
                if awaited.of in stand_ins:
                    yield f"{path}.wait_for.of" if single else f"{path}.wait_for.any[{index}].of"
