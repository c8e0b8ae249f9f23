"""The trigger catalog: built-in business and interaction triggers plus the custom ones.

It answers two questions, both without I/O: which triggers exist (and what they
may do in a journey), and whether an event's attributes fit its trigger.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from journeys.definitions.common import Audience, Channel
from journeys.definitions.triggers import (
    AttributeSpec,
    AttributeType,
    TriggerDefinition,
    TriggerStatus,
    TriggerType,
)
from journeys.kit.problems import Problem


class TriggerKind(StrEnum):
    BUSINESS = "business"
    INTERACTION = "interaction"
    CUSTOM = "custom"
    RECORD_CHANGE = "record_change"


@dataclass(frozen=True)
class Trigger:
    name: str
    kind: TriggerKind
    description: str
    audience: Audience | None  # None: any audience (interaction triggers)
    status: TriggerStatus = TriggerStatus.READY
    attributes: tuple[AttributeSpec, ...] = ()
    # Business triggers carry the whole CRM record, whatever its columns.
    open_attributes: bool = False
    # Interaction triggers answer a message sent on this channel.
    channel: Channel | None = None
    definition: TriggerDefinition | None = field(default=None, compare=False)

    @property
    def built_in(self) -> bool:
        return self.kind in (TriggerKind.BUSINESS, TriggerKind.INTERACTION)

    @property
    def interaction(self) -> bool:
        return self.kind is TriggerKind.INTERACTION

    def attribute(self, name: str) -> AttributeSpec | None:
        return next((spec for spec in self.attributes if spec.name == name), None)

    def knows_attribute(self, name: str) -> bool:
        return self.open_attributes or self.attribute(name) is not None

    @classmethod
    def from_definition(cls, definition: TriggerDefinition) -> Trigger:
        return cls(
            name=definition.name,
            kind=TriggerKind(definition.type.value),
            description=definition.description or "",
            audience=definition.audience,
            status=definition.status,
            attributes=tuple(definition.attributes),
            # A record change carries the record's columns as its attributes.
            open_attributes=definition.type is TriggerType.RECORD_CHANGE,
            definition=definition,
        )


def _business(name: str, description: str, audience: Audience = Audience.CONTACT) -> Trigger:
    return Trigger(name, TriggerKind.BUSINESS, description, audience, open_attributes=True)


_MESSAGE = (
    AttributeSpec(name="message_id", type=AttributeType.TEXT, required=True),
    AttributeSpec(name="step", type=AttributeType.TEXT, required=True),
)


_REASON = AttributeSpec(name="reason", type=AttributeType.TEXT)


def _interaction(name: str, description: str, channel: Channel, *extra: AttributeSpec) -> Trigger:
    return Trigger(
        name,
        TriggerKind.INTERACTION,
        description,
        audience=None,
        attributes=_MESSAGE + extra,
        channel=channel,
    )


BUILT_IN: dict[str, Trigger] = {
    trigger.name: trigger
    for trigger in (
        _business("contact.created", "A contact record was created."),
        _business("contact.email_updated", "A contact's email address changed."),
        _business("contact.address_updated", "A contact's postal address changed."),
        _business("contact.phone_updated", "A contact's phone number changed."),
        _business("lead.created", "A lead record was created.", Audience.LEAD),
        _business("incident.created", "A support case was opened."),
        _business("opportunity.created", "A sales opportunity was created."),
        _business("event_checkin.created", "A contact checked in at an event."),
        _business("event_registration.created", "A contact registered for an event."),
        _business("event_registration.canceled", "A contact canceled an event registration."),
        _business("marketing_form.submitted", "A marketing form was submitted."),
        _interaction("email.delivered", "An email reached the recipient's server.", Channel.EMAIL),
        _interaction("email.opened", "An email was opened.", Channel.EMAIL),
        _interaction(
            "email.link_clicked",
            "A link in an email was clicked.",
            Channel.EMAIL,
            AttributeSpec(name="url", type=AttributeType.TEXT),
        ),
        _interaction(
            "email.bounced",
            "An email bounced.",
            Channel.EMAIL,
            AttributeSpec(name="bounce_type", type=AttributeType.TEXT),
        ),
        _interaction("email.complained", "The recipient marked an email as spam.", Channel.EMAIL),
        _interaction(
            "email.unsubscribed", "The recipient unsubscribed from an email.", Channel.EMAIL
        ),
        _interaction(
            "email.blocked",
            "An email was not sent: consent, suppression, a cap or no address.",
            Channel.EMAIL,
            _REASON,
        ),
        _interaction("sms.delivered", "An SMS was delivered.", Channel.SMS),
        _interaction(
            "sms.link_clicked",
            "A link in an SMS was clicked.",
            Channel.SMS,
            AttributeSpec(name="url", type=AttributeType.TEXT),
        ),
        _interaction(
            "sms.replied",
            "The contact replied to an SMS.",
            Channel.SMS,
            AttributeSpec(name="text", type=AttributeType.TEXT),
        ),
        _interaction(
            "sms.failed",
            "An SMS could not be delivered: refused, failed or undelivered.",
            Channel.SMS,
            _REASON,
            AttributeSpec(name="error_code", type=AttributeType.TEXT),
        ),
        _interaction(
            "sms.blocked",
            "An SMS was not sent: consent, suppression, a cap or no number.",
            Channel.SMS,
            _REASON,
        ),
        _interaction("push.delivered", "A push notification was delivered.", Channel.PUSH),
        _interaction("push.opened", "A push notification was opened.", Channel.PUSH),
        _interaction("push.clicked", "An action of a push notification was tapped.", Channel.PUSH),
        _interaction(
            "push.failed",
            "A push notification could not be delivered.",
            Channel.PUSH,
            _REASON,
            AttributeSpec(name="error_code", type=AttributeType.TEXT),
        ),
        _interaction(
            "push.blocked",
            "A push notification was not sent: consent, suppression or a cap.",
            Channel.PUSH,
            _REASON,
        ),
    )
}


class TriggerCatalog(Mapping[str, Trigger]):
    """Built-in triggers plus the given custom definitions (which cannot shadow a built-in)."""

    def __init__(self, custom: Iterable[TriggerDefinition] = ()) -> None:
        self._triggers = dict(BUILT_IN)
        for definition in custom:
            if definition.name not in BUILT_IN:
                self._triggers[definition.name] = Trigger.from_definition(definition)

    def __getitem__(self, name: str) -> Trigger:
        return self._triggers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._triggers)

    def __len__(self) -> int:
        return len(self._triggers)

    def with_definitions(self, definitions: Iterable[TriggerDefinition]) -> TriggerCatalog:
        custom = [t.definition for t in self._triggers.values() if t.definition is not None]
        by_name = {d.name: d for d in custom}
        by_name.update({d.name: d for d in definitions})
        return TriggerCatalog(by_name.values())


def check_attributes(
    trigger: Trigger, attributes: Mapping[str, Any], path: str = "attributes"
) -> tuple[dict[str, Any], list[Problem]]:
    """Check an event's attributes against its trigger; return them normalized, or the problems.

    `null` stands for "not given" and is accepted for optional attributes.
    """
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    for spec in trigger.attributes:
        value = attributes.get(spec.name)
        if value is None:
            if spec.required:
                problems.append(Problem(path=f"{path}.{spec.name}", message="required"))
            continue
        normalized, error = _coerce(spec.type, value)
        if error:
            problems.append(Problem(path=f"{path}.{spec.name}", message=error))
        else:
            clean[spec.name] = normalized
    unknown = sorted(name for name in attributes if trigger.attribute(name) is None)
    if unknown and not trigger.open_attributes:
        declared = ", ".join(spec.name for spec in trigger.attributes) or "none"
        for name in unknown:
            problems.append(
                Problem(
                    path=f"{path}.{name}",
                    message=f"unknown attribute of {trigger.name} (declared: {declared})",
                )
            )
    elif unknown:
        clean.update({name: attributes[name] for name in unknown})
    return clean, problems


def _coerce(kind: AttributeType, value: Any) -> tuple[Any, str | None]:
    match kind:
        case AttributeType.TEXT | AttributeType.REFERENCE:
            if isinstance(value, str):
                return value, None
            return None, f"must be text, got {_json_type(value)}"
        case AttributeType.NUMBER:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value, None
            return None, f"must be a number, got {_json_type(value)}"
        case AttributeType.BOOLEAN:
            if isinstance(value, bool):
                return value, None
            return None, f"must be true or false, got {_json_type(value)}"
        case AttributeType.DATETIME:
            if isinstance(value, str):
                try:
                    parsed = datetime.fromisoformat(value)
                except ValueError:
                    pass
                else:
                    if parsed.tzinfo is not None:
                        return parsed.isoformat(), None
            return None, "must be an ISO 8601 date-time with a time zone offset"
    raise AssertionError(kind)  # pragma: no cover - every AttributeType is matched above


def _json_type(value: Any) -> str:
    match value:
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "text"
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__


def incompatible_changes(old: TriggerDefinition, new: TriggerDefinition) -> list[str]:
    """What a new definition breaks for journeys written against the old one."""
    changes = []
    if old.type is not new.type:
        changes.append(f"type changes from {old.type} to {new.type}")
    if old.audience is not new.audience:
        changes.append(f"audience changes from {old.audience} to {new.audience}")
    kept = {spec.name: spec for spec in new.attributes}
    for spec in old.attributes:
        if spec.name not in kept:
            changes.append(f"attribute {spec.name!r} is removed")
        elif kept[spec.name].type is not spec.type:
            changes.append(
                f"attribute {spec.name!r} changes from {spec.type} to {kept[spec.name].type}"
            )
    return changes
