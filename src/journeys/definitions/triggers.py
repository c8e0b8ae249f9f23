"""Trigger definitions as users write them (`kind: Trigger`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from journeys.definitions.common import (
    AttributeName,
    Audience,
    DefinitionModel,
    TriggerName,
)


class AttributeType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    REFERENCE = "reference"  # the id of another record, carried as text


class AttributeSpec(DefinitionModel):
    name: AttributeName = Field(description="Letters, digits and _.")
    type: AttributeType = Field(default=AttributeType.TEXT, description="Checked on every event.")
    required: bool = Field(
        default=False, description="Events without it are refused; `null` stands for not given."
    )
    description: str | None = Field(default=None, description="For people.")


class TriggerType(StrEnum):
    CUSTOM = "custom"
    RECORD_CHANGE = "record_change"


class TriggerStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    STOPPED = "stopped"


class RecordOperation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class TriggerDefinition(DefinitionModel):
    kind: Literal["Trigger"] = Field(default="Trigger", description="Always `Trigger`.")
    name: TriggerName = Field(description="Dotted lower-case words, e.g. `order.placed`.")
    type: TriggerType = Field(
        default=TriggerType.CUSTOM,
        description="`record_change`: fired by POST /v1/records changes.",
    )
    audience: Audience = Field(default=Audience.CONTACT, description="Who its events are about.")
    status: TriggerStatus = Field(
        default=TriggerStatus.READY, description="Only a ready trigger takes events."
    )
    description: str | None = Field(default=None, description="For people.")
    attributes: list[AttributeSpec] = Field(
        default_factory=list, max_length=100, description="At most 100; unknown ones are refused."
    )
    # record_change triggers only
    entity: AttributeName | None = Field(
        default=None, description="record_change: the record type."
    )
    operation: RecordOperation | None = Field(
        default=None, description="record_change: create, update or delete."
    )
    changed: list[AttributeName] = Field(
        default_factory=list,
        description="record_change updates: fire when one of these columns changed "
        "(none: any update).",
    )
    contact_field: AttributeName | None = Field(
        default=None, description="record_change: the column that holds the contact id."
    )

    @model_validator(mode="after")
    def _consistent(self) -> TriggerDefinition:
        problems = []
        names = [attribute.name for attribute in self.attributes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            problems.append(f"attributes named more than once: {', '.join(duplicates)}")
        record_fields = {
            "entity": self.entity,
            "operation": self.operation,
            "contact_field": self.contact_field,
        }
        if self.type is TriggerType.RECORD_CHANGE:
            missing = [name for name, value in record_fields.items() if value is None]
            if missing:
                problems.append(f"a record_change trigger needs {', '.join(missing)}")
            if self.changed and self.operation is not RecordOperation.UPDATE:
                problems.append("'changed' applies to operation: update only")
        else:
            given = [name for name, value in record_fields.items() if value is not None]
            if self.changed:
                given.append("changed")
            if given:
                problems.append(f"{', '.join(given)} apply to type: record_change only")
        if problems:
            raise ValueError("; ".join(problems))
        return self
