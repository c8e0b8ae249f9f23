"""Signed tokens in the links Journeys puts in messages: the open pixel, tracked links, and
one-click unsubscribe.

A tracking token names the run, step and message it belongs to, so an open or a click is
signalled straight to that run without a lookup; and only links Journeys signed can be
redirected to (no open redirect). SMS links, where every character counts, use short
codes stored instead (see `store.links`).

Tokens are Fernet tokens (encrypted, then signed, and stamped with their time): a link
shows no contact or workflow id to whoever reads it, and opens and clicks count for
TRACKING_LIFETIME. Unsubscribe links work whatever their age: a contact's no must always
be heard. Links made before (signed, readable) are still read: their clicks redirect and
their unsubscribes are honoured, but their opens and clicks are no longer counted.

This module owns the links' shapes: the worker writes them with `Links` and the gateway
serves the same paths.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ValidationError

from journeys.kit.signing import derive

OPEN_PATH = "/t/o"  # /{token}: the open pixel of an email
CLICK_PATH = "/t/c"  # /{token}, or /{short code} for SMS: a tracked link
UNSUBSCRIBE_PATH = "/u"  # /{token}: one-click unsubscribe (RFC 8058)
# Past it, an open or a click is not counted (a click still goes where the link points).
TRACKING_LIFETIME = timedelta(days=180)


class MessageRef(BaseModel):
    workflow_id: str
    instance_id: str
    step: str
    message_id: str
    contact_id: str
    channel: str = "email"


class ClickRef(MessageRef):
    url: str


class UnsubscribeRef(BaseModel):
    contact_id: str
    channel: str
    message_id: str


_KEYS = {
    "workflow_id": "w",
    "instance_id": "i",
    "step": "s",
    "message_id": "m",
    "contact_id": "c",
    "channel": "h",
    "url": "u",
}
_Ref = TypeVar("_Ref", MessageRef, ClickRef, UnsubscribeRef)


@dataclass(frozen=True)
class Read(Generic[_Ref]):
    ref: _Ref
    current: bool  # within its lifetime, and not a link of the earlier, readable kind


class Tokens:
    _PURPOSES = ("open", "click", "unsubscribe")

    def __init__(self, secret: str) -> None:
        self._fernets = {
            purpose: Fernet(
                base64.urlsafe_b64encode(bytes.fromhex(derive(secret, f"token:{purpose}")))
            )
            for purpose in self._PURPOSES
        }
        self._legacy = {
            purpose: URLSafeSerializer(secret, salt=f"journeys.{purpose}")
            for purpose in self._PURPOSES
        }

    def open_token(self, ref: MessageRef) -> str:
        return self._make("open", ref)

    def click_token(self, ref: ClickRef) -> str:
        return self._make("click", ref)

    def unsubscribe_token(self, ref: UnsubscribeRef) -> str:
        return self._make("unsubscribe", ref)

    def read_open(self, token: str) -> Read[MessageRef] | None:
        return self._read("open", token, MessageRef, TRACKING_LIFETIME)

    def read_click(self, token: str) -> Read[ClickRef] | None:
        return self._read("click", token, ClickRef, TRACKING_LIFETIME)

    def read_unsubscribe(self, token: str) -> Read[UnsubscribeRef] | None:
        return self._read("unsubscribe", token, UnsubscribeRef, None)

    def _make(self, purpose: str, ref: BaseModel) -> str:
        payload = json.dumps(_short(ref), separators=(",", ":")).encode()
        return self._fernets[purpose].encrypt(payload).decode().rstrip("=")

    def _read(
        self, purpose: str, token: str, model: type[_Ref], lifetime: timedelta | None
    ) -> Read[_Ref] | None:
        fernet = self._fernets[purpose]
        padded = (token + "=" * (-len(token) % 4)).encode()
        try:
            data = json.loads(fernet.decrypt(padded))
            age = time.time() - fernet.extract_timestamp(padded)
            current = lifetime is None or age <= lifetime.total_seconds()
        except (InvalidToken, ValueError):
            try:
                data, current = self._legacy[purpose].loads(token), False
            except BadSignature:
                return None
        ref = _ref(data, model)
        return None if ref is None else Read(ref, current)


def _short(ref: BaseModel) -> dict[str, str]:
    # Short keys keep links short.
    return {_KEYS[name]: value for name, value in ref.model_dump().items()}


def _ref(data: Any, model: type[_Ref]) -> _Ref | None:
    if not isinstance(data, dict):
        return None
    long = {name: data.get(key) for name, key in _KEYS.items() if key in data}
    try:
        return model.model_validate(long)
    except ValidationError:
        return None


class Links:
    """The links of one deployment's messages, under its public address."""

    def __init__(self, public_url: str, tokens: Tokens) -> None:
        self._base = public_url.rstrip("/")
        self._tokens = tokens

    def open_pixel(self, ref: MessageRef) -> str:
        return f"{self._base}{OPEN_PATH}/{self._tokens.open_token(ref)}"

    def click(self, ref: ClickRef) -> str:
        return f"{self._base}{CLICK_PATH}/{self._tokens.click_token(ref)}"

    def short_click(self, code: str) -> str:
        return f"{self._base}{CLICK_PATH}/{code}"

    def unsubscribe(self, ref: UnsubscribeRef) -> str:
        return f"{self._base}{UNSUBSCRIBE_PATH}/{self._tokens.unsubscribe_token(ref)}"
