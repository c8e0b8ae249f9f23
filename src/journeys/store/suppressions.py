"""The suppression list: addresses that hard-bounced or complained, numbers that said STOP and
numbers the SMS provider found unable to take SMS are never sent to again (a STOP until the
contact consents anew, or the number texts START).

An address stays suppressed after its contact is erased, so it is kept as a keyed hash
(HMAC-SHA256 under a random key of the store's, made by migration 0011), never in clear: the
list still answers "is this address suppressed?", and reading it shows no address.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlmodel import Session

from journeys.store.tables import StoreKeyRow, SuppressionRow

KEY_NAME = "suppressions"
_keys: dict[str, bytes] = {}  # per database: the key never changes once made


def normalized(address: str) -> str:
    return address.strip().lower()


def _digest(session: Session, address: str) -> str:
    bind = str(session.get_bind().engine.url)
    if bind not in _keys:
        row = session.get(StoreKeyRow, KEY_NAME)
        assert row is not None, "migration 0011 makes the suppression list's key"
        _keys[bind] = bytes.fromhex(row.value)
    return hmac.new(_keys[bind], normalized(address).encode(), hashlib.sha256).hexdigest()


def is_suppressed(session: Session, channel: str, address: str) -> bool:
    return session.get(SuppressionRow, (channel, _digest(session, address))) is not None


def suppress(
    session: Session, channel: str, address: str, reason: str, message_id: str | None
) -> bool:
    """Add the address; True when it was not on the list yet."""
    key = (channel, _digest(session, address))
    if session.get(SuppressionRow, key) is not None:
        return False
    session.add(
        SuppressionRow(channel=channel, address=key[1], reason=reason, message_id=message_id)
    )
    return True


def lift(session: Session, channel: str, address: str, reason: str) -> None:
    """Take the address off the list, if it is there for `reason`."""
    row = session.get(SuppressionRow, (channel, _digest(session, address)))
    if row is not None and row.reason == reason:
        session.delete(row)
