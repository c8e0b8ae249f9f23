"""The contract's rules that a single model cannot check alone: references between steps,
triggers and audiences, condition paths and template variables."""

from __future__ import annotations

from collections.abc import Generator, Iterator

from journeys.catalog import BUILT_IN, Trigger, TriggerCatalog
from journeys.definitions.conditions import Condition, Scope, comparisons
from journeys.definitions.journeys import (
    EmailStep,
    JourneyDefinition,
    PushStep,
    SmsStep,
    StepBase,
    WaitForStep,
    channel_of,
)
from journeys.definitions.triggers import TriggerDefinition
from journeys.problems import Problem
from journeys.templating import template_problems


def validate_trigger(definition: TriggerDefinition) -> list[Problem]:
    if definition.name in BUILT_IN:
        return [Problem(path="name", message=f"{definition.name} is a built-in trigger")]
    return []


def validate_journey(journey: JourneyDefinition, catalog: TriggerCatalog) -> list[Problem]:
    return list(_JourneyChecks(journey, catalog).run())


class _JourneyChecks:
    def __init__(self, journey: JourneyDefinition, catalog: TriggerCatalog) -> None:
        self.journey = journey
        self.catalog = catalog
        self.start = catalog.get(journey.start.trigger)

    def run(self) -> Iterator[Problem]:
        yield from self._start()
        for index, spec in enumerate(self.journey.exit):
            path = f"exit[{index}]"
            trigger = yield from self._trigger(spec.trigger, f"{path}.trigger", role="an exit")
            if spec.when is not None:
                yield from self._condition(spec.when, f"{path}.when", {Scope.EVENT: trigger})
        yield from self._steps()

    def _start(self) -> Iterator[Problem]:
        spec = self.journey.start
        yield from self._trigger(spec.trigger, "start.trigger", role="a start")
        if spec.when is not None:
            yield from self._condition(spec.when, "start.when", {Scope.CONTACT: None})

    def _trigger(
        self, name: str, path: str, role: str | None
    ) -> Generator[Problem, None, Trigger | None]:
        """Check a trigger reference; return the trigger (generator return value) if it exists."""
        trigger = self.catalog.get(name)
        if trigger is None:
            yield Problem(path=path, message=f"unknown trigger {name!r}")
            return None
        if role is not None and trigger.interaction:
            yield Problem(
                path=path,
                message=f"{name} is an interaction trigger: it can continue a journey "
                f"(wait_for), not be {role} trigger",
            )
        if trigger.audience is not None and trigger.audience != self.journey.audience:
            yield Problem(
                path=path,
                message=f"{name} is about a {trigger.audience}, "
                f"but this journey's audience is {self.journey.audience}",
            )
        return trigger

    def _steps(self) -> Iterator[Problem]:
        seen: dict[str, str] = {}
        earlier: dict[str, StepBase] = {}
        for path, step in self.journey.walk():
            if step.id in seen:
                yield Problem(
                    path=f"{path}.id",
                    message=f"step id {step.id!r} is already used at {seen[step.id]}",
                )
            seen.setdefault(step.id, path)
            yield from self._templates(step, path)
            if isinstance(step, WaitForStep):
                yield from self._wait_for(step, path, earlier)
            earlier.setdefault(step.id, step)

    def _wait_for(
        self, step: WaitForStep, path: str, earlier: dict[str, StepBase]
    ) -> Iterator[Problem]:
        spec = step.wait_for
        trigger = yield from self._trigger(spec.trigger, f"{path}.wait_for.trigger", role=None)
        if spec.when is not None:
            yield from self._condition(
                spec.when, f"{path}.wait_for.when", {Scope.EVENT: trigger, Scope.CONTACT: None}
            )
        if trigger is None:
            return
        of_path = f"{path}.wait_for.of"
        if not trigger.interaction:
            if spec.of is not None:
                yield Problem(path=of_path, message="'of' applies to interaction triggers only")
            return
        if spec.of is None:
            yield Problem(
                path=of_path,
                message=f"required: {trigger.name} answers a message; name the {trigger.channel} "
                "step it answers",
            )
            return
        target = earlier.get(spec.of)
        if target is None:
            later = any(s.id == spec.of for _, s in self.journey.walk())
            yield Problem(
                path=of_path,
                message=f"step {spec.of!r} comes later in the journey"
                if later
                else f"no step {spec.of!r} in this journey",
            )
        elif channel_of(target) != trigger.channel:
            actual = _CHANNEL_STEP.get(str(channel_of(target)), "not a message step")
            yield Problem(
                path=of_path,
                message=f"{trigger.name} answers {_CHANNEL_STEP[str(trigger.channel)]}, "
                f"but {spec.of!r} is {actual}",
            )

    def _condition(
        self, condition: Condition, path: str, scopes: dict[Scope, Trigger | None]
    ) -> Iterator[Problem]:
        """Check paths: allowed scopes here, and attributes the trigger in scope declares."""
        scopes = {Scope.TRIGGER: self.start, Scope.JOURNEY: None, **scopes}
        for inner, comparison in comparisons(condition):
            where = f"{path}.{inner}.attr" if inner else f"{path}.attr"
            if comparison.scope not in scopes:
                allowed = ", ".join(f"{scope}.*" for scope in scopes)
                yield Problem(path=where, message=f"not available here (use {allowed})")
                continue
            trigger = scopes[comparison.scope]
            if comparison.scope in (Scope.TRIGGER, Scope.EVENT) and trigger is not None:
                name = comparison.attr.split(".")[1]
                if not trigger.knows_attribute(name):
                    yield Problem(path=where, message=f"{trigger.name} has no attribute {name!r}")

    def _templates(self, step: StepBase, path: str) -> Iterator[Problem]:
        fields: dict[str, str | None] = {}
        match step:
            case EmailStep(email=message):
                fields = {"subject": message.subject, "html": message.html, "text": message.text}
            case SmsStep(sms=message):
                fields = {"text": message.text}
            case PushStep(push=message):
                fields = {"title": message.title, "body": message.body}
        kind = type(step).__name__.removesuffix("Step").lower()
        for name, source in fields.items():
            if source is None:
                continue
            for problem in template_problems(source):
                yield Problem(path=f"{path}.{kind}.{name}", message=problem)


_CHANNEL_STEP = {"email": "an email step", "sms": "an SMS step", "push": "a push step"}
