"""Signing in to the dashboard: an admin API key, once, for a signed session cookie.

Why this design:
- A browser cannot attach a bearer header to a page load, so the key is typed once into a
  form (or exchanged for a login link by `journeys ui-link`) and the server answers with
  a cookie. The key itself is never stored in the browser.
- The cookie holds the key's id and a fingerprint of its secret, signed with itsdangerous
  under the deployment's `signing_secret` and stamped with its time: it cannot be forged
  without that secret *and* the key's stored hash, and it expires after `SESSION_HOURS`.
- Every page load looks the key up again: revoking the key (or changing the bootstrap
  key) ends its sessions at once, and only keys with the admin scope get in.
- HttpOnly keeps the cookie from scripts; SameSite=Strict keeps it off every cross-site
  request, so no other site can act through it (the dashboard also sends no script and
  forbids framing). The price: following a link to the dashboard from another site asks
  for the key again. `Secure` is set whenever the dashboard is served over HTTPS.
- No login rate limit: keys carry 256 random bits, guessing one is hopeless.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlmodel import Session

from api.auth import BOOTSTRAP
from journeys.store.api_keys import Principal, Scope, admin_key

COOKIE = "journeys_session"
SESSION_HOURS = 12
LOGIN_LINK_SECONDS = 120

_SESSION_SALT = "journeys.ui.session"
_LINK_SALT = "journeys.ui.login-link"  # so a link token is never a cookie, nor the reverse


def fingerprint(secret: str) -> str:
    """A digest of the key's stored hash (`api_keys` keeps sha256 of the secret), so the
    cookie can be checked against the store without the secret, and reveals nothing of it."""
    stored = hashlib.sha256(secret.encode()).hexdigest()
    return _of_stored(stored)


def _of_stored(stored_hash: str) -> str:
    return hashlib.sha256(stored_hash.encode()).hexdigest()


class Sessions:
    """Issues and checks session cookies and login links for admin keys."""

    def __init__(
        self,
        signing_secret: str,
        bootstrap_key: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cookies = _serializer(signing_secret, _SESSION_SALT, clock)
        self._links = _serializer(signing_secret, _LINK_SALT, clock)
        self._bootstrap = bootstrap_key

    @property
    def max_age(self) -> timedelta:
        return timedelta(hours=SESSION_HOURS)

    def cookie_for(self, principal: Principal, secret: str) -> str:
        """The cookie value for a key that has just authenticated with `secret`."""
        return str(self._cookies.dumps(_claim(principal, secret)))

    def link_token_for(self, principal: Principal, secret: str) -> str:
        return str(self._links.dumps(_claim(principal, secret)))

    def viewer(self, session: Session, cookie: str) -> Principal | None:
        """Who holds this cookie, if it is genuine, unexpired and its key may still sign in."""
        claim = _loads(self._cookies, cookie, self.max_age)
        return self._viewer(session, claim) if claim else None

    def cookie_from_link(self, session: Session, token: str) -> str | None:
        """A session cookie for a genuine, unexpired login link whose key may still sign in."""
        claim = _loads(self._links, token, timedelta(seconds=LOGIN_LINK_SECONDS))
        if claim is None or self._viewer(session, claim) is None:
            return None
        return str(self._cookies.dumps(claim))

    def _viewer(self, session: Session, claim: dict[str, Any]) -> Principal | None:
        key_id, given = claim.get("key"), claim.get("fingerprint")
        if not isinstance(key_id, str) or not isinstance(given, str):
            return None
        if key_id == BOOTSTRAP.key_id:
            expected = fingerprint(self._bootstrap) if self._bootstrap else None
            name = BOOTSTRAP.key_id
        else:
            found = admin_key(session, key_id)
            if found is None:
                return None
            name, stored_hash = found
            expected = _of_stored(stored_hash)
        if expected is None or not hmac.compare_digest(expected, given):
            return None
        return Principal(key_id=key_id, name=name, scopes=frozenset({Scope.ADMIN}))


def _serializer(secret: str, salt: str, clock: Callable[[], float]) -> URLSafeTimedSerializer:
    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:  # stamps and ages by the given clock
            return int(clock())

    return URLSafeTimedSerializer(secret, salt=salt, signer=Signer)


def _loads(serializer: URLSafeTimedSerializer, value: str, age: timedelta) -> dict[str, Any] | None:
    try:
        claim = serializer.loads(value, max_age=int(age.total_seconds()))
    except BadSignature:  # expired ones too (SignatureExpired is a BadSignature)
        return None
    return claim if isinstance(claim, dict) else None


def _claim(principal: Principal, secret: str) -> dict[str, str]:
    return {"key": principal.key_id, "fingerprint": fingerprint(secret)}
