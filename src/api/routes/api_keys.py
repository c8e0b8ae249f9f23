"""API keys: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, ServicesDep, SessionDep
from journeys.store.api_keys import Scope, create_key, list_keys, revoke_key

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class KeyOut(BaseModel):
    id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None = None


class NewKey(KeyOut):
    secret: str = Field(description="Shown this once: store it now.")


@router.post("", status_code=HTTPStatus.CREATED)
def create_api_key(body: KeyIn, session: SessionDep, _: Admin) -> NewKey:
    row, secret = create_key(session, body.name, body.scopes)
    session.commit()
    return NewKey(**KeyOut.model_validate(row, from_attributes=True).model_dump(), secret=secret)


@router.get("")
def list_api_keys(session: SessionDep, _: Admin) -> list[KeyOut]:
    return [KeyOut.model_validate(row, from_attributes=True) for row in list_keys(session)]


@router.delete(
    "/{key_id}",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    responses={404: {"description": "Unknown or already revoked key"}},
)
def revoke_api_key(key_id: str, services: ServicesDep, session: SessionDep, _: Admin) -> Response:
    if not revoke_key(session, key_id):
        raise HTTPException(HTTPStatus.NOT_FOUND, f"no active key {key_id!r}")
    session.commit()
    services.auth.forget(key_id)
    return Response(status_code=HTTPStatus.NO_CONTENT)
