"""Event ids this process accepted recently: a producer's retry is answered, not acted on.

Runs de-duplicate event ids themselves; this memory also covers a retry that would
reach a run which has ended since (and would start a new one).
"""

from __future__ import annotations

import time
from collections import OrderedDict


class RecentEvents:
    def __init__(self, ttl_seconds: float = 24 * 3600, capacity: int = 200_000) -> None:
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, event_id: str) -> bool:
        accepted_at = self._seen.get(event_id)
        return accepted_at is not None and time.monotonic() - accepted_at < self._ttl

    def remember(self, event_id: str) -> None:
        self._seen[event_id] = time.monotonic()
        self._seen.move_to_end(event_id)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
