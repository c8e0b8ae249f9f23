"""Signed tracking tokens: the open pixel and rewritten links of a message.

A token names the run, step and message it belongs to, so an open or a click is
signalled straight to that run without a lookup; and only links Journeys signed
can be redirected to (no open redirect).
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ValidationError


class MessageRef(BaseModel):
    workflow_id: str
    instance_id: str
    step: str
    message_id: str
    contact_id: str


class ClickRef(MessageRef):
    url: str


_KEYS = {
    "workflow_id": "w",
    "instance_id": "i",
    "step": "s",
    "message_id": "m",
    "contact_id": "c",
    "url": "u",
}


class Tokens:
    def __init__(self, secret: str) -> None:
        self._open = URLSafeSerializer(secret, salt="journeys.open")
        self._click = URLSafeSerializer(secret, salt="journeys.click")

    def open_token(self, ref: MessageRef) -> str:
        return str(self._open.dumps(_short(ref)))

    def click_token(self, ref: ClickRef) -> str:
        return str(self._click.dumps(_short(ref)))

    def read_open(self, token: str) -> MessageRef | None:
        return _read(self._open, token, MessageRef)

    def read_click(self, token: str) -> ClickRef | None:
        ref = _read(self._click, token, ClickRef)
        return ref if isinstance(ref, ClickRef) else None


def _short(ref: MessageRef) -> dict[str, str]:
    # Short keys keep tracking URLs short.
    return {_KEYS[name]: value for name, value in ref.model_dump().items()}


def _read(serializer: URLSafeSerializer, token: str, model: type[MessageRef]) -> MessageRef | None:
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
