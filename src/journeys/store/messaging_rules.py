"""The deployment's messaging rules (frequency caps, quiet times), set at /v1/settings/messaging."""

from __future__ import annotations

from sqlmodel import Session

from journeys.messaging.rules import MessagingRules
from journeys.store.tables import MessagingSettingsRow
from journeys.store.types import utcnow


def get_rules(session: Session) -> MessagingRules:
    row = session.get(MessagingSettingsRow, 1)
    return MessagingRules.model_validate(row.settings) if row else MessagingRules()


def put_rules(session: Session, rules: MessagingRules) -> None:
    document = rules.model_dump(mode="json", by_alias=True)
    row = session.get(MessagingSettingsRow, 1, with_for_update=True)
    if row is None:
        session.add(MessagingSettingsRow(id=1, settings=document))
    else:
        row.settings, row.updated_at = document, utcnow()
        session.add(row)
