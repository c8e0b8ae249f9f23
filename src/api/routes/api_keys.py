"""API keys: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, ServicesDep, SessionDep
from journeys.store.api_keys import Scope, create_key, list_keys, revoke_key, signing_secret

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)
    signed: bool = Field(
        default=False,
        description="For webhook producers: the key authenticates requests signed with its "
        "signing secret (X-Journeys-Signature), never a bearer header.",
    )
    rate_limit: float | None = Field(
        default=None, gt=0, description="Requests a second; default: the deployment's."
    )


class KeyOut(BaseModel):
    id: str
    name: str
    scopes: list[Scope]
    signed: bool
    rate_limit: float | None
    created_at: datetime
    revoked_at: datetime | None = None


class NewKey(KeyOut):
    secret: str | None = Field(default=None, description="Shown this once: store it now.")
    signing_secret: str | None = Field(
        default=None, description="A signed key's signing secret: shown this once."
    )


@router.post("", status_code=HTTPStatus.CREATED)
def create_api_key(body: KeyIn, services: ServicesDep, session: SessionDep, _: Admin) -> NewKey:
    """A new key. Its secret (or, for a signed key, its signing secret) is shown only now."""
    row, secret = create_key(
        session, body.name, body.scopes, signed=body.signed, rate_limit=body.rate_limit
    )
    session.commit()
    key = KeyOut.model_validate(row, from_attributes=True).model_dump()
    if body.signed:
        server_secret = services.settings.signing_secret.get_secret_value()
        return NewKey(**key, signing_secret=signing_secret(server_secret, row.id))
    return NewKey(**key, secret=secret)


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
