"""Tracking links: the open pixel and rewritten links of emails raise interaction triggers."""

from __future__ import annotations

import base64
import uuid
from http import HTTPStatus

from fastapi import APIRouter, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from api.deps import ServicesDep
from journeys.messaging.tracking import CLICK_PATH, OPEN_PATH, ClickRef, Read
from journeys.store.db import transaction
from journeys.store.links import CODE_LENGTH, resolve

router = APIRouter(tags=["tracking"])

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@router.get(
    OPEN_PATH + "/{token}",
    response_class=Response,
    responses={200: {"content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def opened(token: str, services: ServicesDep) -> Response:
    """The open pixel: raises email.opened for its message. Always answers the image."""
    read = services.tokens.read_open(token)
    if read is not None and read.current:  # an old pixel shows, and counts for nothing
        await services.interactions.report("email.opened", read.ref, uuid.uuid4().hex)
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store, max-age=0"})


@router.get(
    CLICK_PATH + "/{token}",
    status_code=HTTPStatus.FOUND,
    response_class=RedirectResponse,
    responses={404: {"description": "Not a link Journeys made"}},
)
async def clicked(token: str, services: ServicesDep) -> RedirectResponse:
    """A tracked link (email, or a short SMS link): raises email.link_clicked or
    sms.link_clicked, then redirects to the original address.

    Only addresses Journeys signed or stored are redirected to: never an open redirect.
    """
    read = services.tokens.read_click(token)
    if read is None and len(token) <= CODE_LENGTH and token.isalnum():
        short = await run_in_threadpool(_resolve, services, token)
        read = None if short is None else Read(short, current=True)
    if read is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, "unknown link")
    ref = read.ref
    if read.current:  # an old link still leads where it points; its click is not counted
        trigger = f"{ref.channel}.link_clicked"
        await services.interactions.report(trigger, ref, uuid.uuid4().hex, {"url": ref.url})
    return RedirectResponse(ref.url, status_code=HTTPStatus.FOUND)


def _resolve(services: ServicesDep, code: str) -> ClickRef | None:
    with transaction(services.engine) as session:
        return resolve(session, code)
