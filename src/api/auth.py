"""Who is calling: bearer (or basic) API keys, and HMAC-signed requests for webhook producers.

Verified keys are remembered briefly so that an event costs no store read. A revoked key
therefore keeps working in other API processes for up to `remember_for` seconds (the
process that revoked it forgets it at once).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import Engine

from journeys.kit.signing import DEFAULT_TOLERANCE_SECONDS, verify
from journeys.store.api_keys import (
    PUBLISHABLE_PREFIX,
    Principal,
    Scope,
    find_key,
    find_publishable,
    signing_secret,
    verify_key,
)
from journeys.store.db import transaction

BOOTSTRAP = Principal(key_id="bootstrap", name="bootstrap", scopes=frozenset({Scope.ADMIN}))


class Unauthenticated(Exception):
    """No valid credentials; the message says what was wrong."""


def key_from_header(authorization: str) -> str | None:
    """The key in `Bearer <key>`, or in `Basic base64(<key>:)` as CDP webhooks send it."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or password or None
    return None


class Authenticator:
    def __init__(
        self,
        engine: Engine,
        bootstrap_key: str | None,
        server_secret: str,
        remember_for: float = 30.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_key
        self._server_secret = server_secret
        self._remember_for = remember_for
        self._capacity = capacity
        self._clock = clock
        self._known: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._signatures_seen: OrderedDict[str, float] = OrderedDict()

    async def from_key(self, secret: str) -> Principal:
        if self._bootstrap and hmac.compare_digest(secret.encode(), self._bootstrap.encode()):
            return BOOTSTRAP
        if secret.startswith(f"{PUBLISHABLE_PREFIX}_"):
            raise Unauthenticated(
                "a publishable key only fires triggers from web pages (/sdk/journeys.js)"
            )
        principal = await self._remembered(f"secret:{secret}", lambda: self._verify(secret))
        if principal is None:
            raise Unauthenticated("unknown or revoked API key")
        if principal.signed:
            raise Unauthenticated(
                "this key only authenticates signed requests (X-Journeys-Signature)"
            )
        return principal

    async def from_signature(self, header: str, body: bytes) -> Principal:
        """A request signed with a signed key's secret: `keyid=<id>,t=<unix time>,v1=<hex>`."""
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        key_id = fields.get("keyid", "")
        principal = await self._remembered(f"id:{key_id}", lambda: self._find(key_id))
        if principal is None or not principal.signed:
            raise Unauthenticated("unknown, revoked or unsigned key in the signature")
        now = self._clock()
        secret = signing_secret(self._server_secret, principal.key_id)
        if not verify(secret, header, body, now):
            raise Unauthenticated(
                f"bad signature, or a timestamp more than {DEFAULT_TOLERANCE_SECONDS} s away"
            )
        seen = f"{key_id}:{fields.get('v1')}"
        self._forget_old_signatures(now)
        if seen in self._signatures_seen:
            raise Unauthenticated("replayed signature: sign every request anew")
        self._signatures_seen[seen] = now
        return principal

    async def publishable(self, key: str) -> Principal | None:
        """The active publishable key `key`, or None."""
        return await self._remembered(f"publishable:{key}", lambda: self._publishable(key))

    def forget(self, key_id: str) -> None:
        for cached, (_, principal) in list(self._known.items()):
            if principal is not None and principal.key_id == key_id:
                del self._known[cached]

    async def _remembered(self, key: str, load: Callable[[], Principal | None]) -> Principal | None:
        now = time.monotonic()
        known = self._known.get(key)
        if known is not None and now - known[0] < self._remember_for:
            return known[1]
        principal = await asyncio.to_thread(load)
        self._known[key] = (now, principal)
        self._known.move_to_end(key)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)
        return principal

    def _forget_old_signatures(self, now: float) -> None:
        # A signature older than the tolerance is refused by its timestamp anyway.
        horizon = now - 2 * DEFAULT_TOLERANCE_SECONDS
        while self._signatures_seen and next(iter(self._signatures_seen.values())) < horizon:
            self._signatures_seen.popitem(last=False)

    def _verify(self, secret: str) -> Principal | None:
        with transaction(self._engine) as session:
            return verify_key(session, secret)

    def _find(self, key_id: str) -> Principal | None:
        with transaction(self._engine) as session:
            return find_key(session, key_id)

    def _publishable(self, key: str) -> Principal | None:
        with transaction(self._engine) as session:
            return find_publishable(session, key)


class RateLimiter:
    """A token bucket per key (or per visitor address): `rate` requests a second on average,
    bursts of twice that (at least one).

    Per API process: with N processes behind a balancer a key gets up to N times the rate.
    At most `capacity` buckets are kept, the least recently used dropped first: a client
    whose bucket was dropped starts again with a full one, a bounded gift that keeps a flood
    of addresses from growing the process without end.
    """

    def __init__(
        self,
        default_rate: float,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 100_000,
    ) -> None:
        self._default = default_rate
        self._clock = clock
        self._capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def wait_for(self, principal: Principal) -> float:
        """0 when the key's call may go ahead, else how many seconds until it may."""
        return self.wait(principal.key_id, principal.rate_limit or self._default)

    def wait(self, bucket: str, rate: float) -> float:
        """0 when a call counted in `bucket` may go ahead at `rate`, else the seconds to wait."""
        if rate <= 0:
            return 0.0
        capacity = max(1.0, 2 * rate)  # a rate below one every two seconds still lets one by
        now = self._clock()
        tokens, last = self._buckets.get(bucket, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        waited = 0.0 if tokens >= 1 else (1 - tokens) / rate
        self._buckets[bucket] = (tokens if waited else tokens - 1, now)
        self._buckets.move_to_end(bucket)
        while len(self._buckets) > self._capacity:
            self._buckets.popitem(last=False)
        return waited
