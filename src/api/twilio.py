"""Twilio's side of the SMS webhooks: its signed form posts, read as Journeys' reports, and
the TwiML it expects in answer.

Point a number's (or messaging service's) incoming-message webhook at
`{PUBLIC_URL}/v1/channels/sms/inbound`; status callbacks come to `/v1/channels/sms/events`,
which Journeys asks for on every message it sends through Twilio.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response
from pydantic import BaseModel, ValidationError

from journeys.ingest.provider_events import InboundSms, SmsEvent
from journeys.kit.problems import ProblemsError, problems_from_validation_error
from journeys.kit.signing import twilio_signature
from journeys.settings import Settings

# Twilio's error codes that say the number itself cannot take SMS from us, whatever is sent
# and whenever: Journeys suppresses it. Not among them: 30003 (handset off or out of reach)
# and 30008 (unknown) pass; 30007 (filtered) is about the content, not the number.
PERMANENT_ERRORS = {
    "21211": "invalid 'To' number",
    "21610": "the number unsubscribed from this sender (STOP)",
    "21614": "not a mobile number",
    "30004": "message blocked by the recipient or their carrier",
    "30005": "unknown destination handset: the number does not exist",
    "30006": "landline or unreachable carrier",
}

# Twilio reads the answer to its posts as TwiML; an empty <Response/> sends no reply
# (with Advanced Opt-Out, Twilio itself answers STOP, START and HELP).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
TWIML_ANSWER: dict[int | str, dict[str, Any]] = {
    HTTPStatus.OK.value: {
        "description": "Twilio's signed form posts are answered with empty TwiML.",
        "content": {"text/xml": {"example": EMPTY_TWIML}},
    }
}

# What Twilio calls the fields Journeys reads, so that a problem names Twilio's field.
_STATUS_FIELDS = {"message_id": "MessageSid", "event": "MessageStatus", "error_code": "ErrorCode"}
_INBOUND_FIELDS = {"from": "From", "text": "Body", "opt_out_type": "OptOutType"}

_Model = TypeVar("_Model", bound=BaseModel)


async def signed_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form Twilio posted, once its X-Twilio-Signature (made with the account's auth
    token over the public URL and the form) checks out."""
    token = settings.twilio_auth_token
    if token is None:
        raise HTTPException(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Twilio is not set up)")
    form = {key: str(value) for key, value in (await request.form()).items()}
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += f"?{request.url.query}"
    expected = twilio_signature(token.get_secret_value(), url, form)
    if not hmac.compare_digest(expected, request.headers.get("x-twilio-signature", "")):
        raise HTTPException(HTTPStatus.UNAUTHORIZED, "bad or missing X-Twilio-Signature")
    return form


def status_events(form: Mapping[str, str]) -> list[SmsEvent]:
    """A status callback as Journeys' SMS events: `delivered`, and `failed` for a message
    that failed or could not be delivered (its ErrorCode kept, permanent for the codes
    above); the statuses on the way (queued, sent, ...) say nothing yet."""
    status = form.get("MessageStatus")
    if status is not None and status not in ("delivered", "failed", "undelivered"):
        return []
    values = {**form, "MessageStatus": "failed" if status == "undelivered" else status}
    event = _read(SmsEvent, values, _STATUS_FIELDS)
    event.permanent = event.error_code in PERMANENT_ERRORS
    return [event]


def inbound_sms(form: Mapping[str, str]) -> InboundSms:
    """An incoming message, with the class Advanced Opt-Out gave its keyword (OptOutType)."""
    return _read(InboundSms, {"Body": "", **form}, _INBOUND_FIELDS)


def twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def _read(model: type[_Model], form: Mapping[str, str | None], fields: dict[str, str]) -> _Model:
    values = {ours: form[theirs] for ours, theirs in fields.items() if form.get(theirs) is not None}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        raise ProblemsError(
            [p.model_copy(update={"path": fields.get(p.path, p.path)}) for p in problems]
        ) from None
