"""API keys: the bootstrap key from settings, and keys created through /v1/api-keys."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import OrderedDict

from sqlalchemy import Engine

from journeys.store.api_keys import Principal, Scope, verify_key
from journeys.store.db import transaction

BOOTSTRAP = Principal(key_id="bootstrap", name="bootstrap", scopes=frozenset({Scope.ADMIN}))


class Authenticator:
    """Verifies bearer keys; remembers verified keys briefly so events cost no store read.

    A revoked key therefore keeps working in other API processes for up to `remember_for`
    seconds (the process that revoked it forgets it at once).
    """

    def __init__(
        self,
        engine: Engine,
        bootstrap_key: str | None,
        remember_for: float = 30.0,
        capacity: int = 10_000,
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_key
        self._remember_for = remember_for
        self._capacity = capacity
        self._known: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()

    async def authenticate(self, secret: str) -> Principal | None:
        if self._bootstrap and hmac.compare_digest(secret.encode(), self._bootstrap.encode()):
            return BOOTSTRAP
        now = time.monotonic()
        known = self._known.get(secret)
        if known is not None and now - known[0] < self._remember_for:
            return known[1]
        principal = await asyncio.to_thread(self._verify, secret)
        self._known[secret] = (now, principal)
        self._known.move_to_end(secret)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)
        return principal

    def forget(self, key_id: str) -> None:
        for secret, (_, principal) in list(self._known.items()):
            if principal is not None and principal.key_id == key_id:
                del self._known[secret]

    def _verify(self, secret: str) -> Principal | None:
        with transaction(self._engine) as session:
            return verify_key(session, secret)
