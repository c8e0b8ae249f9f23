"""The suppression list: addresses that hard-bounced or complained, and numbers that said STOP,
are never sent to again (a STOP until the contact consents anew)."""

from __future__ import annotations

from sqlmodel import Session

from journeys.store.tables import SuppressionRow


def normalized(address: str) -> str:
    return address.strip().lower()


def is_suppressed(session: Session, channel: str, address: str) -> bool:
    return session.get(SuppressionRow, (channel, normalized(address))) is not None


def suppress(
    session: Session, channel: str, address: str, reason: str, message_id: str | None
) -> bool:
    """Add the address; True when it was not on the list yet."""
    key = (channel, normalized(address))
    if session.get(SuppressionRow, key) is not None:
        return False
    session.add(
        SuppressionRow(channel=channel, address=key[1], reason=reason, message_id=message_id)
    )
    return True


def lift(session: Session, channel: str, address: str, reason: str) -> None:
    """Take the address off the list, if it is there for `reason`."""
    row = session.get(SuppressionRow, (channel, normalized(address)))
    if row is not None and row.reason == reason:
        session.delete(row)
