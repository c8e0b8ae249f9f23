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
        "from": message.sender,
        "date": message.date,
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


# The envelope around it: its headers, and the email framed from the same origin.
ENVELOPE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _email(services: ServicesDep, message_id: str) -> CapturedMessage:
    message = _outbox(services).get(message_id)
    if message is None or message.html is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, "no such email in the outbox")
    return message


@router.get("/{message_id}", response_class=HTMLResponse)
def view_message(message_id: str, services: ServicesDep) -> HTMLResponse:
    """An email as a mail client shows it: subject, sender, recipients and date above the
    message, whose open pixel loads as the client's would."""
    message = _email(services, message_id)
    fields = [("From", message.sender), ("To", message.to), ("Date", message.date)]
    rows = "".join(
        f"<dt>{name}</dt><dd>{html.escape(value or chr(0x2013))}</dd>" for name, value in fields
    )
    subject = html.escape(message.subject or "(no subject)")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{subject}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem 2rem}}
dl{{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.8rem 0 1rem}}
dt{{color:#6b7280}}dd{{margin:0}}iframe{{width:100%;height:70vh;border:1px solid #ddd}}</style>
</head><body><p><a href="../outbox">Outbox</a></p><h1>{subject}</h1><dl>{rows}</dl>
<iframe src="{html.escape(message.id)}/body" sandbox title="The email"></iframe></body></html>"""
    return HTMLResponse(page, headers={"Content-Security-Policy": ENVELOPE_CSP})


@router.get("/{message_id}/body", response_class=HTMLResponse)
def message_body(message_id: str, services: ServicesDep) -> HTMLResponse:
    """The email's HTML as its recipient's mail client renders it."""
    message = _email(services, message_id)
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
