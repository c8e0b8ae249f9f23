"""SMS and push through an HTTP provider: a signed JSON POST per message."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

from journeys.signing import SIGNATURE_HEADER, sign
from worker.channels import PermanentSendError

_RETRYABLE = {HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS}


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    secret: str
    client: httpx.Client

    def deliver(self, payload: dict[str, Any]) -> str | None:
        """POST the message; the provider's id for it, when it gives one."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
            # Providers that honour it drop a retried call they already accepted.
            "Idempotency-Key": str(payload["message_id"]),
        }
        response = self.client.post(self.url, content=body, headers=headers)
        if response.is_success:
            return _provider_id(response)
        if response.status_code in _RETRYABLE or response.is_server_error:
            response.raise_for_status()
        raise PermanentSendError(f"provider answered {response.status_code}: {response.text[:200]}")


def _provider_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value is not None else None
