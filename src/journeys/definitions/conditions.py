"""Conditions: attribute comparisons combined with all / any / not. No code is evaluated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from journeys.definitions.common import DefinitionModel, name_unknown_keys
from journeys.kit.problems import TAG_PREFIX
from journeys.kit.suggest import closest


class Scope(StrEnum):
    """Where a condition's path looks for its value."""

    CONTACT = "contact"
    TRIGGER = "trigger"  # the start trigger's attributes
    EVENT = "event"  # the event at hand: the awaited one, or the exit trigger
    RESPONSE = "response"  # the JSON answer of the last webhook step
    JOURNEY = "journey"


_PATH = re.compile("(" + "|".join(Scope) + r")(\.[A-Za-z_][A-Za-z0-9_]*)+")


def _attr_path(value: str) -> str:
    if not _PATH.fullmatch(value):
        root, dot, rest = value.partition(".")
        # The root alone: the rest, shared by every candidate, would make any root look close.
        scope = closest(root, list(Scope)) if dot and root not in set(Scope) else None
        raise ValueError(
            f"{value!r} is not a path such as contact.first_name, trigger.total or event.text"
            + (f"; did you mean '{scope}.{rest}'?" if scope else "")
        )
    return value


AttrPath = Annotated[str, AfterValidator(_attr_path)]


class AttributeFrom(DefinitionModel):
    """A value of the run: `{from: contact.email}`, `{from: trigger.order_id}`."""

    from_: AttrPath = Field(
        alias="from", description="A path such as `contact.email` or `trigger.order_id`."
    )


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    EXISTS = "exists"


class Comparison(DefinitionModel):
    attr: AttrPath = Field(
        description="A path: `contact.*`, `trigger.*`, `event.*`, `response.*` or `journey.*`."
    )
    op: Operator = Field(description="How to compare.")
    value: Any = Field(
        default=None,
        description="What to compare with (a list for in / not_in; true or false for exists), "
        "or `{from: <path>}`: a value of the run, such as the start trigger's "
        "`{from: trigger.order_id}`.",
    )

    @field_validator("value", mode="before")
    @classmethod
    def _value_from_run(cls, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"from"}:
            return AttributeFrom.model_validate(value)
        return value

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Comparison:
        if self.op in (Operator.IN, Operator.NOT_IN):
            if not isinstance(self.value, list):
                raise ValueError(f"'{self.op}' needs a list value")
        elif self.op is Operator.EXISTS:
            if self.value is not None and not isinstance(self.value, bool):
                raise ValueError("'exists' takes true, false or no value")
        elif isinstance(self.value, AttributeFrom):
            pass
        elif self.value is None:
            raise ValueError(f"'{self.op}' needs a value")
        elif isinstance(self.value, dict | list):
            raise ValueError(f"'{self.op}' compares with a single value, not a list or map")
        return self

    @property
    def scope(self) -> Scope:
        return Scope(self.attr.split(".", 1)[0])


class AllOf(DefinitionModel):
    all: list[Condition] = Field(min_length=1, description="Every condition holds.")


class AnyOf(DefinitionModel):
    any: list[Condition] = Field(min_length=1, description="At least one condition holds.")


class NotOf(DefinitionModel):
    not_: Condition = Field(alias="not", description="The condition does not hold.")


_CONDITION_HINT = "a condition is {attr, op, value}, {all: [...]}, {any: [...]} or {not: ...}"
_CONDITION_KEYS = {"attr": "comparison", "all": "all", "any": "any", "not": "not"}


def _condition_tag(value: Any) -> str | None:
    # A model is tagged by its class: dumping it here would dump its nested conditions
    # again at every level, which is exponential in the nesting depth.
    if isinstance(value, DefinitionModel):
        tag = _MODEL_TAGS.get(type(value))
        return TAG_PREFIX + tag if tag else None
    if not isinstance(value, dict):
        return None
    tags = [tag for key, tag in _CONDITION_KEYS.items() if key in value]
    return TAG_PREFIX + tags[0] if len(tags) == 1 else None


Condition = Annotated[
    Annotated[Comparison, Tag(TAG_PREFIX + "comparison")]
    | Annotated[AllOf, Tag(TAG_PREFIX + "all")]
    | Annotated[AnyOf, Tag(TAG_PREFIX + "any")]
    | Annotated[NotOf, Tag(TAG_PREFIX + "not")],
    Discriminator(
        _condition_tag, custom_error_type="condition", custom_error_message=_CONDITION_HINT
    ),
    name_unknown_keys(_CONDITION_KEYS, Comparison.model_fields, _CONDITION_HINT),
]

_MODEL_TAGS: dict[type[DefinitionModel], str] = {
    Comparison: "comparison",
    AllOf: "all",
    AnyOf: "any",
    NotOf: "not",
}

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def comparisons(condition: Condition, path: str = "") -> Iterator[tuple[str, Comparison]]:
    """Every comparison inside a condition, with its path relative to the condition."""
    match condition:
        case Comparison():
            yield path, condition
        case AllOf(all=items) | AnyOf(any=items):
            key = "all" if isinstance(condition, AllOf) else "any"
            for index, item in enumerate(items):
                yield from comparisons(
                    item, f"{path}.{key}[{index}]" if path else f"{key}[{index}]"
                )
        case NotOf(not_=inner):
            yield from comparisons(inner, f"{path}.not" if path else "not")


def scopes_of(condition: Condition | None) -> set[Scope]:
    """Where a condition reads: its paths, and those of the run values it compares with."""
    if condition is None:
        return set()
    scopes = set()
    for _, comparison in comparisons(condition):
        scopes.add(comparison.scope)
        if isinstance(comparison.value, AttributeFrom):
            scopes.add(Scope(comparison.value.from_.split(".", 1)[0]))
    return scopes
