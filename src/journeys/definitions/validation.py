"""The contract's rules that a single model cannot check alone: references between steps,
triggers and audiences, condition paths, template variables, reachability and loops."""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Any

from journeys.definitions.catalog import (
    BUILT_IN,
    Trigger,
    TriggerCatalog,
    TriggerKind,
    check_attributes,
)
from journeys.definitions.conditions import AttributeFrom, Condition, Scope, comparisons
from journeys.definitions.journeys import (
    MAX_CONDITION_DEPTH,
    MAX_DEFINITION_BYTES,
    MAX_NESTING,
    MAX_STEPS,
    MAX_WAIT,
    RESERVED_WEBHOOK_HEADERS,
    ActivateStep,
    Awaited,
    BranchStep,
    EmailStep,
    ExitStep,
    JourneyDefinition,
    PushStep,
    SmsStep,
    StepBase,
    WaitForStep,
    WaitStep,
    WaitUntil,
    WebhookStep,
    blocks,
    channel_of,
    kind_of,
)
from journeys.definitions.templating import MESSAGE_ROOTS, WEBHOOK_ROOTS, template_problems
from journeys.definitions.triggers import AttributeType, TriggerDefinition, TriggerStatus
from journeys.kit.problems import Problem
from journeys.kit.suggest import closest, did_you_mean

Scopes = dict[Scope, Trigger | None]  # the scopes a condition may read; a trigger to check names

_NESTED_LIST = re.compile(r"\.(?:then|else|otherwise|(?:branch|split)\[\d+\]\.steps)\[")


def validate_trigger(definition: TriggerDefinition) -> list[Problem]:
    if definition.name in BUILT_IN:
        return [Problem(path="name", message=f"{definition.name} is a built-in trigger")]
    return []


def validate_journey(journey: JourneyDefinition, catalog: TriggerCatalog) -> list[Problem]:
    return list(_JourneyChecks(journey, catalog).run())


def unready_triggers(journey: JourneyDefinition, catalog: TriggerCatalog) -> list[Problem]:
    """The triggers a journey needs that take no events (draft or stopped): publishing it
    would start nothing, or leave its runs unable to go on or to exit."""
    uses = [("start.trigger", journey.start.trigger)]
    uses += [(f"exit[{i}].trigger", spec.trigger) for i, spec in enumerate(journey.exit)]
    if journey.goal is not None:
        uses.append(("goal.trigger", journey.goal.trigger))
    for path, step in journey.walk():
        match step:
            case WaitForStep(wait_for=spec):
                single = spec.any is None
                for i, awaited in enumerate(spec.awaited):
                    where = f"{path}.wait_for" if single else f"{path}.wait_for.any[{i}]"
                    uses.append((f"{where}.trigger", awaited.trigger))
            case ActivateStep(activate=activation):
                uses.append((f"{path}.activate.trigger", activation.trigger))
    problems = []
    for path, name in uses:
        trigger = catalog.get(name)
        if trigger is not None and trigger.status is not TriggerStatus.READY:
            problems.append(
                Problem(
                    path=path,
                    message=f"trigger {name} is {trigger.status}: make it ready before "
                    "publishing a journey that uses it",
                )
            )
    return problems


class _JourneyChecks:
    def __init__(self, journey: JourneyDefinition, catalog: TriggerCatalog) -> None:
        self.journey = journey
        self.catalog = catalog
        self.start = catalog.get(journey.start.trigger)

    def run(self) -> Iterator[Problem]:
        yield from self._size()
        yield from self._start()
        for index, spec in enumerate(self.journey.exit):
            path = f"exit[{index}]"
            trigger = yield from self._trigger(spec.trigger, f"{path}.trigger", role="an exit")
            if spec.when is not None:
                yield from self._condition(spec.when, f"{path}.when", {Scope.EVENT: trigger})
        if self.journey.goal is not None:
            goal = self.journey.goal
            trigger = yield from self._trigger(goal.trigger, "goal.trigger", role="a goal")
            if goal.when is not None:
                yield from self._condition(goal.when, "goal.when", {Scope.EVENT: trigger})
                for inner, comparison in comparisons(goal.when):
                    where = f"goal.when.{inner}" if inner else "goal.when"
                    if comparison.scope is not Scope.EVENT:
                        yield Problem(
                            path=f"{where}.attr",
                            message="a goal is judged on its own event, also after the run "
                            "ended: use event.*",
                        )

        yield from self._steps()
        yield from self._unreachable(self.journey.steps, "steps")

    def _size(self) -> Iterator[Problem]:
        """The bounds every publishable journey stays within (see MAX_STEPS and others)."""
        steps = [path for path, _ in self.journey.walk()]
        if len(steps) > MAX_STEPS:
            yield Problem(
                path="steps", message=f"{len(steps)} steps; a journey has at most {MAX_STEPS}"
            )
        too_deep = ""
        for path in steps:
            if too_deep and path.startswith(too_deep):
                continue  # the steps inside one that is too deep already
            if len(_NESTED_LIST.findall(path)) > MAX_NESTING:
                too_deep = path
                yield Problem(
                    path=path,
                    message=f"steps nested more than {MAX_NESTING} deep (then, else, branch "
                    "and split arms inside one another)",
                )
        # A text may hold a lone surrogate (JSON's "\ud800" parses to one): it is counted,
        # as pydantic's JSON modes would refuse it (in a key, say).
        document = json.dumps(
            self.journey.model_dump(by_alias=True), ensure_ascii=False, default=str
        )
        size = len(document.encode("utf-8", "surrogatepass"))
        if size > MAX_DEFINITION_BYTES:
            yield Problem(
                path="",
                message=f"the journey is {size:,} bytes as JSON; at most "
                f"{MAX_DEFINITION_BYTES:,} (a run carries its journey)",
            )

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
            yield Problem(
                path=path, message=f"unknown trigger {name!r}{did_you_mean(name, self.catalog)}"
            )
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

    # -- steps --------------------------------------------------------------------------

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
            match step:
                case WaitForStep():
                    yield from self._wait_for(step, path, earlier)
                case BranchStep():
                    for index, arm in enumerate(step.branch):
                        yield from self._condition(
                            arm.when, f"{path}.branch[{index}].when", _AFTER_ENTRY
                        )
                case ActivateStep():
                    yield from self._activate(step, path)
                case WaitStep(wait=WaitUntil(until=AttributeFrom(from_=date))):
                    yield from self._date(date, f"{path}.wait.until.from")
                case WaitStep(wait=WaitUntil(until=datetime() as moment)):
                    # As for durations: a run waits at most MAX_WAIT from when it is published.
                    if moment - datetime.now(UTC) > MAX_WAIT:
                        yield Problem(
                            path=f"{path}.wait.until",
                            message="at most 365 days from now, as every wait",
                        )
                case WebhookStep(webhook=call):
                    for name in call.headers:
                        if name.lower() in RESERVED_WEBHOOK_HEADERS:
                            yield Problem(
                                path=f"{path}.webhook.headers.{name}",
                                message="set by Journeys or by the connection, not by a step",
                            )
            earlier.setdefault(step.id, step)

    def _wait_for(
        self, step: WaitForStep, path: str, earlier: dict[str, StepBase]
    ) -> Iterator[Problem]:
        single = step.wait_for.any is None
        for index, awaited in enumerate(step.wait_for.awaited):
            where = f"{path}.wait_for" if single else f"{path}.wait_for.any[{index}]"
            yield from self._awaited(awaited, where, earlier)

    def _awaited(
        self, awaited: Awaited, path: str, earlier: dict[str, StepBase]
    ) -> Iterator[Problem]:
        trigger = yield from self._trigger(awaited.trigger, f"{path}.trigger", role=None)
        if awaited.when is not None:
            scopes: Scopes = {**_AFTER_ENTRY, Scope.EVENT: trigger}
            yield from self._condition(awaited.when, f"{path}.when", scopes)
        of_path = f"{path}.of"
        target = earlier.get(awaited.of) if awaited.of is not None else None
        if awaited.of is not None and target is None and (trigger is None or trigger.interaction):
            ids = [s.id for _, s in self.journey.walk()]
            yield Problem(
                path=of_path,
                message=f"step {awaited.of!r} comes later in the journey"
                if awaited.of in ids
                else f"no step {awaited.of!r} in this journey{did_you_mean(awaited.of, ids)}",
            )
        if trigger is None:
            return
        if not trigger.interaction:
            if awaited.of is not None:
                yield Problem(path=of_path, message="'of' applies to interaction triggers only")
            return
        if awaited.of is None:
            yield Problem(
                path=of_path,
                message=f"required: {trigger.name} answers a message; name the {trigger.channel} "
                "step it answers",
            )
        elif target is not None and channel_of(target) != trigger.channel:
            actual = _CHANNEL_STEP.get(str(channel_of(target)), "not a message step")
            yield Problem(
                path=of_path,
                message=f"{trigger.name} answers {_CHANNEL_STEP[str(trigger.channel)]}, "
                f"but {awaited.of!r} is {actual}",
            )

    def _activate(self, step: ActivateStep, path: str) -> Iterator[Problem]:
        activation = step.activate
        trigger_path = f"{path}.activate.trigger"
        trigger = yield from self._trigger(activation.trigger, trigger_path, role="an activated")
        if trigger is not None and trigger.kind is not TriggerKind.CUSTOM:
            yield Problem(
                path=trigger_path,
                message=f"{trigger.name} is not a custom trigger: only custom "
                "triggers can be activated",
            )
        if activation.trigger == self.journey.start.trigger:
            yield Problem(
                path=trigger_path,
                message=f"{activation.trigger} starts this journey: activating it here would loop",
            )
        literal: dict[str, Any] = {}
        for name, value in activation.attributes.items():
            if isinstance(value, AttributeFrom):
                yield from self._path(
                    value.from_, f"{path}.activate.attributes.{name}.from", _AFTER_ENTRY
                )
            else:
                literal[name] = value
        if trigger is None:
            return
        given = set(activation.attributes)
        _, problems = check_attributes(trigger, literal, path=f"{path}.activate.attributes")
        for problem in problems:
            if problem.message == "required" and problem.path.rsplit(".", 1)[1] in given:
                continue  # it comes from the run ({from: ...}), checked when it fires
            yield problem
        for name in sorted(given - literal.keys()):
            if not trigger.knows_attribute(name):
                yield Problem(
                    path=f"{path}.activate.attributes.{name}",
                    message=f"unknown attribute of {trigger.name}",
                )

    def _date(self, date: str, where: str) -> Iterator[Problem]:
        """A date of the run to wait for: a path available here that may hold a date-time."""
        yield from self._path(date, where, _AFTER_ENTRY)
        root, name = date.split(".")[:2]
        start = self.start
        spec = start.attribute(name) if start is not None and root == Scope.TRIGGER else None
        if start is not None and spec is not None and spec.type is not AttributeType.DATETIME:
            yield Problem(
                path=where, message=f"{name} of {start.name} is {spec.type}, not a datetime"
            )

    def _unreachable(self, steps: list[Any], path: str) -> Iterator[Problem]:
        """Steps after an exit step in the same list can never run."""
        for index, step in enumerate(steps):
            for below, block in blocks(step):
                yield from self._unreachable(block, f"{path}[{index}].{below}")
            if isinstance(step, ExitStep) and index + 1 < len(steps):
                yield Problem(
                    path=f"{path}[{index + 1}]",
                    message=f"unreachable: the exit step {step.id!r} before it ends the run",
                )
                return

    # -- conditions and templates -------------------------------------------------------

    def _condition(self, condition: Condition, path: str, scopes: Scopes) -> Iterator[Problem]:
        for inner, comparison in comparisons(condition):
            where = f"{path}.{inner}" if inner else path
            if inner and inner.count(".") + 1 > MAX_CONDITION_DEPTH:
                yield Problem(
                    path=where,
                    message=f"conditions nested more than {MAX_CONDITION_DEPTH} deep "
                    "(all, any and not inside one another)",
                )
                return
            yield from self._path(comparison.attr, f"{where}.attr", scopes)
            if isinstance(comparison.value, AttributeFrom):
                yield from self._path(comparison.value.from_, f"{where}.value.from", scopes)

    def _path(self, attr: str, where: str, scopes: Scopes) -> Iterator[Problem]:
        """Check a path: a scope available here, an attribute the trigger in scope declares."""
        scopes = {Scope.TRIGGER: self.start, Scope.JOURNEY: None, **scopes}
        root, name = attr.split(".")[:2]
        scope = Scope(root)
        if scope not in scopes:
            allowed = ", ".join(f"{s}.*" for s in scopes)
            yield Problem(path=where, message=f"not available here (use {allowed})")
            return
        trigger = scopes[scope] if scope in (Scope.TRIGGER, Scope.EVENT) else None
        if trigger is not None and not trigger.knows_attribute(name):
            # Names alone: the path's shared root would make any two paths look alike.
            match = closest(name, [attribute.name for attribute in trigger.attributes])
            suggestion = f"; did you mean '{root}.{match}'?" if match else ""
            yield Problem(
                path=where, message=f"{trigger.name} has no attribute {name!r}{suggestion}"
            )

    def _templates(self, step: StepBase, path: str) -> Iterator[Problem]:
        fields: dict[str, Any] = {}
        roots = MESSAGE_ROOTS
        match step:
            case EmailStep(email=message):
                fields = {"subject": message.subject, "html": message.html, "text": message.text}
            case SmsStep(sms=message):
                fields = {"text": message.text}
            case PushStep(push=message):
                fields = {"title": message.title, "body": message.body}
            case WebhookStep(webhook=call):
                fields = {"body": call.body}
                roots = WEBHOOK_ROOTS
        kind = kind_of(step)
        for name, source in fields.items():
            for where, text in _texts(source, f"{path}.{kind}.{name}"):
                for problem in template_problems(text, roots):
                    yield Problem(path=where, message=problem)


# After entry a condition may read the contact, the last awaited event and webhook response.
_AFTER_ENTRY: Scopes = {Scope.CONTACT: None, Scope.EVENT: None, Scope.RESPONSE: None}

_CHANNEL_STEP = {"email": "an email step", "sms": "an SMS step", "push": "a push step"}


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every text inside a template field (a webhook body is JSON with texts inside)."""
    match value:
        case str():
            yield path, value
        case dict():
            for key, item in value.items():
                yield from _texts(item, f"{path}.{key}")
        case list():
            for index, item in enumerate(value):
                yield from _texts(item, f"{path}[{index}]")
