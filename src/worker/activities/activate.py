"""The `activate` step's activity: a custom trigger fired for the contact, routed like a
producer's event."""

from __future__ import annotations

import asyncio

from temporalio import activity

from journeys.engine.commands import Activated
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.contracts import EventRequest, Rejected
from journeys.ingest.ingestion import Ingestion
from worker.contracts import ACTIVATE_TRIGGER, ActivateRequest


class ActivateActivities:
    def __init__(self, catalog: CatalogCache, ingestion: Ingestion) -> None:
        self._catalog = catalog
        self._ingestion = ingestion

    @activity.defn(name=ACTIVATE_TRIGGER.name)
    async def activate_trigger(self, request: ActivateRequest) -> Activated:
        """Its event id is a function of (run, step, iteration), so a retried activity fires
        it once."""
        await asyncio.to_thread(self._catalog.fresh)  # another process may have changed it
        try:
            accepted = await self._ingestion.accept(
                EventRequest(
                    trigger=request.trigger,
                    contact_id=request.contact_id,
                    attributes=request.attributes,
                    event_id=f"activate-{request.instance_id}-{request.step}-{request.iteration}",
                    binding_id=request.binding_id,
                )
            )
        except Rejected as rejected:
            problems = "; ".join(str(p) for p in rejected.problems)
            return Activated(error=f"{rejected.detail}{': ' + problems if problems else ''}")
        return Activated(
            started=accepted.started,
            signaled=accepted.signaled,
            refused={r.journey: r.reason.value for r in accepted.refused},
        )
