"""The web snippet, `GET /sdk/journeys.js`, and the one call it makes: fire a custom trigger
from a web page with a publishable key.

A publishable key is public (every visitor can read it in the page), so what it allows is
what anyone may do: fire the custom triggers it names, from pages on its origins, within the
rate limits, for a contact named by the page. It reads nothing: the answer says the event
was taken, not what it started (that would tell a stranger who is a contact and who is in
which journey), and the contact data it carries only ever creates a contact.

CORS is answered here, per key, rather than by a middleware: the origins allowed are the
key's, and no answer carries credentials.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from api.deps import ServicesDep
from api.errors import error_response
from api.event_answers import EventId
from journeys.contacts.model import ContactChanges, ContactWriter
from journeys.definitions.catalog import TriggerKind
from journeys.definitions.common import AttributeName, ContactId
from journeys.ingest.contracts import EventRequest
from journeys.store.api_keys import Principal

SNIPPET = files("api").joinpath("sdk", "journeys.js").read_bytes()
SNIPPET_ETAG = f'"{hashlib.sha256(SNIPPET).hexdigest()[:20]}"'

# A page's attribute values are short texts, numbers or booleans: enough for a form, not a
# way to load a contact's runs with a stranger's megabytes.
MAX_PAGE_ATTRIBUTES = 50
MAX_PAGE_TEXT = 500


def _page_value(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_PAGE_TEXT:
        raise ValueError(f"at most {MAX_PAGE_TEXT} characters from a page")
    if not isinstance(value, str | int | float | bool | None):
        raise ValueError("a text, a number, a boolean or null")
    return value


PageValue = Annotated[Any, AfterValidator(_page_value)]


class PageRoute(APIRoute):
    """Every answer of a key's call, refusals included, carries the CORS headers of the
    origin the key allowed (set by `page_key`), so the page can read why it was refused."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_for_page(request: Request) -> Response:
            try:
                response = await handle(request)
            except Exception as error:
                answer = _house_handler(request, error)
                if answer is None:
                    raise
                response = await answer(request, error)
            origin = getattr(request.state, "page_origin", None)
            if origin is not None:
                response.headers.update(_cors(origin))
            return response

        return handle_for_page


def _house_handler(
    request: Request, error: Exception
) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]] | None:
    """The app's own handler for this error (the house error body), as the app would pick it."""
    handlers = request.app.exception_handlers
    return next((handlers[kind] for kind in type(error).__mro__ if kind in handlers), None)


def _cors(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


router = APIRouter(prefix="/sdk", tags=["web snippet"], route_class=PageRoute)

KeyParam = Annotated[
    str, Query(alias="key", max_length=100, description="A publishable key (`jkpub_...`).")
]


async def page_key(request: Request, services: ServicesDep, key: KeyParam) -> Principal:
    """The publishable key, used from one of its origins and within the rate limits."""
    principal = await services.auth.publishable(key)
    if principal is None:
        raise HTTPException(HTTPStatus.UNAUTHORIZED, UNKNOWN_KEY)
    origin = request.headers.get("origin")
    if origin is None or origin not in principal.origins:
        # No CORS headers: a browser keeps this answer from the page.
        raise HTTPException(HTTPStatus.FORBIDDEN, _not_from(origin))
    request.state.page_origin = origin
    settings = services.settings
    address = request.client.host if request.client else "unknown"
    limits = (
        (f"page-address:{address}", settings.page_rate_per_address, "this address"),
        (
            f"page-key:{principal.key_id}",
            principal.rate_limit or settings.page_rate_per_key,
            "this key",
        ),
    )
    for bucket, rate, whose in limits:
        wait = services.rate_limiter.wait(bucket, rate)
        if wait > 0:
            raise HTTPException(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"too many events from {whose}; retry later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
    return principal


PageKey = Annotated[Principal, Depends(page_key)]
UNKNOWN_KEY = "unknown or revoked publishable key"


def _not_from(origin: str | None) -> str:
    return f"this key may not be used from {origin or 'a request without an Origin'}"


class PageEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId = Field(
        description="Made by the snippet for each event and sent again on its retries: "
        "the event acts once."
    )
    contact_id: ContactId | None = Field(
        default=None, description="The contact's id, if the page knows it; default: the email."
    )
    email: EmailStr | None = Field(default=None, description="The visitor's email address.")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    attributes: dict[AttributeName, PageValue] = Field(
        default_factory=dict,
        max_length=MAX_PAGE_ATTRIBUTES,
        description=f"The trigger's attributes: texts of at most {MAX_PAGE_TEXT} characters, "
        "numbers, booleans.",
    )

    @model_validator(mode="after")
    def _names_the_contact(self) -> PageEventIn:
        if self.contact_id is None and self.email is None:
            raise ValueError("name the contact: contact_id, email, or both")
        return self

    def request(self, trigger: str) -> EventRequest:
        contact_id = self.contact_id or str(self.email).lower()
        known = self.model_dump(include={"email", "first_name", "last_name"}, exclude_none=True)
        return EventRequest(
            trigger=trigger,
            contact_id=contact_id,
            attributes=dict(self.attributes),
            event_id=self.event_id,
            contact=ContactChanges(**known) if known else None,
            contact_writer=ContactWriter.VISITOR,
        )


class PageEventAccepted(BaseModel):
    """What a page learns: its event was taken (or had been), nothing of what it did."""

    event_id: str
    trigger: str
    duplicate: bool = Field(description="True when this event id was accepted already.")


@router.get("/journeys.js", include_in_schema=False)
def snippet(request: Request) -> Response:
    headers = {
        "Cache-Control": "public, max-age=3600",
        "ETag": SNIPPET_ETAG,
        "X-Content-Type-Options": "nosniff",
        # Any page may load it, also with `crossorigin` and subresource integrity.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("if-none-match") == SNIPPET_ETAG:
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=headers)
    return Response(SNIPPET, media_type="text/javascript; charset=utf-8", headers=headers)


@router.options("/triggers/{name}/events", include_in_schema=False)
async def preflight(request: Request, services: ServicesDep, key: KeyParam) -> Response:
    """Only the key's origins may send; no credentials (cookies) are ever allowed."""
    principal = await services.auth.publishable(key)
    origin = request.headers.get("origin")
    if principal is None:
        return error_response(HTTPStatus.UNAUTHORIZED, UNKNOWN_KEY)
    if origin is None or origin not in principal.origins:
        return error_response(HTTPStatus.FORBIDDEN, _not_from(origin))
    return Response(
        status_code=HTTPStatus.NO_CONTENT,
        headers={
            **_cors(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


@router.post(
    "/triggers/{name}/events",
    status_code=HTTPStatus.ACCEPTED,
    responses={
        401: {"description": "Unknown or revoked publishable key"},
        403: {"description": "An origin, or a trigger, the key does not name"},
        429: {"description": "Too many events from this address or with this key"},
        503: {"description": "Temporal unreachable: retry with the same event_id"},
    },
)
async def fire_from_page(
    name: str, body: PageEventIn, services: ServicesDep, principal: PageKey
) -> PageEventAccepted:
    """Fire a custom trigger from a web page (what the snippet calls)."""
    trigger = services.catalog.snapshot.catalog.get(name)
    if name not in principal.triggers:
        raise HTTPException(HTTPStatus.FORBIDDEN, f"this key may not fire {name}")
    if trigger is not None and trigger.kind is not TriggerKind.CUSTOM:
        raise HTTPException(
            HTTPStatus.FORBIDDEN, f"{name} is not a custom trigger: a page may not fire it"
        )
    accepted = await services.ingestion.accept(body.request(name))
    return PageEventAccepted(
        event_id=accepted.event_id, trigger=accepted.trigger, duplicate=accepted.duplicate
    )
