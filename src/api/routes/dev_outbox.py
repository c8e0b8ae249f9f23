"""/dev/outbox: what `journeys dev` captured instead of sending, and its SMS/push receivers."""

from __future__ import annotations

import html
import json
import time
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import ServicesDep
from journeys.kit.signing import SIGNATURE_HEADER, verify
from journeys.store.outbox import CapturedMessage, Outbox

router = APIRouter(prefix="/dev/outbox", tags=["dev outbox"])

# An email is the author's HTML served on the API's own origin: shown as a mail client
# would (images, inline styles), in a sandbox of its own, with no script and no form.
EMAIL_CSP = (
    "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
    "font-src * data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)


def _outbox(services: ServicesDep) -> Outbox:
    return Outbox(services.settings.outbox_dir)


def _public(message: CapturedMessage, base: str) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "at": message.at,
        "to": message.to,
        "subject": message.subject,
        "text": message.text,
        "view_url": f"{base}/dev/outbox/{message.id}" if message.html else None,
        "open_pixel_url": message.pixel_url,
        "links": message.links,
        "data": message.data,
    }


@router.get("", response_model=None)
def list_outbox(request: Request, services: ServicesDep) -> Response:
    """Captured messages, newest first: a page for browsers, JSON for everything else."""
    base = str(request.base_url).rstrip("/")
    messages = [_public(m, base) for m in _outbox(services).messages()]
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_page(messages))
    return JSONResponse(messages)


@router.get("/{message_id}", response_class=HTMLResponse)
def view_message(message_id: str, services: ServicesDep) -> HTMLResponse:
    """An email as its recipient sees it; viewing it loads the open pixel, like a mail client."""
    message = _outbox(services).get(message_id)
    if message is None or message.html is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, "no such email in the outbox")
    return HTMLResponse(message.html, headers={"Content-Security-Policy": EMAIL_CSP})


@router.post("/{channel}", status_code=HTTPStatus.ACCEPTED)
async def capture(channel: str, request: Request, services: ServicesDep) -> dict[str, str]:
    """The SMS and push provider of `journeys dev` (and a webhook receiver): checks the
    signature, keeps the message."""
    if channel not in ("sms", "push", "webhook"):
        raise HTTPException(HTTPStatus.NOT_FOUND, "capture sms, push or webhook")
    body = await request.body()
    secret = services.settings.signing_secret.get_secret_value()
    if not verify(secret, request.headers.get(SIGNATURE_HEADER), body, time.time()):
        raise HTTPException(HTTPStatus.UNAUTHORIZED, "bad or missing signature")
    payload = json.loads(body)
    text = payload.get("text") or payload.get("body") or json.dumps(payload, ensure_ascii=False)
    message = CapturedMessage(
        channel=channel,
        to=str(payload.get("to", "")),
        subject=payload.get("title"),
        text=text,
        data=payload,
    )
    _outbox(services).add(message)
    return {"id": message.id}


def _summary(message: dict[str, Any]) -> str:
    if message["view_url"]:
        title = html.escape(message["subject"] or "(no subject)")
        return f'<a href="{html.escape(message["view_url"])}">{title}</a>'
    return html.escape(message["subject"] or message["text"])


def _page(messages: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr><td>{at}</td><td>{channel}</td><td>{to}</td><td>{what}</td></tr>".format(
            at=html.escape(m["at"][:19].replace("T", " ")),
            channel=html.escape(m["channel"]),
            to=html.escape(m["to"]),
            what=_summary(m),
        )
        for m in messages
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Journeys dev outbox</title>
<meta http-equiv="refresh" content="5">
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}
td,th{{padding:.4rem .8rem;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>Outbox</h1><p>Messages <code>journeys dev</code> captured instead of sending.
Opening an email loads its tracking pixel, as a mail client would.</p>
<table><tr><th>At (UTC)</th><th>Channel</th><th>To</th><th>Message</th></tr>{rows}</table>
</body></html>"""
