"""Dependencies: services, a store session per request, and the caller's key."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase
from sqlmodel import Session

from api.auth import Unauthenticated, key_from_header
from api.services import Services
from journeys.contacts.model import ContactWriter
from journeys.kit.signing import SIGNATURE_HEADER
from journeys.store.api_keys import Principal, Scope


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    # async, though it awaits nothing: FastAPI runs a plain `def` dependency in its thread
    # pool, a hop per request that costs the gateway a good part of its throughput.
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A session for the request; handlers commit what they change, the rest rolls back."""
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# Declared for the OpenAPI document; the header itself is read below (Basic is accepted too).
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")
segment_write_key = HTTPBase(
    scheme="basic",
    scheme_name="SegmentWriteKey",
    auto_error=False,
    description="An API key as the Basic-auth user, as Segment's libraries send their write key",
)


def require(scope: Scope, *, signed_requests: bool = False) -> Callable[..., Awaitable[Principal]]:
    """The caller, who must hold `scope`; ingestion calls may be signed instead of keyed."""

    async def authorize(
        request: Request,
        services: ServicesDep,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return await authorize_call(request, services, scope, signed_requests)

    return authorize


async def authorize_call(
    request: Request, services: Services, scope: Scope, signed_requests: bool
) -> Principal:
    """The caller's key (or signature), its scope and its rate, or the HTTP error that says
    what is wrong."""
    try:
        principal = await _authenticate(request, services, signed_requests)
    except Unauthenticated as error:
        raise HTTPException(
            HTTPStatus.UNAUTHORIZED, str(error), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    if not principal.may(scope):
        raise HTTPException(HTTPStatus.FORBIDDEN, f"this key lacks the {scope!s} scope")
    wait = services.rate_limiter.wait_for(principal)
    if wait > 0:
        raise HTTPException(
            HTTPStatus.TOO_MANY_REQUESTS,
            "rate limit of this key exceeded",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return principal


async def _authenticate(request: Request, services: Services, signed_requests: bool) -> Principal:
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature and signed_requests:
        return await services.auth.from_signature(signature, await request.body())
    authorization = request.headers.get("authorization", "")
    key = key_from_header(authorization)
    if key is None and authorization.split(" ", 1)[0].lower() not in ("", "bearer", "basic"):
        # Never echo the header: it likely is the key itself, sent without its scheme.
        raise Unauthenticated(
            "the Authorization header is not `Bearer <key>`: its scheme is missing or unknown"
        )
    if key is None:
        raise Unauthenticated("missing API key: send `Authorization: Bearer <key>`")
    return await services.auth.from_key(key)


EventWriter = Annotated[Principal, Depends(require(Scope.EVENTS_WRITE, signed_requests=True))]
ContactsWriter = Annotated[Principal, Depends(require(Scope.CONTACTS_WRITE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]


def contact_writer(principal: Principal) -> ContactWriter:
    """What a key may change in the contacts its events and records carry."""
    return ContactWriter.OWNER if principal.may(Scope.CONTACTS_WRITE) else ContactWriter.PRODUCER
