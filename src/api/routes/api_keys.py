"""API keys: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from api.deps import Admin, ServicesDep, SessionDep
from journeys.definitions.catalog import TriggerKind
from journeys.definitions.common import TriggerName
from journeys.kit.problems import Problem, ProblemsError
from journeys.store.api_keys import (
    KeyKind,
    Scope,
    create_key,
    create_publishable_key,
    list_keys,
    publishable_key,
    revoke_key,
    signing_secret,
)
from journeys.store.tables import ApiKeyRow

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _origin(value: str) -> str:
    """A web origin as browsers send it in `Origin`: scheme, host and a port if not the
    default one; nothing else."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an origin such as https://www.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            "an origin is a scheme, a host and a port, with no path: "
            f"{parts.scheme}://{parts.netloc}"
        )
    default = {"http": 80, "https": 443}[parts.scheme]
    port = parts.port
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port and port != default else "")


Origin = Annotated[str, Field(max_length=300), AfterValidator(_origin)]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: KeyKind = Field(
        default=KeyKind.SECRET,
        description="`publishable`: a key for web pages (the web snippet), public by design; "
        "it fires only the custom `triggers` it names, from pages on its `origins`.",
    )
    scopes: list[Scope] = Field(default_factory=list, description="Secret keys: at least one.")
    triggers: list[TriggerName] = Field(
        default_factory=list,
        max_length=100,
        description="Publishable keys: the custom triggers it may fire (at least one).",
    )
    origins: list[Origin] = Field(
        default_factory=list,
        max_length=50,
        description="Publishable keys: the pages' origins (`https://www.example.com`) it may be "
        "used from, checked with CORS (at least one).",
    )
    signed: bool = Field(
        default=False,
        description="For webhook producers: the key authenticates requests signed with its "
        "signing secret (X-Journeys-Signature), never a bearer header.",
    )
    rate_limit: float | None = Field(
        default=None, gt=0, description="Requests a second; default: the deployment's."
    )

    @model_validator(mode="after")
    def _fits_its_kind(self) -> KeyIn:
        if self.kind is KeyKind.PUBLISHABLE:
            if self.scopes or self.signed:
                raise ValueError(
                    "a publishable key takes triggers and origins, not scopes or signed"
                )
            if not (self.triggers and self.origins):
                raise ValueError(
                    "a publishable key needs triggers and origins, at least one of each"
                )
        elif not self.scopes or self.triggers or self.origins:
            raise ValueError("a secret key takes scopes (at least one), not triggers or origins")
        return self


class KeyOut(BaseModel):
    id: str
    name: str
    kind: KeyKind
    scopes: list[Scope]
    triggers: list[str]
    origins: list[str]
    signed: bool
    rate_limit: float | None
    created_at: datetime
    revoked_at: datetime | None = None
    publishable_key: str | None = Field(
        default=None, description="A publishable key's key, for web pages: it is not a secret."
    )

    @classmethod
    def of(cls, row: ApiKeyRow) -> KeyOut:
        key = cls.model_validate(row, from_attributes=True)
        if key.kind is KeyKind.PUBLISHABLE:
            key.publishable_key = publishable_key(row.id)
        return key


class NewKey(KeyOut):
    secret: str | None = Field(default=None, description="Shown this once: store it now.")
    signing_secret: str | None = Field(
        default=None, description="A signed key's signing secret: shown this once."
    )


@router.post("", status_code=HTTPStatus.CREATED)
def create_api_key(body: KeyIn, services: ServicesDep, session: SessionDep, _: Admin) -> NewKey:
    """A new key. Its secret (or, for a signed key, its signing secret) is shown only now; a
    publishable key is not secret, and is shown again by the list."""
    if body.kind is KeyKind.PUBLISHABLE:
        _custom_triggers_only(services, body.triggers)
        row = create_publishable_key(
            session, body.name, body.triggers, body.origins, rate_limit=body.rate_limit
        )
        session.commit()
        return NewKey(**KeyOut.of(row).model_dump())
    row, secret = create_key(
        session, body.name, body.scopes, signed=body.signed, rate_limit=body.rate_limit
    )
    session.commit()
    key = KeyOut.of(row).model_dump()
    if body.signed:
        server_secret = services.settings.signing_secret.get_secret_value()
        return NewKey(**key, signing_secret=signing_secret(server_secret, row.id))
    return NewKey(**key, secret=secret)


def _custom_triggers_only(services: ServicesDep, triggers: list[str]) -> None:
    catalog = services.catalog.fresh().catalog
    problems = []
    for index, name in enumerate(triggers):
        trigger = catalog.get(name)
        if trigger is None:
            problems.append(Problem(path=f"triggers[{index}]", message=f"no trigger {name!r}"))
        elif trigger.kind is not TriggerKind.CUSTOM:
            problems.append(
                Problem(
                    path=f"triggers[{index}]",
                    message=f"{name} is a {trigger.kind.replace('_', ' ')} trigger: a web page "
                    "may fire custom triggers only",
                )
            )
    if problems:
        raise ProblemsError(problems)


@router.get("")
def list_api_keys(session: SessionDep, _: Admin) -> list[KeyOut]:
    return [KeyOut.of(row) for row in list_keys(session)]


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
