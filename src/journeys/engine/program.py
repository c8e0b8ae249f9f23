"""A journey definition compiled for the interpreter: every step with where to go next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

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
    )
