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
    "wait_moment": {"wait": {"until": ""}},
    "wait_time": {"wait": {"until_time": "09:00"}},
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

# A new comparison, the leaf of every condition.
BLANK_COMPARISON: dict[str, Any] = {"attr": "contact.", "op": "eq", "value": ""}
GROUPS = ("all", "any")  # the conditions that hold a list of conditions

# A new arm of a branch, and of a split.
BLANK_ARMS: dict[str, dict[str, Any]] = {
    "branch": {"when": dict(BLANK_COMPARISON), "steps": []},
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


def set_value(
    document: dict[str, Any], path: Path, value: Any, keep_key: bool = False
) -> dict[str, Any]:
    """The document with `value` at `path` (mappings on the way are made as needed); None
    removes the key, and the mappings it leaves empty, so an emptied optional field leaves
    no trace; with `keep_key`, None is stored (`exit:` with no reason is an exit step)."""
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
        if value is None and not keep_key:
            parent.pop(last, None)
            if not parent and len(path) > 1 and isinstance(path[-2], str):
                return set_value(changed, path[:-1], None)
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
    """The document without the item at `at`: a step, an arm, a condition of a group."""
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    del listed[index]
    return changed


def add_condition(document: dict[str, Any], at: Path, group: bool = False) -> dict[str, Any]:
    """The document with one more comparison (or, with `group`, a group holding one) in the
    condition at `at`: none yet becomes the comparison; a group gets it at its end; a
    comparison or a `not` becomes `all` of itself and the new one."""
    condition = value_at(document, at)
    added: dict[str, Any] = dict(BLANK_COMPARISON)
    if group:
        added = {"all": [added]}
    if condition is None:
        return set_value(document, at, added)
    kind = condition_kind(condition)
    if kind in GROUPS:
        return add_step(document, (*at, kind), added)
    return set_value(document, at, {"all": [condition, added]})


def regroup(document: dict[str, Any], at: Path, kind: str) -> dict[str, Any]:
    """The group at `at` turned into an `all` or an `any` of the same conditions."""
    condition = get(document, at)
    held = condition_kind(condition)
    if kind not in GROUPS or held not in GROUPS:
        raise EditError(f"the condition at {path_text(at)!r} cannot become {kind!r}")
    return set_value(document, at, {kind: condition[held]})


def negate(document: dict[str, Any], at: Path) -> dict[str, Any]:
    """The condition at `at` negated: wrapped in a `not`, or unwrapped from one."""
    condition = get(document, at)
    if condition_kind(condition) == "not":
        return set_value(document, at, condition["not"])
    return set_value(document, at, {"not": condition})


def add_awaited(document: dict[str, Any], at: Path) -> dict[str, Any]:
    """The wait_for step at `at` waiting for one more trigger: a wait for one trigger becomes
    `any` of it and the new one (each keeps its own `of` and `when`)."""
    wait_for = get(document, (*at, "wait_for"))
    if not isinstance(wait_for, dict):
        raise EditError(f"the step at {path_text(at)!r} waits for nothing")
    awaited = wait_for.get("any")
    if isinstance(awaited, list):
        return add_step(document, (*at, "wait_for", "any"), {"trigger": ""})
    single = {key: wait_for[key] for key in ("trigger", "of", "when") if key in wait_for}
    rest = {key: value for key, value in wait_for.items() if key not in single}
    return set_value(document, (*at, "wait_for"), {"any": [single, {"trigger": ""}], **rest})


def condition_kind(condition: Any) -> str:
    """What the condition is: comparison, all, any or not; "" for none of them."""
    if not isinstance(condition, dict):
        return ""
    if "attr" in condition:
        return "comparison"
    keys = list(condition)
    return keys[0] if keys in (["all"], ["any"], ["not"]) else ""


def add_entry(document: dict[str, Any], at: Path, value: Any = "") -> dict[str, Any]:
    """The document with a new key (key_1, key_2, ...) at the end of the mapping at `at`."""
    mapping = value_at(document, at) or {}
    if not isinstance(mapping, dict):
        raise EditError(f"{path_text(at)!r} is not a mapping")
    number = 1
    while f"key_{number}" in mapping:
        number += 1
    return set_value(document, at, {**mapping, f"key_{number}": value})


def set_entry(
    document: dict[str, Any], at: Path, index: int, key: str | None = None, value: Any = None
) -> dict[str, Any]:
    """The mapping at `at` with its entry number `index` renamed to `key` (keeping its
    place) or given `value`; EditError when the new key is taken."""
    items = list(_mapping(document, at).items())
    if not 0 <= index < len(items):
        raise EditError(f"there is no entry {index} in {path_text(at)!r}")
    old_key, old_value = items[index]
    if key is not None:
        if key != old_key and any(k == key for k, _ in items):
            raise EditError(f"{problem_path(at)} has a key {key!r} already")
        items[index] = (key, old_value)
    else:
        items[index] = (old_key, value)
    return set_value(document, at, dict(items))


def remove_entry(document: dict[str, Any], at: Path, index: int) -> dict[str, Any]:
    """The mapping at `at` without its entry number `index`; an emptied mapping goes."""
    items = list(_mapping(document, at).items())
    if not 0 <= index < len(items):
        raise EditError(f"there is no entry {index} in {path_text(at)!r}")
    del items[index]
    return set_value(document, at, dict(items) or None)


def _mapping(document: dict[str, Any], at: Path) -> dict[str, Any]:
    mapping = get(document, at)
    if not isinstance(mapping, dict):
        raise EditError(f"{path_text(at)!r} is not a mapping")
    return mapping


def move_step(document: dict[str, Any], at: Path, offset: int) -> dict[str, Any]:
    """The step at `at` moved `offset` places within its list (-1: up one)."""
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    target = index + offset
    if not 0 <= target < len(listed):
        raise EditError(f"the step at {path_text(at)!r} cannot move further")
    listed.insert(target, listed.pop(index))
    return changed


def move_out(document: dict[str, Any], at: Path) -> dict[str, Any]:
    """The step at `at`, in an arm (then, else, otherwise, a branch or split arm), moved out
    to just after the step holding that arm."""
    holder = _holder(document, at)
    if holder is None:
        raise EditError(f"the step at {path_text(at)!r} is in no arm")
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    step = listed.pop(index)
    outer, place = _place(changed, holder)
    outer.insert(place + 1, step)
    return changed


def move_into(document: dict[str, Any], at: Path, arm: int) -> dict[str, Any]:
    """The step at `at` moved to the end of arm number `arm` (in `step_arms` order) of the
    step just before it."""
    changed = copy.deepcopy(document)
    listed, index = _place(changed, at)
    before = listed[index - 1] if index > 0 else None
    arms = step_arms(before) if isinstance(before, dict) else []
    if not 0 <= arm < len(arms):
        raise EditError(f"the step before {path_text(at)!r} has no arm {arm}")
    assert isinstance(before, dict)
    *inner, last = arms[arm]
    holding = get(before, tuple(inner)) if inner else before
    holding.setdefault(last, []).append(listed.pop(index))
    return changed


def _holder(document: dict[str, Any], at: Path) -> Path | None:
    """The path of the step whose arm holds the step at `at`; None at the top."""
    for end in range(len(at) - 2, 0, -1):
        step = value_at(document, at[: end + 1])
        held = isinstance(step, dict) and tuple(at[end + 1 : -1]) in step_arms(step)
        if isinstance(at[end], int) and held:
            return at[: end + 1]
    return None


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
