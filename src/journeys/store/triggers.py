"""Custom and record_change trigger definitions."""

from __future__ import annotations

from sqlmodel import Session, select

from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import to_document
from journeys.definitions.triggers import TriggerDefinition
from journeys.store.revision import bump_revision
from journeys.store.tables import TriggerRow
from journeys.store.types import utcnow


def put_trigger(session: Session, definition: TriggerDefinition) -> bool:
    """Create or replace a trigger definition; True when it was created."""
    document = to_document(definition)
    row = session.get(TriggerRow, definition.name, with_for_update=True)
    created = row is None
    if row is None:
        row = TriggerRow(name=definition.name, status=definition.status, definition=document)
    elif row.definition == document:
        return False
    else:
        row.status = definition.status
        row.definition = document
        row.updated_at = utcnow()
    session.add(row)
    bump_revision(session)
    return created


def delete_trigger(session: Session, name: str) -> bool:
    row = session.get(TriggerRow, name)
    if row is None:
        return False
    session.delete(row)
    bump_revision(session)
    return True


def get_trigger(session: Session, name: str) -> TriggerDefinition | None:
    row = session.get(TriggerRow, name)
    return TriggerDefinition.model_validate(row.definition) if row else None


def list_triggers(session: Session) -> list[TriggerDefinition]:
    rows = session.exec(select(TriggerRow).order_by(TriggerRow.name)).all()
    return [TriggerDefinition.model_validate(row.definition) for row in rows]


def load_catalog(session: Session) -> TriggerCatalog:
    return TriggerCatalog(list_triggers(session))
