"""Temporal being away, said the same way by every call that reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.service import RPCError, RPCStatusCode


class TemporalUnavailable(Exception):
    """Temporal could not act now: the caller should retry later (events: with the same
    event id, which makes the retry safe whatever was done). The message says why, for the
    answer: unreachable is the usual reason, not the only one."""

    def __init__(self, reason: str = "Temporal cannot be reached", *, away: bool = True) -> None:
        super().__init__(reason)
        # False when Temporal answered but cannot act yet for this one call: other calls
        # need not wait for the retry.
        self.away = away


# RESOURCE_EXHAUSTED: the namespace is over its rate limits for now.
_UNAVAILABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


@contextmanager
def reaching_temporal() -> Iterator[None]:
    """Turn "Temporal cannot be reached" into TemporalUnavailable; other errors pass."""
    try:
        yield
    except RuntimeError as error:  # a lazy client that could not connect
        raise TemporalUnavailable(f"Temporal cannot be reached ({error})") from error
    except RPCError as error:
        if error.status in _UNAVAILABLE:
            raise TemporalUnavailable(f"Temporal cannot be reached ({error.message})") from error
        raise
