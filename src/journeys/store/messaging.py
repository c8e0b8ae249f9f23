"""The deployment's messaging settings (frequency caps, quiet times)."""

from __future__ import annotations

from sqlmodel import Session

from journeys.messaging.rules import MessagingSettings
from journeys.store.tables import MessagingSettingsRow
from journeys.store.types import utcnow


def get_settings(session: Session) -> MessagingSettings:
    row = session.get(MessagingSettingsRow, 1)
    return MessagingSettings.model_validate(row.settings) if row else MessagingSettings()


def put_settings(session: Session, settings: MessagingSettings) -> None:
    document = settings.model_dump(mode="json", by_alias=True)
    row = session.get(MessagingSettingsRow, 1, with_for_update=True)
    if row is None:
        session.add(MessagingSettingsRow(id=1, settings=document))
    else:
        row.settings, row.updated_at = document, utcnow()
        session.add(row)
