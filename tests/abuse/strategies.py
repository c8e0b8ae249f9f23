"""Hypothesis strategies: journeys valid by construction, events for them, and JSON-ish junk.

`journeys()` draws documents (plain JSON data, as authors write them) that the validator
must accept against `CATALOG`: every step kind, nested blocks, conditions on every scope a
place allows, interaction waits that name an earlier message step of their channel,
activations with the attributes their trigger requires. Anything it draws that the
validator refuses is a bug in one of the two, and the tests say which.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from journeys.definitions.catalog import Trigger, TriggerCatalog, TriggerKind
from journeys.definitions.common import Audience, Channel
from journeys.definitions.conditions import Operator, Scope
from journeys.definitions.documents import load_bundle
from journeys.definitions.triggers import AttributeType

WORKFLOWS = Path(__file__).parents[2] / "workflows"
CATALOG = TriggerCatalog(load_bundle([WORKFLOWS]).triggers)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# -- JSON-ish values ------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Anything a YAML or JSON parser may hand over, including what JSON cannot say.
hostile_scalars = st.one_of(
    scalars,
    st.floats(),
    st.integers(),
    st.datetimes(),
    st.binary(max_size=8),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), children, max_size=4),
    ),
    max_leaves=20,
)

# -- pieces ---------------------------------------------------------------------------

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "timezone", "vip", "points")
JOURNEY_FIELDS = ("id", "name", "version")
names = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
durations = st.one_of(
    st.integers(1, 59).map(lambda n: f"PT{n}M"),
    st.integers(1, 48).map(lambda n: f"PT{n}H"),
    st.integers(1, 365).map(lambda n: f"P{n}D"),
    st.integers(1, 52).map(lambda n: f"P{n}W"),
)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
# A fixed moment to wait until is at most 365 days ahead when published (any past one is fine).
wait_moments = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime.now() + timedelta(days=360),
    timezones=st.just(UTC),
).map(lambda moment: moment.isoformat())
clock_times = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(
    lambda t: f"{t[0]:02}:{t[1]:02}"
)
weekdays = st.lists(
    st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    min_size=1,
    max_size=7,
    unique=True,
)
comparable = st.one_of(
    st.integers(-1000, 1000),
    st.floats(-1000, 1000, allow_nan=False),
    st.text(max_size=8),
    st.booleans(),
    moments,
)
plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="{}%#"), min_size=1, max_size=20
)


def value_of(kind: AttributeType) -> st.SearchStrategy[Any]:
    """A value an attribute of this type accepts."""
    match kind:
        case AttributeType.NUMBER:
            return st.one_of(st.integers(-1000, 1000), st.floats(-1000, 1000, allow_nan=False))
        case AttributeType.BOOLEAN:
            return st.booleans()
        case AttributeType.DATETIME:
            return moments
    return st.text(max_size=10)


def attributes_for(trigger: Trigger) -> st.SearchStrategy[dict[str, Any]]:
    """Attributes an event of this trigger is accepted with (all required ones given)."""
    required = {a.name: value_of(a.type) for a in trigger.attributes if a.required}
    optional = {a.name: value_of(a.type) for a in trigger.attributes if not a.required}
    return st.fixed_dictionaries(required, optional=optional)


# -- journeys -------------------------------------------------------------------------


@dataclass
class _Journey:
    """What the drawing of one journey has decided so far."""

    draw: Callable[[st.SearchStrategy[Any]], Any]
    audience: Audience
    start: Trigger
    ids: itertools.count[int] = field(default_factory=itertools.count)
    messages: dict[Channel, list[str]] = field(default_factory=dict)  # earlier, by channel

    def step_id(self) -> str:
        return f"s{next(self.ids)}"

    def triggers(self, predicate: Callable[[Trigger], bool]) -> list[Trigger]:
        return [
            trigger
            for trigger in CATALOG.values()
            if predicate(trigger) and trigger.audience in (None, self.audience)
        ]

    # -- conditions

    def path(self, scopes: dict[Scope, Trigger | None]) -> str | None:
        """`scope.name` for one of the scopes, naming an attribute its trigger knows."""
        choices = []
        for scope, trigger in scopes.items():
            if scope is Scope.CONTACT:
                choices.append(st.sampled_from(CONTACT_FIELDS).map(lambda n: f"contact.{n}"))
            elif scope is Scope.JOURNEY:
                choices.append(st.sampled_from(JOURNEY_FIELDS).map(lambda n: f"journey.{n}"))
            elif trigger is None or trigger.open_attributes:
                choices.append(names.map(lambda n, s=scope: f"{s}.{n}"))
            elif trigger.attributes:
                declared = [a.name for a in trigger.attributes]
                choices.append(st.sampled_from(declared).map(lambda n, s=scope: f"{s}.{n}"))
        return self.draw(st.one_of(choices)) if choices else None

    def condition(self, scopes: dict[Scope, Trigger | None], depth: int = 0) -> Any:
        kind = self.draw(
            st.sampled_from(["comparison"] * 3 + (["all", "any", "not"] * (depth < 2)))
        )
        if kind == "not":
            inner = self.condition(scopes, depth + 1)
            return None if inner is None else {"not": inner}
        if kind in ("all", "any"):
            items = [self.condition(scopes, depth + 1) for _ in range(self.draw(st.integers(1, 3)))]
            items = [item for item in items if item is not None]
            return {kind: items} if items else None
        attr = self.path(scopes)
        if attr is None:
            return None
        op = self.draw(st.sampled_from(list(Operator)))
        if op in (Operator.IN, Operator.NOT_IN):
            value: Any = self.draw(st.lists(comparable, max_size=4))
        elif op is Operator.EXISTS:
            value = self.draw(st.sampled_from([None, True, False]))
        else:
            value = self.draw(comparable)
        return {"attr": attr, "op": op.value, "value": value}

    def maybe_condition(self, scopes: dict[Scope, Trigger | None]) -> dict[str, Any]:
        if not self.draw(st.booleans()):
            return {}
        condition = self.condition(scopes)
        return {} if condition is None else {"when": condition}

    def scopes(self, **more: Trigger | None) -> dict[Scope, Trigger | None]:
        """The start trigger and the journey are always in scope."""
        return {
            Scope.TRIGGER: self.start,
            Scope.JOURNEY: None,
            **{Scope(k): v for k, v in more.items()},
        }

    # -- templates

    def template(self, roots: tuple[str, ...] = ("contact", "trigger", "journey")) -> str:
        pieces = [
            plain_text,
            st.sampled_from(CONTACT_FIELDS).map(lambda n: f"{{{{ contact.{n} }}}}"),
            st.sampled_from(JOURNEY_FIELDS).map(lambda n: f"{{{{ journey.{n} }}}}"),
            st.just("{{ contact.first_name | default('there') }}"),
            st.just("{% if contact.vip %}VIP {% endif %}"),
        ]
        if self.start.attributes:
            declared = [a.name for a in self.start.attributes]
            pieces.append(st.sampled_from(declared).map(lambda n: f"{{{{ trigger.{n} }}}}"))
        if "event" in roots:
            pieces.append(names.map(lambda n: f"{{{{ event.{n} }}}}"))
            pieces.append(names.map(lambda n: f"{{{{ response.{n} }}}}"))
        return "".join(self.draw(st.lists(st.one_of(pieces), min_size=1, max_size=4)))

    # -- steps

    def steps(self, depth: int, minimum: int = 0) -> list[dict[str, Any]]:
        count = self.draw(st.integers(minimum, 4 if depth == 0 else 2))
        steps = []
        for index in range(count):
            last = index == count - 1
            kinds = ["email", "sms", "push", "wait", "activate", "webhook"]
            if depth < 2:
                kinds += ["wait_for", "branch", "split"]
            if last:
                kinds.append("exit")  # anything after an exit step could never run
            steps.append(getattr(self, f"_{self.draw(st.sampled_from(kinds))}")(depth))
        return steps

    def _message(self, channel: Channel, body: dict[str, Any]) -> dict[str, Any]:
        step: dict[str, Any] = {"id": self.step_id(), channel.value: body}
        if self.draw(st.booleans()):
            step["purpose"] = self.draw(st.sampled_from(["commercial", "transactional"]))
        if self.draw(st.booleans()):
            step["expires_after"] = self.draw(durations)
        self.messages.setdefault(channel, []).append(step["id"])
        return step

    def _email(self, depth: int) -> dict[str, Any]:
        body = {"subject": self.template()}
        bodies = self.draw(st.sampled_from([("html",), ("text",), ("html", "text")]))
        for name in bodies:
            body[name] = self.template() + (
                '<a href="https://shop.example.com/x">x</a>' if name == "html" else ""
            )
        return self._message(Channel.EMAIL, body)

    def _sms(self, depth: int) -> dict[str, Any]:
        return self._message(Channel.SMS, {"text": self.template()})

    def _push(self, depth: int) -> dict[str, Any]:
        body = {"title": self.template(), "body": self.template()}
        if self.draw(st.booleans()):
            body["data"] = {"screen": self.template()}
        return self._message(Channel.PUSH, body)

    def _wait(self, depth: int) -> dict[str, Any]:
        wait = self.draw(
            st.one_of(
                durations,
                wait_moments.map(lambda moment: {"until": moment}),
                st.builds(lambda t, d: {"until_time": t, "days": d}, clock_times, weekdays),
            )
        )
        return {"id": self.step_id(), "wait": wait}

    def _awaited(self) -> dict[str, Any]:
        answerable = [c for c, ids in self.messages.items() if ids]
        interactions = self.triggers(lambda t: t.interaction and t.channel in answerable)
        others = self.triggers(lambda t: not t.interaction)
        trigger = self.draw(st.sampled_from(interactions + others))
        awaited: dict[str, Any] = {"trigger": trigger.name}
        if trigger.interaction:
            assert trigger.channel is not None
            awaited["of"] = self.draw(st.sampled_from(self.messages[trigger.channel]))
        scopes = self.scopes(contact=None, event=trigger, response=None)
        return awaited | self.maybe_condition(scopes)

    def _wait_for(self, depth: int) -> dict[str, Any]:
        step_id = self.step_id()
        within = self.draw(durations)
        if self.draw(st.booleans()):
            wait_for = {**self._awaited(), "within": within}
        else:
            count = self.draw(st.integers(1, 3))
            wait_for = {"any": [self._awaited() for _ in range(count)], "within": within}
        step: dict[str, Any] = {"id": step_id, "wait_for": wait_for}
        for block in ("then", "else"):
            if self.draw(st.booleans()):
                step[block] = self.steps(depth + 1)
        return step

    def _branch(self, depth: int) -> dict[str, Any]:
        step_id = self.step_id()
        scopes = self.scopes(contact=None, event=None, response=None)
        arms = []
        for _ in range(self.draw(st.integers(1, 3))):
            condition = self.condition(scopes) or {"attr": "contact.vip", "op": "exists"}
            arm: dict[str, Any] = {"when": condition, "steps": self.steps(depth + 1)}
            if self.draw(st.booleans()):
                arm["name"] = self.draw(plain_text)
            arms.append(arm)
        step = {"id": step_id, "branch": arms}
        if self.draw(st.booleans()):
            step["otherwise"] = self.steps(depth + 1)
        return step

    def _split(self, depth: int) -> dict[str, Any]:
        step_id = self.step_id()
        cuts = sorted(self.draw(st.sets(st.integers(1, 99), min_size=1, max_size=3)))
        bounds = [0, *cuts, 100]
        arms = [
            {"name": f"arm{i}", "percent": high - low, "steps": self.steps(depth + 1)}
            for i, (low, high) in enumerate(itertools.pairwise(bounds))
        ]
        return {"id": step_id, "split": arms}

    def _activate(self, depth: int) -> dict[str, Any]:
        targets = self.triggers(lambda t: t.kind is TriggerKind.CUSTOM and t != self.start)
        if not targets:  # a lead journey has no custom trigger to fire
            return {"id": self.step_id(), "wait": "PT1H"}
        trigger = self.draw(st.sampled_from(targets))
        attributes: dict[str, Any] = {}
        for spec in trigger.attributes:
            if not spec.required and self.draw(st.booleans()):
                continue
            path = self.path(self.scopes(contact=None, event=None, response=None))
            if path is not None and self.draw(st.booleans()):
                attributes[spec.name] = {"from": path}
            else:
                attributes[spec.name] = self.draw(value_of(spec.type))
        return {
            "id": self.step_id(),
            "activate": {"trigger": trigger.name, "attributes": attributes},
        }

    def _webhook(self, depth: int) -> dict[str, Any]:
        call: dict[str, Any] = {"url": "http://127.0.0.1:9/hook"}
        if self.draw(st.booleans()):
            roots = ("contact", "trigger", "journey", "event", "response")
            call["body"] = {"text": self.template(roots), "list": [self.template(roots), 1, None]}
        if self.draw(st.booleans()):
            call["retries"] = self.draw(st.integers(0, 10))
            call["timeout"] = self.draw(st.sampled_from(["PT1S", "PT10S", "PT1M"]))
        return {"id": self.step_id(), "webhook": call}

    def _exit(self, depth: int) -> dict[str, Any]:
        step: dict[str, Any] = {"id": self.step_id(), "exit": None}
        if self.draw(st.booleans()):
            step["exit"] = self.draw(plain_text)
        return step


@st.composite
def journeys(draw: st.DrawFn) -> dict[str, Any]:
    """A journey document the validator must accept against CATALOG."""
    audience = draw(st.sampled_from([Audience.CONTACT] * 4 + [Audience.LEAD]))
    starts = [t for t in CATALOG.values() if not t.interaction and t.audience == audience]
    j = _Journey(draw, audience, draw(st.sampled_from(starts)))
    document: dict[str, Any] = {
        "kind": "Journey",
        "id": "fuzz",
        "name": draw(plain_text),
        "audience": audience.value,
        "timezone": draw(
            st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
        ),
        "start": {"trigger": j.start.name}
        | j.maybe_condition(j.scopes(contact=None))
        | ({"per": "binding"} if draw(st.booleans()) else {}),
        "reentry": draw(st.sampled_from(["never", "always", {"after": "P1D"}])),
        "frequency_caps": draw(st.booleans()),
    }
    enders = j.triggers(lambda t: not t.interaction)
    exits = draw(st.lists(st.sampled_from(enders), max_size=2))
    document["exit"] = [{"trigger": t.name} | j.maybe_condition({Scope.EVENT: t}) for t in exits]
    if draw(st.booleans()):
        goal = draw(st.sampled_from(enders))
        document["goal"] = {"trigger": goal.name, "within": draw(durations)} | j.maybe_condition(
            {Scope.EVENT: goal}
        )
    if draw(st.booleans()):
        limit = {"count": draw(st.integers(1, 5)), "per": draw(st.sampled_from(["hour", "day"]))}
        document["entry"] = {"rate_limit": limit}
    document["steps"] = j.steps(depth=0, minimum=1)
    return document


# -- events ---------------------------------------------------------------------------


def event_attributes(trigger: Trigger, step_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Attributes of an event: fitting its trigger, or not, with extra names now and then."""
    fitting = attributes_for(trigger)
    if trigger.interaction and step_ids:
        fitting = st.builds(
            lambda values, step: {**values, "step": step, "message_id": "m1"},
            fitting,
            st.sampled_from(step_ids),
        )
    loose = st.dictionaries(names, comparable, max_size=3)
    return st.one_of(fitting, st.builds(lambda a, b: {**b, **a}, fitting, loose), loose)
