"""What changed between two versions of a journey: its settings, its steps, and the text.

It compares documents, not models, so that a draft which does not validate yet (the editor
saves work in progress) can be compared too."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from journeys.definitions.journeys import STEP_LISTS


class Diff(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    steps_added: list[str]
    steps_removed: list[str]
    steps_changed: list[str]
    diff: str = Field(description="A unified diff of the two definitions, as YAML.")


def diff(old: Mapping[str, Any], new: Mapping[str, Any], old_name: str, new_name: str) -> Diff:
    """Two journey documents; `old_name` and `new_name` say which versions these are (`3`,
    `draft`, ...). A step is a mapping with a text `id` in one of the step lists."""
    old_steps, new_steps = dict(_steps(old)), dict(_steps(new))
    text = difflib.unified_diff(
        _yaml(old).splitlines(keepends=True),
        _yaml(new).splitlines(keepends=True),
        fromfile=f"{old.get('id')}@{old_name}",
        tofile=f"{new.get('id')}@{new_name}",
    )
    return Diff(
        from_=old_name,
        to=new_name,
        steps_added=sorted(new_steps.keys() - old_steps.keys()),
        steps_removed=sorted(old_steps.keys() - new_steps.keys()),
        steps_changed=sorted(
            i for i in old_steps.keys() & new_steps.keys() if old_steps[i] != new_steps[i]
        ),
        diff="".join(text),
    )


def changes(old: Mapping[str, Any], new: Mapping[str, Any], found: Diff) -> list[str]:
    """The diff of two documents in words, one line per change: settings, then steps."""
    keys = old.keys() | new.keys()
    settings = sorted(k for k in keys if k != "steps" and old.get(k) != new.get(k))
    return (
        [f"{key} changed" for key in settings]
        + [f"step {step} added" for step in found.steps_added]
        + [f"step {step} removed" for step in found.steps_removed]
        + [f"step {step} changed" for step in found.steps_changed]
    )


def _yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)


def _steps(value: Any, holds_steps: bool = False) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        if holds_steps and isinstance(value.get("id"), str):
            yield value["id"], value
        for key, item in value.items():
            yield from _steps(item, key in STEP_LISTS)
    elif isinstance(value, list):
        for item in value:
            yield from _steps(item, holds_steps)
