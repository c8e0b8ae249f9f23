"""Journey definitions as users write them (`kind: Journey`)."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from journeys.definitions.common import (
    Audience,
    Channel,
    DefinitionModel,
    Duration,
    JourneyId,
    StepId,
    TimeZone,
    TriggerName,
)
from journeys.definitions.conditions import Condition
from journeys.problems import TAG_PREFIX

Template = Annotated[str, Field(min_length=1, max_length=100_000)]


class EmailMessage(DefinitionModel):
    subject: Template
    html: Template | None = None
    text: Template | None = None

    @model_validator(mode="after")
    def _has_body(self) -> EmailMessage:
        if self.html is None and self.text is None:
            raise ValueError("an email needs html, text or both")
        return self


class SmsMessage(DefinitionModel):
    text: Template


class PushMessage(DefinitionModel):
    title: Template
    body: Template
    data: dict[str, str] | None = None


class StepBase(DefinitionModel):
    id: StepId


class EmailStep(StepBase):
    email: EmailMessage


class SmsStep(StepBase):
    sms: SmsMessage


class PushStep(StepBase):
    push: PushMessage


class WaitStep(StepBase):
    wait: Duration


class WaitFor(DefinitionModel):
    trigger: TriggerName
    of: StepId | None = None
    within: Duration
    when: Condition | None = None


class WaitForStep(StepBase):
    wait_for: WaitFor
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")


class ExitStep(StepBase):
    exit: str | None = Field(default=None, max_length=200)


MessageStep = EmailStep | SmsStep | PushStep

# The key that names a step's kind, in the order the discriminator looks for it.
STEP_KINDS: dict[str, type[StepBase]] = {
    "email": EmailStep,
    "sms": SmsStep,
    "push": PushStep,
    "wait": WaitStep,
    "wait_for": WaitForStep,
    "exit": ExitStep,
}


def _step_tag(value: Any) -> str | None:
    if isinstance(value, StepBase):
        return TAG_PREFIX + next(k for k, cls in STEP_KINDS.items() if isinstance(value, cls))
    if not isinstance(value, dict):
        return None
    kinds = [kind for kind in STEP_KINDS if kind in value]
    return TAG_PREFIX + kinds[0] if len(kinds) == 1 else None


Step = Annotated[
    Annotated[EmailStep, Tag(TAG_PREFIX + "email")]
    | Annotated[SmsStep, Tag(TAG_PREFIX + "sms")]
    | Annotated[PushStep, Tag(TAG_PREFIX + "push")]
    | Annotated[WaitStep, Tag(TAG_PREFIX + "wait")]
    | Annotated[WaitForStep, Tag(TAG_PREFIX + "wait_for")]
    | Annotated[ExitStep, Tag(TAG_PREFIX + "exit")],
    Discriminator(
        _step_tag,
        custom_error_type="step",
        custom_error_message="a step has an id and exactly one of: " + ", ".join(STEP_KINDS),
    ),
]

WaitForStep.model_rebuild()


def channel_of(step: StepBase) -> Channel | None:
    match step:
        case EmailStep():
            return Channel.EMAIL
        case SmsStep():
            return Channel.SMS
        case PushStep():
            return Channel.PUSH
    return None


class Cardinality(StrEnum):
    """How many runs of a journey a contact may have at once."""

    CONTACT = "contact"  # one run per contact
    BINDING = "binding"  # one run per contact and binding id (an order, a cart, ...)


class StartSpec(DefinitionModel):
    trigger: TriggerName
    when: Condition | None = None
    per: Cardinality = Cardinality.CONTACT


class ExitSpec(DefinitionModel):
    trigger: TriggerName
    when: Condition | None = None


class ReentryAfter(DefinitionModel):
    after: Duration


def _reentry_tag(value: Any) -> str | None:
    if isinstance(value, (ReentryAfter, dict)):
        return TAG_PREFIX + "after"
    return TAG_PREFIX + "rule" if value in ("never", "always") else None


Reentry = Annotated[
    Annotated[Literal["never", "always"], Tag(TAG_PREFIX + "rule")]
    | Annotated[ReentryAfter, Tag(TAG_PREFIX + "after")],
    Discriminator(
        _reentry_tag,
        custom_error_type="reentry",
        custom_error_message="must be never, always or {after: <duration>}, e.g. {after: P30D}",
    ),
]


class JourneyDefinition(DefinitionModel):
    kind: Literal["Journey"] = "Journey"
    id: JourneyId
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    audience: Audience = Audience.CONTACT
    timezone: TimeZone = "UTC"
    start: StartSpec
    exit: list[ExitSpec] = Field(default_factory=list)
    reentry: Reentry = "never"
    steps: list[Step] = Field(min_length=1)

    def walk(self) -> Iterator[tuple[str, StepBase]]:
        """Every step in document order, with its path in the definition."""
        yield from _walk(self.steps, "steps")


def _walk(steps: list[Any], path: str) -> Iterator[tuple[str, StepBase]]:
    for index, step in enumerate(steps):
        step_path = f"{path}[{index}]"
        yield step_path, step
        if isinstance(step, WaitForStep):
            yield from _walk(step.then, f"{step_path}.then")
            yield from _walk(step.else_, f"{step_path}.else")
