"""Tracking links: the open pixel and rewritten links of emails raise interaction triggers."""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import UTC, datetime
from http import HTTPStatus

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import RedirectResponse
from temporalio.service import RPCError

from api.deps import ServicesDep
from journeys.events import TriggerEvent
from journeys.temporal.runs import signal_run
from journeys.tracking import ClickRef, MessageRef

router = APIRouter(prefix="/t", tags=["tracking"])
log = logging.getLogger("journeys.api.tracking")

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@router.get("/o/{token}", response_class=Response, responses={200: {"content": {"image/gif": {}}}})
async def opened(token: str, services: ServicesDep) -> Response:
    """The open pixel: raises email.opened for its message. Always answers the image."""
    ref = services.tokens.read_open(token)
    if ref is not None:
        await _raise(services, "email.opened", ref, {})
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store, max-age=0"})


@router.get(
    "/c/{token}",
    status_code=HTTPStatus.FOUND,
    response_class=RedirectResponse,
    responses={404: {"description": "Not a link Journeys made"}},
)
async def clicked(token: str, services: ServicesDep) -> RedirectResponse:
    """A tracked link: raises email.link_clicked, then redirects to the original address.

    Only addresses inside a token Journeys signed are redirected to: never an open redirect.
    """
    ref = services.tokens.read_click(token)
    if ref is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, "unknown link")
    await _raise(services, "email.link_clicked", ref, {"url": ref.url})
    return RedirectResponse(ref.url, status_code=HTTPStatus.FOUND)


async def _raise(
    services: ServicesDep, trigger: str, ref: MessageRef | ClickRef, extra: dict[str, str]
) -> None:
    event = TriggerEvent(
        event_id=uuid.uuid4().hex,
        trigger=trigger,
        contact_id=ref.contact_id,
        occurred_at=datetime.now(UTC),
        attributes={"message_id": ref.message_id, "step": ref.step, **extra},
        instance_id=ref.instance_id,
    )
    try:
        await signal_run(services.temporal, ref.workflow_id, event)
    except (RPCError, RuntimeError) as error:
        # The reader still gets the image or the page; the interaction is logged, not lost
        # silently, but cannot reach the run while Temporal is away.
        log.warning("could not raise %s for message %s: %s", trigger, ref.message_id, error)
