"""The gateway as `journeys api` serves it: one app per process, each with its own logging
and tracing (uvicorn starts its worker processes afresh, so nothing set up by the command
itself reaches them)."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from journeys.observability.logs import configure_logging
from journeys.observability.tracing import configure_tracing
from journeys.settings import Settings


def serve_app() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    configure_tracing("journeys-api")
    return create_app(settings)
