"""Dependencies: services, a store session per request, and the caller's key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.services import Services
from journeys.store.api_keys import Principal, Scope


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A session for the request; handlers commit what they change, the rest rolls back."""
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def authorize(
        services: ServicesDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                HTTPStatus.UNAUTHORIZED,
                "missing API key: send `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = await services.auth.authenticate(credentials.credentials)
        if principal is None:
            raise HTTPException(
                HTTPStatus.UNAUTHORIZED,
                "unknown or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.may(scope):
            raise HTTPException(HTTPStatus.FORBIDDEN, f"this key lacks the {scope!s} scope")
        return principal

    return authorize


EventWriter = Annotated[Principal, Depends(require(Scope.EVENTS_WRITE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
