"""Dashboard sessions against a real store: who may hold one, and when it ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import BOOTSTRAP
from api.ui.session import LOGIN_LINK_SECONDS, SESSION_HOURS, Sessions
from journeys.store.api_keys import Principal, Scope, create_key, revoke_key, verify_key
from journeys.store.db import transaction

SECRET = "server-signing-secret"
BOOTSTRAP_KEY = "bootstrap-key-of-this-deployment"
NOW = 1_900_000_000.0


def at(moment: float) -> Callable[[], float]:
    return lambda: moment


def sessions(clock: float = NOW, bootstrap: str | None = BOOTSTRAP_KEY) -> Sessions:
    return Sessions(SECRET, bootstrap, clock=at(clock))


def new_key(engine: Engine, scopes: list[Scope], *, signed: bool = False) -> tuple[Principal, str]:
    with transaction(engine) as session:
        row, secret = create_key(session, "ops", scopes, signed=signed)
        return Principal(row.id, row.name, frozenset(scopes), signed=signed), secret


def holder(engine: Engine, cookie: str, checker: Sessions | None = None) -> str | None:
    with Session(engine) as session:
        viewer = (checker or sessions()).viewer(session, cookie)
        return viewer.key_id if viewer else None


def test_an_admin_key_holds_a_session_until_it_expires(engine: Engine) -> None:
    admin, secret = new_key(engine, [Scope.ADMIN])
    cookie = sessions().cookie_for(admin, secret)
    assert holder(engine, cookie) == admin.key_id
    almost = NOW + SESSION_HOURS * 3600 - 1
    assert holder(engine, cookie, sessions(clock=almost)) == admin.key_id
    assert holder(engine, cookie, sessions(clock=almost + 2)) is None


def test_revoking_the_key_ends_its_sessions(engine: Engine) -> None:
    admin, secret = new_key(engine, [Scope.ADMIN])
    cookie = sessions().cookie_for(admin, secret)
    with transaction(engine) as session:
        assert revoke_key(session, admin.key_id)
    assert holder(engine, cookie) is None


@pytest.mark.parametrize(
    ("scopes", "signed"), [([Scope.EVENTS_WRITE], False), ([Scope.ADMIN], True)]
)
def test_only_admin_keys_sent_in_the_clear_hold_sessions(
    engine: Engine, scopes: list[Scope], signed: bool
) -> None:
    principal, secret = new_key(engine, scopes, signed=signed)
    assert holder(engine, sessions().cookie_for(principal, secret)) is None


def test_a_cookie_needs_the_server_secret_and_the_keys_own_secret(engine: Engine) -> None:
    admin, secret = new_key(engine, [Scope.ADMIN])
    with Session(engine) as session:
        assert verify_key(session, secret) is not None
    forged = Sessions("another-secret", BOOTSTRAP_KEY, clock=at(NOW)).cookie_for(admin, secret)
    assert holder(engine, forged) is None
    guessed = sessions().cookie_for(admin, secret + "x")  # the id alone is not enough
    assert holder(engine, guessed) is None
    genuine = sessions().cookie_for(admin, secret)
    body, _, signature = genuine.rpartition(".")
    # The first character: the last one's low bits are base64 padding, which the decoder drops.
    altered = ("B" if signature.startswith("A") else "A") + signature[1:]
    assert holder(engine, f"{body}.{altered}") is None
    assert holder(engine, "not a cookie") is None


def test_the_bootstrap_keys_sessions_end_when_it_changes(engine: Engine) -> None:
    cookie = sessions().cookie_for(BOOTSTRAP, BOOTSTRAP_KEY)
    assert holder(engine, cookie) == BOOTSTRAP.key_id
    assert holder(engine, cookie, sessions(bootstrap="a-new-bootstrap-key")) is None
    assert holder(engine, cookie, sessions(bootstrap=None)) is None


def test_a_login_link_gives_a_session_for_two_minutes_and_is_no_session_itself(
    engine: Engine,
) -> None:
    admin, secret = new_key(engine, [Scope.ADMIN])
    token = sessions().link_token_for(admin, secret)
    assert holder(engine, token) is None  # a link is not a cookie
    with Session(engine) as session:
        late = sessions(clock=NOW + LOGIN_LINK_SECONDS + 1).cookie_from_link(session, token)
        assert late is None
        cookie = sessions(clock=NOW + LOGIN_LINK_SECONDS).cookie_from_link(session, token)
        assert cookie is not None
        assert sessions().cookie_from_link(session, cookie) is None  # a cookie is not a link
    assert holder(engine, cookie, sessions(clock=NOW + LOGIN_LINK_SECONDS)) == admin.key_id
