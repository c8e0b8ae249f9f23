"""Short links for SMS: a code per (message, link), resolved when it is clicked."""

from __future__ import annotations

import hashlib
import string

from sqlmodel import Session

from journeys.messaging.tracking import ClickRef
from journeys.store.tables import ShortLinkRow

_ALPHABET = string.digits + string.ascii_letters
CODE_LENGTH = 10


def short_code(message_id: str, url: str) -> str:
    """The same message and link always get the same code: a retried send stores nothing new."""
    number = int.from_bytes(hashlib.sha256(f"{message_id}\n{url}".encode()).digest()[:8], "big")
    code = ""
    while len(code) < CODE_LENGTH:
        number, digit = divmod(number, len(_ALPHABET))
        code += _ALPHABET[digit]
    return code


def shorten(session: Session, ref: ClickRef) -> str:
    code = short_code(ref.message_id, ref.url)
    if session.get(ShortLinkRow, code) is None:
        session.add(ShortLinkRow(code=code, **ref.model_dump()))
    return code


def resolve(session: Session, code: str) -> ClickRef | None:
    row = session.get(ShortLinkRow, code)
    if row is None:
        return None
    return ClickRef.model_validate(row, from_attributes=True)
