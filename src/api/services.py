"""What the API's handlers share, built once by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Engine
from temporalio.client import Client

from api.auth import Authenticator, RateLimiter
from api.metrics import ApiMetrics
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.ingestion import Ingestion
from journeys.ingest.interactions import Interactions
from journeys.ingest.provider_events import ProviderEvents
from journeys.ingest.record_changes import RecordChanges
from journeys.kit.isolated import Isolated
from journeys.lifecycle.contacts import ContactLifecycle
from journeys.lifecycle.journeys import JourneyLifecycle
from journeys.lifecycle.triggers import TriggerLifecycle
from journeys.messaging.tracking import Tokens
from journeys.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    temporal: Client
    catalog: CatalogCache
    auth: Authenticator
    rate_limiter: RateLimiter
    tokens: Tokens
    metrics: ApiMetrics
    # Use cases: taking events in, and what changes outside of events.
    ingestion: Ingestion
    records: RecordChanges
    interactions: Interactions
    provider_events: ProviderEvents
    journeys: JourneyLifecycle
    triggers: TriggerLifecycle
    contacts: ContactLifecycle
    # Where what authors wrote runs when it may run away (simulations).
    isolated: Isolated

    def temporal_ui_link(self, workflow_id: str, run_id: str | None = None) -> str:
        base = self.settings.temporal_ui_url.rstrip("/")
        path = f"{base}/namespaces/{quote(self.settings.temporal_namespace)}/workflows/"
        path += quote(workflow_id, safe="")
        return f"{path}/{run_id}/history" if run_id else path
