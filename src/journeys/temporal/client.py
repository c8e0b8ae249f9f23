"""Connecting to Temporal the same way from the API, the worker and the CLI."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig

from journeys.observability.tracing import temporal_plugins
from journeys.settings import Settings
from journeys.temporal.converter import data_converter


async def connect(
    settings: Settings,
    *,
    lazy: bool = False,
    retry_config: RetryConfig | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """A client for the configured server; `lazy` connects on the first call instead. It
    carries traces when tracing is on (see `journeys.observability.tracing`)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter,
        tls=settings.temporal_tls,
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        lazy=lazy,
        retry_config=retry_config,
        runtime=runtime,
        plugins=temporal_plugins(),
    )
