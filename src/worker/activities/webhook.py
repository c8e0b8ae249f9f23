"""The `webhook` step's activity: a signed POST whose JSON answer the run keeps."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import Engine
from temporalio import activity

from journeys.definitions.journeys import RESERVED_WEBHOOK_HEADERS
from journeys.definitions.templating import TemplateRenderError, Templates
from journeys.engine.commands import WebhookAnswered
from journeys.kit.signing import SIGNATURE_HEADER, sign, webhook_step_secret
from journeys.store.contacts import get_contact
from journeys.store.db import transaction
from worker.contracts import CALL_WEBHOOK, WebhookRequest
from worker.destinations import ForbiddenDestination

# The answer goes into the run's history (as `response.*`), which Temporal bounds: a larger
# one is refused, not truncated (a cut JSON document means nothing).
MAX_ANSWER_BYTES = 64_000


class WebhookActivities:
    def __init__(
        self, engine: Engine, signing_secret: str, http: httpx.Client, templates: Templates
    ) -> None:
        """`http`: a client that calls only allowed destinations (`worker.destinations`)."""
        self._engine = engine
        self._secret = webhook_step_secret(signing_secret)
        self._http = http
        self._templates = templates

    @activity.defn(name=CALL_WEBHOOK.name)
    def call_webhook(self, request: WebhookRequest) -> WebhookAnswered:
        """POST the step's body, signed; a 5xx or no answer is retried, a 4xx is final."""
        with transaction(self._engine) as session:
            contact = get_contact(session, request.contact_id)
        values = {
            "contact": contact.as_scope() if contact else {},
            "trigger": request.trigger,
            "event": request.event or {},
            "response": request.response or {},
            "journey": request.journey,
        }
        try:
            shape = request.call.body
            rendered = None if shape is None else self._templates.render_json(shape, values)
        except TemplateRenderError as error:
            return WebhookAnswered(status=None, error=str(error))  # a retry would fail alike
        payload = (
            rendered
            if rendered is not None
            else {
                "journey": request.journey,
                "step": request.step,
                "contact_id": request.contact_id,
                "trigger": request.trigger,
                "event": request.event,
            }
        )
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        headers = {
            # Validation refuses these; a journey published before it did is held to it here.
            **{
                k: v
                for k, v in request.call.headers.items()
                if k.lower() not in RESERVED_WEBHOOK_HEADERS
            },
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(time.time())),
            "Idempotency-Key": f"{request.instance_id}-{request.step}-{request.iteration}",
        }
        try:
            with self._http.stream(
                "POST",
                str(request.call.url),
                content=body,
                headers=headers,
                timeout=request.call.timeout.total_seconds(),
            ) as answer:
                if answer.is_server_error or answer.status_code in (408, 429):
                    answer.raise_for_status()  # retried by the activity's policy
                if answer.is_error:
                    return WebhookAnswered(
                        status=answer.status_code, error=f"HTTP {answer.status_code}"
                    )
                content = _read_at_most(answer, MAX_ANSWER_BYTES)
        except ForbiddenDestination as error:  # final: the address will not change by retrying
            return WebhookAnswered(status=None, error=str(error))
        if content is None:
            return WebhookAnswered(
                status=answer.status_code,
                error=f"the answer is over {MAX_ANSWER_BYTES:,} bytes; it was not kept",
            )
        try:
            data = json.loads(content) if content else {}
        except ValueError:
            data = {}
        return WebhookAnswered(
            status=answer.status_code, response=data if isinstance(data, dict) else {"value": data}
        )


def _read_at_most(answer: httpx.Response, limit: int) -> bytes | None:
    """The answer's body, or None if it is longer than `limit` (read no further)."""
    content = bytearray()
    for chunk in answer.iter_bytes():
        content += chunk
        if len(content) > limit:
            return None
    return bytes(content)
