"""The API's in-memory view of triggers and published journeys, kept fresh.

Each process holds a snapshot (catalog + routing index) so that routing an event needs
no store round trip. It reloads right after a change it made, and polls the store's
catalog revision to see changes made by other processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from journeys.definitions.catalog import TriggerCatalog
from journeys.ingest.routing import RoutingIndex
from journeys.store.db import transaction
from journeys.store.journeys import draft_starts, live_journeys
from journeys.store.revision import current_revision
from journeys.store.triggers import load_catalog

log = logging.getLogger("journeys.ingest.catalog")


@dataclass(frozen=True)
class Snapshot:
    catalog: TriggerCatalog
    routing: RoutingIndex
    revision: int
    drafts: Mapping[str, list[str]] = field(default_factory=dict)  # trigger -> draft journeys


class CatalogCache:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._snapshot = Snapshot(TriggerCatalog(), RoutingIndex(), revision=-1)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def reload(self) -> Snapshot:
        with transaction(self._engine) as session:
            snapshot = Snapshot(
                catalog=load_catalog(session),
                routing=RoutingIndex(live_journeys(session)),
                revision=current_revision(session),
                drafts=draft_starts(session),
            )
        self._snapshot = snapshot  # one reference swap: readers see the old or the new whole
        return snapshot

    def _changed(self) -> bool:
        with transaction(self._engine) as session:
            return current_revision(session) != self._snapshot.revision

    def fresh(self) -> Snapshot:
        """The snapshot, reloaded first if the store has changed (one small read)."""
        return self.reload() if self._changed() else self._snapshot

    async def watch(self, every_seconds: float) -> None:
        """Reload whenever another process changed the catalog; runs until cancelled."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                if await asyncio.to_thread(self._changed):
                    await asyncio.to_thread(self.reload)
            except SQLAlchemyError as error:
                log.warning("catalog refresh failed, keeping the current one: %s", error)
