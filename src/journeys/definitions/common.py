"""Types shared by trigger and journey definitions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from journeys.kit.suggest import did_you_mean


class DefinitionModel(BaseModel):
    """Base of every definition model: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="wrap")
    @classmethod
    def _suggest_known_fields(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """An unknown field's error names the closest field this model has (`emial`: did
        you mean `email`?); only this model knows its own fields."""
        try:
            return handler(data)
        except ValidationError as error:
            known = [field.alias or name for name, field in cls.model_fields.items()]
            details = [_with_suggestion(item, known) for item in error.errors(include_url=False)]
            raise ValidationError.from_exception_data(error.title, details) from None


def _with_suggestion(item: Any, known: list[str]) -> InitErrorDetails:
    """An error as it was raised, with a suggestion if it is one of this model's unknown
    fields (deeper errors were given theirs by their own model)."""
    context = {**item.get("ctx", {}), "message": item["msg"]}
    location = item["loc"]
    if item["type"] == "extra_forbidden" and len(location) == 1:
        context["suggestion"] = did_you_mean(str(location[0]), known)
    return _error(item["type"], location, item["input"], context)


def _error(
    kind: str, location: tuple[Any, ...], value: Any, context: dict[str, Any]
) -> InitErrorDetails:
    return {
        "type": PydanticCustomError(kind, "{message}", context),
        "loc": location,
        "input": value,
    }


def name_unknown_keys(tags: Iterable[str], known: Iterable[str], hint: str) -> WrapValidator:
    """For a union told apart by a key (a step's `email`, `wait`, ...): when a mapping has
    none, name its unknown keys with the closest tag or field, rather than only `hint`."""
    tags, known = list(tags), {*tags, *known}

    def explain(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            unknown = [key for key in value if key not in known] if isinstance(value, dict) else []
            if not unknown or any(tag in value for tag in tags):
                raise
            details = []
            for key in unknown:
                suggestion = did_you_mean(str(key), tags) or did_you_mean(str(key), known)
                message = f"unknown field{suggestion or f' ({hint})'}"
                context = {"message": message, "suggestion": suggestion}
                details.append(_error("extra_forbidden", (key,), value[key], context))
            raise ValidationError.from_exception_data(error.title, details) from None

    return WrapValidator(explain)


class Audience(StrEnum):
    CONTACT = "contact"
    LEAD = "lead"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


def matching(pattern: str, hint: str) -> AfterValidator:
    """A string check whose error says what is expected, not which regex failed."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {hint}")
        return value

    return AfterValidator(check)


TriggerName = Annotated[
    str,
    matching(
        r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+",
        "a trigger name: dotted lower-case words such as order.placed",
    ),
]
# Journey, contact and binding ids go into workflow ids separated by '/', so none may hold one.
JourneyId = Annotated[
    str,
    matching(r"[a-z0-9][a-z0-9_-]{0,79}", "a journey id: lower-case letters, digits, - and _"),
]
ContactId = Annotated[
    str,
    matching(
        r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}",
        "an id: letters, digits and . _ : @ + - (no '/'), at most 200 characters",
    ),
]
# A binding names what a run is about beside its contact (an order, a cart), as CIJ does:
# `{entityType}/{entityId}` (`appointment/1`), or a bare id (`k1`, a type of its own).
BindingId = Annotated[
    str,
    matching(
        r"(?=.{1,200}$)[A-Za-z0-9][A-Za-z0-9._:@+-]*(/[A-Za-z0-9][A-Za-z0-9._:@+-]*)?",
        "a binding id: `{type}/{id}` such as appointment/1, or an id; letters, digits and "
        ". _ : @ + -, at most 200 characters",
    ),
]
StepId = Annotated[
    str, matching(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}", "a step id: letters, digits, - and _")
]
AttributeName = Annotated[
    str,
    matching(r"[A-Za-z_][A-Za-z0-9_]{0,79}", "an attribute name: letters, digits and _"),
]

_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: Any) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds.

    Months and years are refused: they have no fixed length, and a journey's waits
    must mean the same thing on every replay.
    """
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 duration such as PT1H or P3D")
    match = _ISO_DURATION.match(value.strip().upper())
    if match is None:
        if re.match(r"^P.*(\d+[MY]).*$", value.upper().split("T")[0]):
            raise ValueError("months and years have no fixed length; use days, e.g. P30D")
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as PT1H or P3D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    days, rest = divmod(value.total_seconds(), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(
        f"{n:g}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n
    )
    text = "P" + (f"{days:g}D" if days else "") + (f"T{time}" if time else "")
    return text if text != "P" else "PT0S"


def parse_signed_duration(value: Any) -> timedelta:
    """An ISO 8601 duration that may be negative: `-P1D` is a day before."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    return parse_duration(value)


def format_signed_duration(value: timedelta) -> str:
    return "-" + format_duration(-value) if value < timedelta(0) else format_duration(value)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_positive),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    # What is read is what is written: one schema, so OpenAPI needs no -Input/-Output pair.
    WithJsonSchema({"type": "string", "format": "duration"}),
]


SignedDuration = Annotated[
    timedelta,
    BeforeValidator(parse_signed_duration),
    PlainSerializer(format_signed_duration, return_type=str, when_used="json"),
]


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris") from None
    return value


TimeZone = Annotated[str, AfterValidator(_time_zone)]
