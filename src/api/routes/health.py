"""Liveness, readiness and metrics."""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from temporalio.service import RPCError

from api.deps import ServicesDep
from journeys.store.db import reachable

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, bool]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(services: ServicesDep) -> Response:
    """The gateway's metrics in Prometheus' text format (scrape it; it is not authenticated,
    like the health checks: it holds counts, no contact data)."""
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The store or Temporal is unreachable"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready to take events: the store and Temporal both answer."""
    checks = {
        "store": await run_in_threadpool(reachable, services.engine),
        "temporal": await _temporal_ok(services),
    }
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
    )


async def _temporal_ok(services: ServicesDep) -> bool:
    try:
        return await services.temporal.service_client.check_health()
    except (RPCError, RuntimeError):
        return False
