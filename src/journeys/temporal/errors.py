"""Temporal being away, said the same way by every call that reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.service import RPCError, RPCStatusCode


class TemporalUnavailable(Exception):
    """Temporal could not be reached: the caller should retry later (events: with the same
    event id, which makes the retry safe whatever was done)."""


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
        raise TemporalUnavailable(str(error)) from error
    except RPCError as error:
        if error.status in _UNAVAILABLE:
            raise TemporalUnavailable(error.message) from error
        raise
