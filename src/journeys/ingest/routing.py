"""The routing index: for a trigger, which live journeys start on it and which listen to it.

Built from the published journeys and rebuilt when they change, so routing an event
costs no store round trip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from journeys.definitions.journeys import JourneyDefinition, WaitForStep
from journeys.store.journeys import LiveJourney


class Role(StrEnum):
    START = "start"
    CONTINUE = "continue"
    EXIT = "exit"
    GOAL = "goal"


@dataclass(frozen=True)
class Routes:
    start: tuple[LiveJourney, ...] = ()
    # Journeys whose running runs listen to the trigger (continue, exit, goal), whether or
    # not it also starts them: their runs get a signal.
    signal: tuple[LiveJourney, ...] = ()
    # Journeys whose goal is this trigger: ended runs within the attribution window count it.
    goals: tuple[LiveJourney, ...] = ()


def roles_of(definition: JourneyDefinition) -> dict[str, set[Role]]:
    """Each trigger the journey uses, and how."""
    roles: dict[str, set[Role]] = defaultdict(set)
    roles[definition.start.trigger].add(Role.START)
    for spec in definition.exit:
        roles[spec.trigger].add(Role.EXIT)
    for _, step in definition.walk():
        if isinstance(step, WaitForStep):
            for awaited in step.wait_for.awaited:
                roles[awaited.trigger].add(Role.CONTINUE)
    if definition.goal is not None:
        roles[definition.goal.trigger].add(Role.GOAL)
    return roles


class RoutingIndex:
    def __init__(self, live: Iterable[LiveJourney] = ()) -> None:
        starts: dict[str, list[LiveJourney]] = defaultdict(list)
        listeners: dict[str, list[LiveJourney]] = defaultdict(list)
        goals: dict[str, list[LiveJourney]] = defaultdict(list)
        self._uses: dict[str, dict[str, set[Role]]] = defaultdict(dict)
        for journey in sorted(live, key=lambda j: j.id):
            for trigger, roles in roles_of(journey.definition).items():
                self._uses[trigger][journey.id] = roles
                if Role.START in roles:
                    starts[trigger].append(journey)
                if roles - {Role.START}:
                    listeners[trigger].append(journey)
                if Role.GOAL in roles:
                    goals[trigger].append(journey)
        self._routes = {
            trigger: Routes(
                tuple(starts.get(trigger, ())),
                tuple(listeners.get(trigger, ())),
                tuple(goals.get(trigger, ())),
            )
            for trigger in {*starts, *listeners}
        }

    def routes(self, trigger: str) -> Routes:
        return self._routes.get(trigger, _NO_ROUTES)

    def uses(self, trigger: str) -> dict[str, set[Role]]:
        """Which live journeys use the trigger, and how."""
        return {journey: set(roles) for journey, roles in self._uses.get(trigger, {}).items()}


_NO_ROUTES = Routes()


def reaches(run_binding: str | None, event_binding: str | None) -> bool:
    """Whether a continue or exit event reaches a run, by their bindings (CIJ's rules): a run
    started without one, or an event without one, always; else the same type and id, or
    another type (the event is about something else of that contact). A bare id is a type
    of its own, so one bare id reaches only the run of the same id."""
    if not run_binding or not event_binding:
        return True
    run_type, _, run_id = run_binding.rpartition("/")
    event_type, _, event_id = event_binding.rpartition("/")
    return run_type != event_type or run_id == event_id
