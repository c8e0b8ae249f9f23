"""Changes to a journey definition document, as the editor makes them.

The document is the plain data `journeys apply` and PUT /v1/journeys/{id} take (parsed YAML
or JSON), valid or not: work in progress is edited too. Every operation returns a new
document and leaves the one it was given as it was; keys it does not touch keep their
order and values, so a definition written by hand and opened unchanged stays equal.

A place in the document is a path: keys and list indexes from the top, such as
("steps", 1, "then", 0) for the first step of the second step's `then` arm.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

Path = tuple[str | int, ...]

STEPS: Path = ("steps",)

# A new step of each kind: the least that shows its form (the editor fills in the rest).
BLANK_STEPS: dict[str, dict[str, Any]] = {
    "email": {"email": {"subject": "", "text": ""}},
    "sms": {"sms": {"text": ""}},
    "push": {"push": {"title": "", "body": ""}},
    "wait": {"wait": "P1D"},
    "wait_until": {"wait": {"until": {"from": "contact."}}},
    "wait_for": {"wait_for": {"trigger": "", "within": "P1D"}, "then": [], "else": []},
    "branch": {
        "branch": [
            {"name": "", "when": {"attr": "contact.", "op": "eq", "value": ""}, "steps": []}
        ],
        "otherwise": [],
    },
    "split": {
        "split": [
            {"name": "A", "percent": 50, "steps": []},
            {"name": "B", "percent": 50, "steps": []},
        ]
    },
    "activate": {"activate": {"trigger": ""}},
    "webhook": {"webhook": {"url": "https://"}},
    "exit": {"exit": None},
}

# A new arm of a branch, and of a split.
BLANK_ARMS: dict[str, dict[str, Any]] = {
    "branch": {"when": {"attr": "contact.", "op": "eq", "value": ""}, "steps": []},
    "split": {"name": "", "percent": 0, "steps": []},
}

# The lists of steps a step holds: `then`/`else`, `otherwise`, and each arm's `steps`.
_ARMS = ("then", "else", "otherwise")
_ARMED = ("branch", "split")

_SEGMENT = re.compile(r"\d+|[A-Za-z_][A-Za-z0-9_]*")


class EditError(ValueError):
    """An operation that does not fit the document: a path to nothing, a move off the end."""


def parse_path(text: str) -> Path:
    """ "steps.1.then.0" -> ("steps", 1, "then", 0)."""
    parts = text.split(".") if text else []
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        raise EditError(f"{text!r} is not a path in a journey")
    return tuple(int(part) if part.isdigit() else part for part in parts)


def path_text(path: Path) -> str:
    return ".".join(str(part) for part in path)


def problem_path(path: Path) -> str:
    """The path as problems name it: ("steps", 1, "then") -> "steps[1].then"."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" if index else part
        for index, part in enumerate(path)
    )


def get(document: Any, path: Path) -> Any:
    """The value at `path`; EditError when there is none."""
    value = document
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            raise EditError(f"there is nothing at {path_text(path)!r}") from None
    return value


def value_at(document: Any, path: Path) -> Any:
    """The value at `path`, or None when there is none (a field not filled in yet)."""
    try:
        return get(document, path)
    except EditError:
        return None


def set_value(document: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """The document with `value` at `path` (mappings on the way are made as needed); None
    removes the key, so an emptied optional field leaves no trace."""
    if not path:
        raise EditError("a value needs a place")
    changed = copy.deepcopy(document)
    parent: Any = changed
    for part, following in pairwise(path):
        if isinstance(parent, dict) and not isinstance(parent.get(part), dict | list):
            parent[part] = [] if isinstance(following, int) else {}
        parent = get(parent, (part,))
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        if value is None:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        parent[last] = value
    else:
        raise EditError(f"there is no place {path_text(path)!r}")
    return changed


def blank_step(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """A new step of `kind` with an id no step of the document has yet (email_1, ...)."""
    if kind not in BLANK_STEPS:
        raise EditError(f"there is no step kind {kind!r}")
    taken = {step.get("id") for _, step in walk_steps(document)}
    number = 1
    while f"{kind}_{number}" in taken:
        number += 1
    return {"id": f"{kind}_{number}"} | copy.deepcopy(BLANK_STEPS[kind])


def add_step(
    document: dict[str, Any], steps: Path, step: dict[str, Any], index: int | None = None
) -> dict[str, Any]:
    """The document with `step` in the list of steps at `steps` (at its end by default)."""
    changed = copy.deepcopy(document)
    parent = get(changed, steps[:-1]) if steps[:-1] else changed
    if not isinstance(parent, dict) or not isinstance(steps[-1], str):
        raise EditError(f"{path_text(steps)!r} is not a list of steps")
    listed = parent.setdefault(steps[-1], [])
    if not isinstance(listed, list):
        raise EditError(f"{path_text(steps)!r} is not a list of steps")
    listed.insert(len(listed) if index is None else index, step)
    return changed


def add_arm(document: dict[str, Any], at: Path) -> dict[str, Any]:
    """The document with a new, empty arm at the end of the branch or split step at `at`."""
    step = get(document, at)
    kind = next((k for k in BLANK_ARMS if isinstance(step, dict) and k in step), None)
    if kind is None:
        raise EditError(f"the step at {path_text(at)!r} has no arms")
    return add_step(document, (*at, kind), copy.deepcopy(BLANK_ARMS[kind]))


def remove_step(document: dict[str, Any], at: Path) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    del listed[index]
    return changed


def move_step(document: dict[str, Any], at: Path, offset: int) -> dict[str, Any]:
    """The step at `at` moved `offset` places within its list (-1: up one)."""
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    target = index + offset
    if not 0 <= target < len(listed):
        raise EditError(f"the step at {path_text(at)!r} cannot move further")
    listed.insert(target, listed.pop(index))
    return changed


def replace_step(document: dict[str, Any], at: Path, step: dict[str, Any]) -> dict[str, Any]:
    """The document with the step at `at` replaced by `step` (its fields as a whole)."""
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    listed[index] = copy.deepcopy(step)
    return changed


def walk_steps(document: Any, at: Path = STEPS) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every step of the document, nested ones after the step holding them, with its path."""
    try:
        listed = get(document, at)
    except EditError:
        return
    if not isinstance(listed, list):
        return
    for index, step in enumerate(listed):
        if not isinstance(step, dict):
            continue
        here = (*at, index)
        yield here, step
        for arm in step_arms(step):
            yield from walk_steps(document, (*here, *arm))


def step_arms(step: dict[str, Any]) -> list[Path]:
    """The lists of steps a step holds, relative to the step: ("then",), ("branch", 0,
    "steps"), ..."""
    arms: list[Path] = [(arm,) for arm in _ARMS if isinstance(step.get(arm), list)]
    for kind in _ARMED:
        if isinstance(step.get(kind), list):
            arms[:0] = [
                (kind, number, "steps")
                for number, arm in enumerate(step[kind])
                if isinstance(arm, dict)
            ]
    return arms


def _place(document: dict[str, Any], at: Path) -> tuple[list[Any], int]:
    if not at or not isinstance(at[-1], int):
        raise EditError(f"{path_text(at)!r} is not a step")
    listed = get(document, at[:-1])
    if not isinstance(listed, list) or not 0 <= at[-1] < len(listed):
        raise EditError(f"there is no step at {path_text(at)!r}")
    return listed, at[-1]
