"""What changed between two versions of a journey: its steps, and the text."""

from __future__ import annotations

import difflib

import yaml
from pydantic import BaseModel, ConfigDict, Field

from journeys.definitions.documents import to_document
from journeys.definitions.journeys import JourneyDefinition


class Diff(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    steps_added: list[str]
    steps_removed: list[str]
    steps_changed: list[str]
    diff: str = Field(description="A unified diff of the two definitions, as YAML.")


def diff(old: JourneyDefinition, new: JourneyDefinition, old_name: str, new_name: str) -> Diff:
    """`old_name` and `new_name` say which versions these are (`3`, `draft`, ...)."""
    old_steps = {s.id: s for _, s in old.walk()}
    new_steps = {s.id: s for _, s in new.walk()}
    text = difflib.unified_diff(
        as_yaml(old).splitlines(keepends=True),
        as_yaml(new).splitlines(keepends=True),
        fromfile=f"{old.id}@{old_name}",
        tofile=f"{new.id}@{new_name}",
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


def as_yaml(definition: JourneyDefinition) -> str:
    return yaml.safe_dump(to_document(definition), sort_keys=False, allow_unicode=True)
