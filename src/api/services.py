"""What the API's handlers share, built once by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from temporalio.client import Client

from api.auth import Authenticator, RateLimiter
from api.metrics import ApiMetrics
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.dispatch import Dispatcher
from journeys.ingest.ingestion import Ingestion
from journeys.messaging.tracking import Tokens
from journeys.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    temporal: Client
    catalog: CatalogCache
    dispatcher: Dispatcher
    auth: Authenticator
    rate_limiter: RateLimiter
    tokens: Tokens
    ingestion: Ingestion
    metrics: ApiMetrics

    def temporal_ui_link(self, workflow_id: str, run_id: str | None = None) -> str:
        from urllib.parse import quote

        base = self.settings.temporal_ui_url.rstrip("/")
        path = f"{base}/namespaces/{quote(self.settings.temporal_namespace)}/workflows/"
        path += quote(workflow_id, safe="")
        return f"{path}/{run_id}/history" if run_id else path
