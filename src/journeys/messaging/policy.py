"""Who may be messaged on which channel, decided at send time from current contact data."""

from __future__ import annotations

from enum import StrEnum

from journeys.definitions.common import Channel
from journeys.store.contacts import Contact


class BlockReason(StrEnum):
    UNKNOWN_CONTACT = "unknown_contact"
    INVALID_ADDRESS = "invalid_address"
    NO_CONSENT = "no_consent"


def recipient(contact: Contact, channel: Channel) -> str | None:
    match channel:
        case Channel.EMAIL:
            return contact.email
        case Channel.SMS:
            return contact.phone
        case Channel.PUSH:
            # Push providers address devices; a contact without a token is addressed by id.
            token = contact.attributes.get("push_token")
            return token if isinstance(token, str) and token else contact.id
    raise AssertionError(channel)  # pragma: no cover


def blocked_reason(contact: Contact | None, channel: Channel) -> BlockReason | None:
    """Why this contact may not get a message on this channel now, or None.

    Email and push go out unless the contact withdrew consent; SMS needs an explicit opt-in.
    """
    if contact is None:
        return BlockReason.UNKNOWN_CONTACT
    if not recipient(contact, channel):
        return BlockReason.INVALID_ADDRESS
    consent = getattr(contact.consent, channel.value)
    if channel is Channel.SMS:
        return None if consent is True else BlockReason.NO_CONSENT
    return BlockReason.NO_CONSENT if consent is False else None
