"""Push through Firebase Cloud Messaging's HTTP v1 API, authenticated as a service account."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import google.auth.transport.requests
import httpx
from google.oauth2 import service_account

from worker.channels import PermanentSendError, raise_for_answer

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


@dataclass
class FcmProvider:
    project_id: str
    credentials_file: Path
    client: httpx.Client
    base_url: str = "https://fcm.googleapis.com"
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _credentials: service_account.Credentials | None = None

    def send_push(
        self, message_id: str, to: str, contact_id: str, title: str, body: str, data: dict[str, str]
    ) -> str | None:
        if to == contact_id:
            raise PermanentSendError(
                "the contact has no push_token attribute: no device to send to"
            )
        message = {
            "message": {
                "token": to,
                "notification": {"title": title, "body": body},
                # Opens come back through POST /v1/channels/push/events with this id.
                "data": {**data, "journeys_message_id": message_id},
            }
        }
        response = self.client.post(
            f"{self.base_url.rstrip('/')}/v1/projects/{self.project_id}/messages:send",
            json=message,
            headers={"Authorization": f"Bearer {self._token()}"},
        )
        raise_for_answer(response)
        name = response.json().get("name")
        return str(name) if name else None

    def _token(self) -> str:
        # google-auth signs a JWT with the service account's key and trades it for an access
        # token at the token_uri of the credentials file; refreshed when it expires.
        with self._lock:
            if self._credentials is None:
                self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    str(self.credentials_file), scopes=[SCOPE]
                )
            if not self._credentials.valid:
                self._credentials.refresh(google.auth.transport.requests.Request())
            return str(self._credentials.token)
