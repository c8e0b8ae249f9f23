"""Messaging rules for every journey: frequency caps and quiet times, per channel.

Stored policy, set by admins at /v1/settings/messaging (not the process `Settings`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from journeys.definitions.common import Channel
from journeys.definitions.journeys import WaitDuration, Weekday, clock_time


class FrequencyCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, description="At most this many commercial messages...")
    per: WaitDuration = Field(description="...in any rolling window this long, e.g. P1D, P7D.")


class QuietWindow(BaseModel):
    """A weekly window when nothing is sent; `to` before `from` runs past midnight."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    days: list[Weekday] = Field(
        default_factory=lambda: list(Weekday), min_length=1, description="The days it starts on."
    )
    from_: Annotated[str, AfterValidator(clock_time)] = Field(alias="from")
    to: Annotated[str, AfterValidator(clock_time)]


class MessagingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequency_caps: dict[Channel, list[FrequencyCap]] = Field(
        default_factory=dict,
        description="Per channel, counted over all journeys from the delivery ledger.",
    )
    quiet_times: dict[Channel, list[QuietWindow]] = Field(
        default_factory=dict,
        description="Per channel, in the contact's time zone (else the journey's): a message "
        "due then waits for the window to end.",
    )
