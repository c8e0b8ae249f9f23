"""Journey definitions as users write them (`kind: Journey`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Discriminator,
    Field,
    HttpUrl,
    Tag,
    field_validator,
    model_validator,
)

from journeys.definitions.common import (
    AttributeName,
    Audience,
    Channel,
    DefinitionModel,
    Duration,
    JourneyId,
    StepId,
    TimeZone,
    TriggerName,
)
from journeys.definitions.conditions import AttrPath, Condition
from journeys.problems import TAG_PREFIX

Template = Annotated[str, Field(min_length=1, max_length=100_000)]
MAX_WAIT = timedelta(days=365)


def _at_most_a_year(value: timedelta) -> timedelta:
    if value > MAX_WAIT:
        raise ValueError("at most 365 days (P365D)")
    return value


WaitDuration = Annotated[Duration, AfterValidator(_at_most_a_year)]


# -- messages -------------------------------------------------------------------------


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


# -- steps ----------------------------------------------------------------------------


class StepBase(DefinitionModel):
    id: StepId


class EmailStep(StepBase):
    email: EmailMessage


class SmsStep(StepBase):
    sms: SmsMessage


class PushStep(StepBase):
    push: PushMessage


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class WaitUntil(DefinitionModel):
    """Until a moment, e.g. the day a sale starts."""

    until: AwareDatetime


def _clock_time(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time of day such as 09:00")
    return value


class WaitUntilTime(DefinitionModel):
    """Until the next time of day (on one of the days), in the contact's time zone."""

    until_time: Annotated[str, AfterValidator(_clock_time)]
    days: list[Weekday] = Field(default_factory=lambda: list(Weekday), min_length=1)


def _wait_tag(value: Any) -> str | None:
    if isinstance(value, str | timedelta):
        return TAG_PREFIX + "duration"
    if isinstance(value, WaitUntil) or (isinstance(value, dict) and "until" in value):
        return TAG_PREFIX + "until"
    if isinstance(value, WaitUntilTime) or (isinstance(value, dict) and "until_time" in value):
        return TAG_PREFIX + "until_time"
    return None


WaitSpec = Annotated[
    Annotated[WaitDuration, Tag(TAG_PREFIX + "duration")]
    | Annotated[WaitUntil, Tag(TAG_PREFIX + "until")]
    | Annotated[WaitUntilTime, Tag(TAG_PREFIX + "until_time")],
    Discriminator(
        _wait_tag,
        custom_error_type="wait",
        custom_error_message="a wait is a duration (PT1H), {until: <date-time>} or "
        "{until_time: '09:00', days: [mon, tue, ...]}",
    ),
]


class WaitStep(StepBase):
    wait: WaitSpec


class Awaited(DefinitionModel):
    """One trigger a wait_for listens to."""

    trigger: TriggerName
    of: StepId | None = None
    when: Condition | None = None


class WaitFor(DefinitionModel):
    """`{trigger, of?, when?, within}` for one trigger, `{any: [...], within}` for several."""

    trigger: TriggerName | None = None
    of: StepId | None = None
    when: Condition | None = None
    any: list[Awaited] | None = Field(default=None, min_length=1, max_length=10)
    within: WaitDuration

    @model_validator(mode="after")
    def _one_form(self) -> WaitFor:
        single = self.trigger is not None
        if single == (self.any is not None):
            raise ValueError("a wait_for names one trigger, or several under `any`")
        if not single and (self.of is not None or self.when is not None):
            raise ValueError("with `any`, each trigger carries its own `of` and `when`")
        return self

    @property
    def awaited(self) -> list[Awaited]:
        if self.any is not None:
            return self.any
        assert self.trigger is not None
        return [Awaited(trigger=self.trigger, of=self.of, when=self.when)]


class WaitForStep(StepBase):
    wait_for: WaitFor
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")


class BranchArm(DefinitionModel):
    name: str | None = Field(default=None, max_length=80)
    when: Condition
    steps: list[Step] = Field(default_factory=list)


class BranchStep(StepBase):
    """The first arm whose condition holds is taken; none: `otherwise`."""

    branch: list[BranchArm] = Field(min_length=1, max_length=25)
    otherwise: list[Step] = Field(default_factory=list)


class SplitArm(DefinitionModel):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    percent: float = Field(gt=0, le=100)
    steps: list[Step] = Field(default_factory=list)


class SplitStep(StepBase):
    """Contacts are spread over the arms by percentage, each always to the same arm."""

    split: list[SplitArm] = Field(min_length=2, max_length=10)

    @field_validator("split")
    @classmethod
    def _whole(cls, arms: list[SplitArm]) -> list[SplitArm]:
        total = sum(arm.percent for arm in arms)
        if abs(total - 100) > 1e-6:
            raise ValueError(f"the percentages add up to {total:g}, not 100")
        names = [arm.name for arm in arms]
        if len(set(names)) != len(names):
            raise ValueError("each arm needs its own name")
        return arms


class AttributeFrom(DefinitionModel):
    """An attribute copied from the run: `{from: contact.email}`, `{from: trigger.order_id}`."""

    from_: AttrPath = Field(alias="from")


class Activation(DefinitionModel):
    trigger: TriggerName
    attributes: dict[AttributeName, AttributeFrom | str | int | float | bool | None] = Field(
        default_factory=dict
    )


class ActivateStep(StepBase):
    """Fire a custom trigger for the contact; it is routed like any other event."""

    activate: Activation


def _within_a_minute(value: timedelta) -> timedelta:
    if value > timedelta(minutes=1):
        raise ValueError("at most 60 seconds (PT1M)")
    return value


class WebhookCall(DefinitionModel):
    url: HttpUrl
    body: dict[str, Any] | None = Field(
        default=None, description="JSON to send; text values may use {{ contact.* }} etc."
    )
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Annotated[Duration, AfterValidator(_within_a_minute)] = timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)


class WebhookStep(StepBase):
    """Call an HTTP endpoint and go on; its JSON answer is `response.*` to later steps."""

    webhook: WebhookCall


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
    "branch": BranchStep,
    "split": SplitStep,
    "activate": ActivateStep,
    "webhook": WebhookStep,
    "exit": ExitStep,
}


def _step_tag(value: Any) -> str | None:
    if isinstance(value, StepBase):
        return TAG_PREFIX + kind_of(value)
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
    | Annotated[BranchStep, Tag(TAG_PREFIX + "branch")]
    | Annotated[SplitStep, Tag(TAG_PREFIX + "split")]
    | Annotated[ActivateStep, Tag(TAG_PREFIX + "activate")]
    | Annotated[WebhookStep, Tag(TAG_PREFIX + "webhook")]
    | Annotated[ExitStep, Tag(TAG_PREFIX + "exit")],
    Discriminator(
        _step_tag,
        custom_error_type="step",
        custom_error_message="a step has an id and exactly one of: " + ", ".join(STEP_KINDS),
    ),
]

for _model in (WaitForStep, BranchArm, BranchStep, SplitArm, SplitStep):
    _model.model_rebuild()


def kind_of(step: StepBase) -> str:
    """The key that names the step's kind: email, wait_for, branch, ..."""
    return next(key for key, cls in STEP_KINDS.items() if isinstance(step, cls))


def channel_of_message(message: EmailMessage | SmsMessage | PushMessage) -> Channel:
    match message:
        case EmailMessage():
            return Channel.EMAIL
        case SmsMessage():
            return Channel.SMS
    return Channel.PUSH


def channel_of(step: StepBase) -> Channel | None:
    match step:
        case EmailStep():
            return Channel.EMAIL
        case SmsStep():
            return Channel.SMS
        case PushStep():
            return Channel.PUSH
    return None


def blocks(step: StepBase) -> list[tuple[str, list[Any]]]:
    """The nested step lists of a step, each with its path below the step."""
    match step:
        case WaitForStep():
            return [("then", step.then), ("else", step.else_)]
        case BranchStep():
            arms = [(f"branch[{i}].steps", arm.steps) for i, arm in enumerate(step.branch)]
            return [*arms, ("otherwise", step.otherwise)]
        case SplitStep():
            return [(f"split[{i}].steps", arm.steps) for i, arm in enumerate(step.split)]
    return []


# -- the journey ----------------------------------------------------------------------


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
    after: WaitDuration


def _reentry_tag(value: Any) -> str | None:
    if isinstance(value, ReentryAfter | dict):
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


class RatePeriod(StrEnum):
    HOUR = "hour"
    DAY = "day"

    @property
    def length(self) -> timedelta:
        return timedelta(hours=1) if self is RatePeriod.HOUR else timedelta(days=1)


class EntryRateLimit(DefinitionModel):
    count: int = Field(ge=1)
    per: RatePeriod


class EntryRules(DefinitionModel):
    """When contacts may enter: a window, and at most so many an hour or a day."""

    from_: AwareDatetime | None = Field(default=None, alias="from")
    until: AwareDatetime | None = None
    rate_limit: EntryRateLimit | None = None

    @model_validator(mode="after")
    def _ordered(self) -> EntryRules:
        if self.from_ and self.until and self.until <= self.from_:
            raise ValueError("`until` must come after `from`")
        return self


class Goal(DefinitionModel):
    """What success looks like: a trigger (and condition) during the run, or within the
    attribution window after it ended."""

    trigger: TriggerName
    when: Condition | None = None
    within: WaitDuration = timedelta(days=3)


class JourneyDefinition(DefinitionModel):
    kind: Literal["Journey"] = "Journey"
    id: JourneyId
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    audience: Audience = Audience.CONTACT
    timezone: TimeZone = "UTC"
    start: StartSpec
    entry: EntryRules | None = None
    exit: list[ExitSpec] = Field(default_factory=list)
    reentry: Reentry = "never"
    goal: Goal | None = None
    steps: list[Step] = Field(min_length=1)

    def walk(self) -> Iterator[tuple[str, StepBase]]:
        """Every step in document order, with its path in the definition."""
        yield from _walk(self.steps, "steps")


def _walk(steps: list[Any], path: str) -> Iterator[tuple[str, StepBase]]:
    for index, step in enumerate(steps):
        step_path = f"{path}[{index}]"
        yield step_path, step
        for below, block in blocks(step):
            yield from _walk(block, f"{step_path}.{below}")
