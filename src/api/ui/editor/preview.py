"""Each message step's message as a sample contact would get it, whether or not a run
would reach the step (the simulate panel shows which ones it reaches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from journeys.authoring.simulate import SampleContact
from journeys.contacts.model import Contact
from journeys.definitions.journeys import EmailStep, JourneyDefinition, PushStep, SmsStep
from journeys.definitions.templating import TemplateRenderError
from journeys.messaging import compose


@dataclass(frozen=True)
class Preview:
    subject: str | None = None  # an email's subject, a push's title
    text: str | None = None
    problem: str | None = None  # why the templates could not be rendered


def previews(
    journey: JourneyDefinition, sample: SampleContact, attributes: dict[str, Any]
) -> dict[str, Preview]:
    """Step id -> its message, rendered with the contact and the start trigger's attributes."""
    contact = Contact.model_validate(sample.model_dump(exclude_none=True))
    values = compose.context(
        contact.as_scope(), attributes, {"id": journey.id, "name": journey.name, "version": 0}
    )
    shown: dict[str, Preview] = {}
    for _, step in journey.walk():
        try:
            match step:
                case EmailStep(email=message):
                    email = compose.render_email(message, values, tracking=None)
                    shown[step.id] = Preview(email.subject, email.text)
                case SmsStep(sms=message):
                    shown[step.id] = Preview(text=compose.render_sms(message, values).text)
                case PushStep(push=message):
                    push = compose.render_push(message, values)
                    shown[step.id] = Preview(push.title, push.body)
        except TemplateRenderError as error:
            shown[step.id] = Preview(problem=str(error))
    return shown
