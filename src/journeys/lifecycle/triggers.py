"""Custom triggers defined, redefined and deleted, without breaking a published journey."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from journeys.definitions.catalog import BUILT_IN, incompatible_changes
from journeys.definitions.triggers import TriggerDefinition, TriggerStatus
from journeys.definitions.validation import validate_trigger
from journeys.ingest.catalog_cache import CatalogCache, Snapshot
from journeys.ingest.routing import RoutingIndex
from journeys.kit.problems import ProblemsError
from journeys.store import triggers as store
from journeys.store.db import transaction
from journeys.store.journeys import live_journeys


class TriggerNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown trigger {name!r}")


class TriggerConflict(Exception):
    """A change that would break what uses the trigger, or a built-in trigger."""


class TriggerLifecycle:
    def __init__(self, engine: Engine, catalog: CatalogCache) -> None:
        self._engine = engine
        self._catalog = catalog

    def put(self, definition: TriggerDefinition) -> tuple[bool, Snapshot]:
        """Define the trigger, or replace its definition unless published journeys rely on
        what the change takes away; (whether it is new, the catalog that holds it)."""
        problems = validate_trigger(definition)
        if problems:
            raise ProblemsError(problems)
        name = definition.name
        with transaction(self._engine) as session:
            current = store.get_trigger(session, name)
            breaking = incompatible_changes(current, definition) if current else []
            if definition.status is not TriggerStatus.READY:
                breaking.append(f"it would become {definition.status} and take no events")
            users = _users(session, name) if breaking else []
            if users:
                raise TriggerConflict(
                    f"{'; '.join(breaking)}: published journeys use {name} ({', '.join(users)})"
                )
            created = store.put_trigger(session, definition)
        return created, self._catalog.reload()

    def delete(self, name: str) -> None:
        """Delete a custom trigger that no published journey uses."""
        if name in BUILT_IN:
            raise TriggerConflict(f"{name} is built in: it cannot be deleted")
        with transaction(self._engine) as session:
            users = _users(session, name)
            if users:
                raise TriggerConflict(f"published journeys use {name}: {', '.join(users)}")
            if not store.delete_trigger(session, name):
                raise TriggerNotFound(name)
        self._catalog.reload()


def _users(session: Session, name: str) -> list[str]:
    """Published journeys that use the trigger, read from the store (not a cached index)."""
    return sorted(RoutingIndex(live_journeys(session)).uses(name))
