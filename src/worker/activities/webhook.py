"""The `webhook` step's activity: a signed POST whose JSON answer the run keeps."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import Engine
from temporalio import activity

from journeys.definitions.templating import TemplateRenderError, render_json
from journeys.engine.commands import WebhookAnswered
from journeys.kit.signing import SIGNATURE_HEADER, sign
from journeys.store.contacts import get_contact
from journeys.store.db import transaction
from worker.contracts import CALL_WEBHOOK, WebhookRequest


class WebhookActivities:
    def __init__(self, engine: Engine, signing_secret: str, http: httpx.Client) -> None:
        self._engine = engine
        self._secret = signing_secret
        self._http = http

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
            rendered = None if request.call.body is None else render_json(request.call.body, values)
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
            **request.call.headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(time.time())),
            "Idempotency-Key": f"{request.instance_id}-{request.step}-{request.iteration}",
        }
        answer = self._http.post(
            str(request.call.url),
            content=body,
            headers=headers,
            timeout=request.call.timeout.total_seconds(),
        )
        if answer.is_server_error or answer.status_code in (408, 429):
            answer.raise_for_status()  # retried by the activity's policy
        if answer.is_error:
            return WebhookAnswered(status=answer.status_code, error=f"HTTP {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            data = {}
        return WebhookAnswered(
            status=answer.status_code, response=data if isinstance(data, dict) else {"value": data}
        )
