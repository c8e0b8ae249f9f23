"""The generic provider: a signed JSON POST per message, to a URL of yours."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from journeys.kit.signing import SIGNATURE_HEADER, sign
from worker.channels import raise_for_answer


@dataclass(frozen=True)
class WebhookProvider:
    url: str
    secret: str
    client: httpx.Client

    def send_sms(self, message_id: str, to: str, text: str) -> str | None:
        return self._post({"message_id": message_id, "channel": "sms", "to": to, "text": text})

    def send_push(
        self, message_id: str, to: str, contact_id: str, title: str, body: str, data: dict[str, str]
    ) -> str | None:
        payload = {
            "message_id": message_id,
            "channel": "push",
            "to": to,
            "contact_id": contact_id,
            "title": title,
            "body": body,
            "data": data,
        }
        return self._post(payload)

    def _post(self, payload: dict[str, Any]) -> str | None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
            # Providers that honour it drop a retried call they already accepted.
            "Idempotency-Key": str(payload["message_id"]),
        }
        response = self.client.post(self.url, content=body, headers=headers)
        raise_for_answer(response)
        return _provider_id(response)


def _provider_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value is not None else None
