"""Signed tokens in the links Journeys puts in messages: the open pixel, tracked links, and
one-click unsubscribe.

A tracking token names the run, step and message it belongs to, so an open or a click is
signalled straight to that run without a lookup; and only links Journeys signed can be
redirected to (no open redirect). SMS links, where every character counts, use short
codes stored instead (see `store.links`).

This module owns the links' shapes: the worker writes them with `Links` and the gateway
serves the same paths.
"""

from __future__ import annotations

from typing import TypeVar

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ValidationError

OPEN_PATH = "/t/o"  # /{token}: the open pixel of an email
CLICK_PATH = "/t/c"  # /{token}, or /{short code} for SMS: a tracked link
UNSUBSCRIBE_PATH = "/u"  # /{token}: one-click unsubscribe (RFC 8058)


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


class Tokens:
    def __init__(self, secret: str) -> None:
        self._open = URLSafeSerializer(secret, salt="journeys.open")
        self._click = URLSafeSerializer(secret, salt="journeys.click")
        self._unsubscribe = URLSafeSerializer(secret, salt="journeys.unsubscribe")

    def open_token(self, ref: MessageRef) -> str:
        return str(self._open.dumps(_short(ref)))

    def click_token(self, ref: ClickRef) -> str:
        return str(self._click.dumps(_short(ref)))

    def unsubscribe_token(self, ref: UnsubscribeRef) -> str:
        return str(self._unsubscribe.dumps(_short(ref)))

    def read_open(self, token: str) -> MessageRef | None:
        return _read(self._open, token, MessageRef)

    def read_click(self, token: str) -> ClickRef | None:
        return _read(self._click, token, ClickRef)

    def read_unsubscribe(self, token: str) -> UnsubscribeRef | None:
        return _read(self._unsubscribe, token, UnsubscribeRef)


def _short(ref: BaseModel) -> dict[str, str]:
    # Short keys keep links short.
    return {_KEYS[name]: value for name, value in ref.model_dump().items()}


def _read(serializer: URLSafeSerializer, token: str, model: type[_Ref]) -> _Ref | None:
    try:
        data = serializer.loads(token)
    except BadSignature:
        return None
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
