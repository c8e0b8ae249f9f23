"""Providers that carry messages out: SMTP for email; for SMS the generic signed webhook or
Twilio; for push the generic signed webhook or Firebase Cloud Messaging.

A provider raises `PermanentSendError` when retrying cannot help (a refused recipient,
a 4xx answer); any other exception is transient and the activity is retried.
"""

from __future__ import annotations

from typing import Protocol

import httpx


class PermanentSendError(Exception):
    """The provider refused the message for good."""


class SmsProvider(Protocol):
    def send_sms(self, message_id: str, to: str, text: str) -> str | None:
        """Hand the SMS over; the provider's id for it, when it gives one."""
        ...


class PushProvider(Protocol):
    def send_push(
        self, message_id: str, to: str, contact_id: str, title: str, body: str, data: dict[str, str]
    ) -> str | None:
        """Hand the notification over (`to`: a device token, or the contact id)."""
        ...


RETRYABLE_STATUSES = frozenset({408, 429})


def raise_for_answer(response: httpx.Response) -> None:
    """A 5xx, 408 or 429 is worth retrying (raise as is); any other error is final."""
    if response.is_success:
        return
    if response.is_server_error or response.status_code in RETRYABLE_STATUSES:
        response.raise_for_status()
    raise PermanentSendError(f"provider answered {response.status_code}: {response.text[:200]}")
