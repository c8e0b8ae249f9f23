"""Journey definitions as users write them (`kind: Journey`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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
    SignedDuration,
    StepId,
    TimeZone,
    TriggerName,
    name_unknown_keys,
)
from journeys.definitions.conditions import AttributeFrom, Condition
from journeys.kit.problems import TAG_PREFIX

Template = Annotated[str, Field(min_length=1, max_length=100_000)]
MAX_WAIT = timedelta(days=365)

# How large a journey may be. A run carries its journey in its start input, and Temporal
# refuses a payload past 2 MB: the definition (at most MAX_DEFINITION_BYTES) and the start
# event (at most the gateway's 1 MB body) stay below it. Nesting and condition depth stay
# far below the serializers' recursion limits, and beyond what anyone can read.
MAX_STEPS = 200
MAX_NESTING = 8  # step lists inside step lists: then/else, branch, otherwise and split arms
MAX_CONDITION_DEPTH = 8  # all/any/not inside one another
MAX_DEFINITION_BYTES = 512_000  # as compact JSON
MAX_BODY_DEPTH = 16  # a webhook body's objects and lists inside one another


def _nested_at_most(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        pending = [(value, 1)]  # no recursion: the value may be nested past Python's limit
        while pending:
            item, depth = pending.pop()
            if isinstance(item, dict | list):
                if depth > limit:
                    raise ValueError(f"nested more than {limit} levels")
                children = item.values() if isinstance(item, dict) else item
                pending.extend((child, depth + 1) for child in children)
        return value

    return check


def _at_most_a_year(value: timedelta) -> timedelta:
    if value > MAX_WAIT:
        raise ValueError("at most 365 days (P365D)")
    return value


WaitDuration = Annotated[Duration, AfterValidator(_at_most_a_year)]


# -- messages -------------------------------------------------------------------------


class EmailMessage(DefinitionModel):
    subject: Template = Field(description="A template; one line.")
    html: Template | None = Field(
        default=None,
        description="An HTML template: auto-escaped, links tracked, an open pixel added.",
    )
    text: Template | None = Field(
        default=None, description="A plain-text template; made from the HTML when left out."
    )

    @model_validator(mode="after")
    def _has_body(self) -> EmailMessage:
        if self.html is None and self.text is None:
            raise ValueError("an email needs html, text or both")
        return self


class SmsMessage(DefinitionModel):
    text: Template = Field(description="A template.")


class PushMessage(DefinitionModel):
    title: Template = Field(description="A template.")
    body: Template = Field(description="A template.")
    data: dict[str, str] | None = Field(
        default=None, description="Key-value pairs for the app; values are templates."
    )


# -- steps ----------------------------------------------------------------------------


class StepBase(DefinitionModel):
    id: StepId = Field(description="Unique in the journey: letters, digits, - and _.")


class Purpose(StrEnum):
    COMMERCIAL = "commercial"  # needs consent, counts against frequency caps
    TRANSACTIONAL = "transactional"  # an order confirmation, a password reset: no caps


class MessageStepBase(StepBase):
    purpose: Purpose = Field(
        default=Purpose.COMMERCIAL,
        description="`transactional` messages skip marketing consent (SMS still honours STOP) "
        "and frequency caps; suppressed addresses are never sent to.",
    )
    expires_after: WaitDuration | None = Field(
        default=None,
        description="Drop the message (recorded as `expired`) when quiet times held it longer.",
    )


class EmailStep(MessageStepBase):
    email: EmailMessage = Field(description="Send an email.")


class SmsStep(MessageStepBase):
    sms: SmsMessage = Field(description="Send an SMS (needs the contact's explicit SMS consent).")


class PushStep(MessageStepBase):
    push: PushMessage = Field(description="Send a push notification.")


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


def _within_a_year(value: timedelta) -> timedelta:
    if abs(value) > MAX_WAIT:
        raise ValueError("at most 365 days either way")
    return value


class WaitUntil(DefinitionModel):
    """Until a moment: a fixed one (the day a sale starts), or a date of the run's data (an
    appointment), moved by an offset (a day before)."""

    until: AwareDatetime | AttributeFrom = Field(
        description="A date-time with an offset, or `{from: trigger.*}` / `{from: contact.*}`: "
        "a date of the run. A moment already past, or a date missing or unreadable, does not "
        "wait (the run's history says which)."
    )
    offset: Annotated[SignedDuration, AfterValidator(_within_a_year)] | None = Field(
        default=None,
        description="Moves the moment: `-P1D` is a day before, `PT2H` two hours after.",
    )


def clock_time(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time of day such as 09:00")
    return value


class WaitUntilTime(DefinitionModel):
    """Until the next time of day (on one of the days), in the contact's time zone."""

    until_time: Annotated[str, AfterValidator(clock_time)] = Field(
        description="HH:MM, in the contact's time zone (else the journey's)."
    )
    days: list[Weekday] = Field(
        default_factory=lambda: list(Weekday), min_length=1, description="Days it may fall on."
    )


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
    wait: WaitSpec = Field(description="How long, or until when (at most 365 days).")


class Awaited(DefinitionModel):
    """One trigger a wait_for listens to."""

    trigger: TriggerName = Field(description="The trigger to wait for.")
    of: StepId | None = Field(
        default=None,
        description="For an interaction trigger: the message step it answers (an earlier "
        "step of its channel).",
    )
    when: Condition | None = Field(
        default=None, description="A condition on `event.*` (and `contact.*`, `trigger.*`)."
    )


class WaitFor(DefinitionModel):
    """`{trigger, of?, when?, within}` for one trigger, `{any: [...], within}` for several."""

    trigger: TriggerName | None = Field(
        default=None, description="The trigger to wait for (or use `any`)."
    )
    of: StepId | None = Field(
        default=None, description="For an interaction trigger: the message step it answers."
    )
    when: Condition | None = Field(
        default=None, description="A condition on the event (`event.*`)."
    )
    any: list[Awaited] | None = Field(default=None, min_length=1, max_length=10)
    within: WaitDuration = Field(
        description="How long to wait (at most 365 days); an event that came this long "
        "before the wait began still counts."
    )

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
    wait_for: WaitFor = Field(description="Wait for a trigger for a while.")
    then: list[Step] = Field(
        default_factory=list, description="Steps when it came; then the steps after the wait_for."
    )
    else_: list[Step] = Field(
        default_factory=list,
        alias="else",
        description="Steps when it did not; then the steps after the wait_for.",
    )


class BranchArm(DefinitionModel):
    name: str | None = Field(
        default=None, max_length=80, description="Shown in the graph and the run's history."
    )
    when: Condition = Field(
        description="A condition on `contact.*`, `trigger.*`, `event.*` or `response.*`."
    )
    steps: list[Step] = Field(
        default_factory=list, description="Steps of this arm; then the steps after the branch."
    )


class BranchStep(StepBase):
    """The first arm whose condition holds is taken; none: `otherwise`."""

    branch: list[BranchArm] = Field(
        min_length=1,
        max_length=25,
        description="Up to 25 arms; the first whose condition holds is taken.",
    )
    otherwise: list[Step] = Field(default_factory=list, description="Steps when no arm holds.")


class SplitArm(DefinitionModel):
    name: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="Unique in the split."
    )
    percent: float = Field(
        gt=0, le=100, description="Its share of contacts; the shares add up to 100."
    )
    steps: list[Step] = Field(
        default_factory=list, description="Steps of this arm (none: a holdout)."
    )


class SplitStep(StepBase):
    """Contacts are spread over the arms by percentage, each always to the same arm."""

    split: list[SplitArm] = Field(
        min_length=2,
        max_length=10,
        description="2 to 10 arms; a contact always lands in the same one.",
    )

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


class Activation(DefinitionModel):
    trigger: TriggerName = Field(description="A custom trigger (not this journey's start trigger).")
    attributes: dict[AttributeName, AttributeFrom | str | int | float | bool | None] = Field(
        default_factory=dict,
        description="Its attributes: fixed values, or `{from: <path>}` to copy one from the run.",
    )


class ActivateStep(StepBase):
    """Fire a custom trigger for the contact; it is routed like any other event."""

    activate: Activation = Field(description="Fire a custom trigger for the contact.")


def _within_a_minute(value: timedelta) -> timedelta:
    if value > timedelta(minutes=1):
        raise ValueError("at most 60 seconds (PT1M)")
    return value


# Headers a webhook step may not set (lower case): Journeys sets the first ones itself, and
# the others describe the connection or its target, not the call (RFC 9110, 7.6.1).
RESERVED_WEBHOOK_HEADERS = frozenset(
    {
        "content-type",
        "idempotency-key",
        "x-journeys-signature",
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class WebhookCall(DefinitionModel):
    url: HttpUrl = Field(description="Where to POST.")
    body: Annotated[dict[str, Any], AfterValidator(_nested_at_most(MAX_BODY_DEPTH))] | None = Field(
        default=None,
        description="JSON to send; its texts are templates that may use contact.*, trigger.*, "
        "event.*, response.* and journey.* (default: the journey, step, contact and trigger).",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers.")
    timeout: Annotated[Duration, AfterValidator(_within_a_minute)] = Field(
        default=timedelta(seconds=10), description="Per attempt, at most 60 seconds."
    )
    retries: int = Field(
        default=3, ge=0, le=10, description="More attempts after a failed one (0 to 10)."
    )


class WebhookStep(StepBase):
    """Call an HTTP endpoint and go on; its JSON answer is `response.*` to later steps."""

    webhook: WebhookCall = Field(
        description="Call an HTTP endpoint; its JSON answer is `response.*` to later steps."
    )


class ExitStep(StepBase):
    exit: str | None = Field(
        default=None, max_length=200, description="End the run here, with this reason."
    )


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


_STEP_HINT = "a step has an id and exactly one of: " + ", ".join(STEP_KINDS)


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
        custom_error_message=_STEP_HINT,
    ),
    name_unknown_keys(
        STEP_KINDS,
        {
            field.alias or name
            for kind in STEP_KINDS.values()
            for name, field in kind.model_fields.items()
        },
        _STEP_HINT,
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


# The keys under which a document nests lists of steps (a branch or split arm's is `steps`).
STEP_LISTS = frozenset({"steps", "then", "else", "otherwise"})


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
    trigger: TriggerName = Field(
        description="The trigger that starts a run (not an interaction trigger)."
    )
    when: Condition | None = Field(
        default=None,
        description="A condition on `trigger.*` and `contact.*`; false: the entry is "
        "refused (`condition_false`).",
    )
    per: Cardinality = Field(
        default=Cardinality.CONTACT,
        description="`binding`: one run per contact and binding id (an order, a cart).",
    )


class ExitSpec(DefinitionModel):
    trigger: TriggerName = Field(description="A trigger that ends the run at once.")
    when: Condition | None = Field(
        default=None, description="A condition on the exit event (`event.*`)."
    )


class ReentryAfter(DefinitionModel):
    after: WaitDuration = Field(description="A cooldown counted from the last entry.")


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
    count: int = Field(ge=1, description="At most this many entries...")
    per: RatePeriod = Field(description="...an hour or a day (rolling).")


class EntryRules(DefinitionModel):
    """When contacts may enter: a window, and at most so many an hour or a day."""

    from_: AwareDatetime | None = Field(
        default=None, alias="from", description="No entries before this moment (`outside_window`)."
    )
    until: AwareDatetime | None = Field(
        default=None, description="No entries from this moment on (`outside_window`)."
    )
    rate_limit: EntryRateLimit | None = Field(
        default=None, description="Entries beyond it are refused (`rate_limited`)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> EntryRules:
        if self.from_ and self.until and self.until <= self.from_:
            raise ValueError("`until` must come after `from`")
        return self


class Goal(DefinitionModel):
    """What success looks like: a trigger (and condition) during the run, or within the
    attribution window after it ended."""

    trigger: TriggerName = Field(description="The trigger that means success.")
    when: Condition | None = Field(
        default=None, description="A condition on its event (`event.*`)."
    )
    within: WaitDuration = Field(
        default=timedelta(days=3), description="The attribution window after the run ended."
    )


class JourneyDefinition(DefinitionModel):
    kind: Literal["Journey"] = Field(default="Journey", description="Always `Journey`.")
    id: JourneyId = Field(description="Lower-case letters, digits, - and _; part of workflow ids.")
    name: str = Field(min_length=1, max_length=200, description="For people.")
    description: str | None = Field(default=None, max_length=2000, description="For people.")
    audience: Audience = Field(
        default=Audience.CONTACT, description="Who the journey is about; its triggers must match."
    )
    timezone: TimeZone = Field(
        default="UTC", description="IANA name; used when a contact has none."
    )
    start: StartSpec = Field(description="What starts a run.")
    entry: EntryRules | None = Field(default=None, description="When contacts may enter.")
    exit: list[ExitSpec] = Field(
        default_factory=list, description="Triggers that end a run at once."
    )
    reentry: Reentry = Field(
        default="never",
        description="May a contact enter again: `never`, `always` or after a cooldown.",
    )
    parallel: bool = Field(
        default=False,
        description="`true`: a start while the contact is in the journey opens another run "
        "(each with its own workflow id, each ended by the exit triggers); `false`: it is "
        "refused (`already_in_journey`).",
    )
    goal: Goal | None = Field(
        default=None, description="What success looks like, recorded per run."
    )
    frequency_caps: bool = Field(
        default=True,
        description="false: this journey's messages are not held back by frequency caps "
        "(they still count against them).",
    )
    steps: list[Step] = Field(min_length=1, description="What happens, in order.")

    def walk(self) -> Iterator[tuple[str, StepBase]]:
        """Every step in document order, with its path in the definition."""
        yield from _walk(self.steps, "steps")


def _walk(steps: list[Any], path: str) -> Iterator[tuple[str, StepBase]]:
    for index, step in enumerate(steps):
        step_path = f"{path}[{index}]"
        yield step_path, step
        for below, block in blocks(step):
            yield from _walk(block, f"{step_path}.{below}")
