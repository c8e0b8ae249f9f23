"""One-click unsubscribe (RFC 8058): the List-Unsubscribe link of every commercial email.

POST withdraws consent at once (that is what mail clients send for one click). GET shows a
page whose button does the same POST: link scanners fetch every GET in an email, and
they must not unsubscribe anyone.
"""

from __future__ import annotations

import html
from http import HTTPStatus

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep
from journeys.messaging.tracking import UNSUBSCRIBE_PATH, UnsubscribeRef

router = APIRouter(prefix=UNSUBSCRIBE_PATH, tags=["unsubscribe"])


def _ref(services: ServicesDep, token: str) -> UnsubscribeRef:
    read = services.tokens.read_unsubscribe(token)  # honoured whatever its age
    if read is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, "unknown unsubscribe link")
    return read.ref


@router.get("/{token}", response_class=HTMLResponse, responses={404: {"description": "Bad link"}})
def confirm(token: str, services: ServicesDep) -> HTMLResponse:
    """A page that asks for the click (GET never unsubscribes: link scanners fetch it)."""
    ref = _ref(services, token)
    action = html.escape(f"{UNSUBSCRIBE_PATH}/{token}")
    return HTMLResponse(
        _page(
            "Unsubscribe",
            f"<p>Stop receiving {html.escape(ref.channel)} messages from us?</p>"
            f'<form method="post" action="{action}">'
            '<button type="submit">Unsubscribe</button></form>',
        )
    )


@router.post("/{token}", response_class=HTMLResponse, responses={404: {"description": "Bad link"}})
async def unsubscribe(token: str, services: ServicesDep) -> HTMLResponse:
    """Withdraw the contact's consent for the channel; doing it twice changes nothing."""
    ref = _ref(services, token)
    await services.provider_events.unsubscribe(ref)
    return HTMLResponse(_page("Unsubscribed", "<p>Done: you will not hear from us again.</p>"))


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body style='font-family:system-ui,sans-serif;margin:3rem'><h1>{title}</h1>{body}"
        "</body></html>"
    )
