"""A journey definition compiled for the interpreter: every step with where to go next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from journeys.definitions.conditions import Scope, scopes_of
from journeys.definitions.journeys import (
    ExitSpec,
    JourneyDefinition,
    StepBase,
    WaitForStep,
    blocks,
)


@dataclass(frozen=True)
class Node:
    step: StepBase
    next: str | None  # the step after this one (and after its blocks); None ends the journey
    # The first step of each nested block, in the order `blocks()` gives them (then / else,
    # each branch arm then otherwise, each split arm); an empty block goes straight to `next`.
    entries: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Program:
    journey: JourneyDefinition
    nodes: dict[str, Node]
    first: str | None
    awaited: frozenset[str]  # triggers some wait_for listens to
    exits: dict[str, tuple[ExitSpec, ...]] = field(default_factory=dict)
    longest_window: timedelta = timedelta(0)
    # The contact's fields the run reads (`contact.*` in its conditions and values) and its
    # time zone: all of the contact a run's history needs to hold (erasure cannot reach it).
    contact_fields: frozenset[str] = frozenset({"timezone"})

    @property
    def start_needs_contact(self) -> bool:
        return Scope.CONTACT in scopes_of(self.journey.start.when)

    def __getitem__(self, step_id: str) -> Node:
        return self.nodes[step_id]


def compile_journey(journey: JourneyDefinition) -> Program:
    """Link steps so that the end of every nested block continues after the step that holds
    it: branches rejoin."""
    nodes: dict[str, Node] = {}

    def link(steps: Sequence[StepBase], after: str | None) -> str | None:
        for index, step in enumerate(steps):
            following = steps[index + 1].id if index + 1 < len(steps) else after
            entries = tuple(link(block, following) for _, block in blocks(step))
            nodes[step.id] = Node(step, following, entries)
        return steps[0].id if steps else after

    first = link(journey.steps, None)
    waits = [node.step for node in nodes.values() if isinstance(node.step, WaitForStep)]
    exits: dict[str, tuple[ExitSpec, ...]] = {}
    for spec in journey.exit:
        exits[spec.trigger] = (*exits.get(spec.trigger, ()), spec)
    return Program(
        journey=journey,
        nodes=nodes,
        first=first,
        awaited=frozenset(a.trigger for step in waits for a in step.wait_for.awaited),
        exits=exits,
        longest_window=max((step.wait_for.within for step in waits), default=timedelta(0)),
        contact_fields=_contact_fields(journey),
    )


def _contact_fields(journey: JourneyDefinition) -> frozenset[str]:
    """The first name after `contact.` of every path the journey reads (a condition's `attr`,
    a `from`), wherever it is: conditions and values nest anywhere in a definition."""
    fields = {"timezone"}
    pending: list[Any] = [journey.model_dump(by_alias=True)]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            for key in ("attr", "from"):
                path = value.get(key)
                if isinstance(path, str) and path.startswith(f"{Scope.CONTACT}."):
                    fields.add(path.split(".")[1])
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return frozenset(fields)
