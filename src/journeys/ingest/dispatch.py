"""Carrying an event to Temporal: the runs its admitted starts begin, and the running runs it
is signalled to.

Each call stands alone: one that fails neither undoes nor repeats the others. A call that
could not reach Temporal is worth retrying (the producer's retry, with the same event id,
finds the others done); one that Temporal refused for good is reported, never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from temporalio.client import Client

from journeys.engine.events import TriggerEvent
from journeys.store.entries import Entry
from journeys.store.journeys import LiveJourney
from journeys.temporal.errors import TemporalUnavailable, reaching_temporal
from journeys.temporal.runs import signal_run, start_run

# A producer is better served by a quick 503 it can retry than by a hanging request.
RPC_TIMEOUT = timedelta(seconds=5)
MAX_DETAIL = 200

log = logging.getLogger("journeys.ingest")

_T = TypeVar("_T")


@dataclass(frozen=True)
class Signal:
    journey_id: str
    workflow_id: str


@dataclass
class Dispatched:
    started: list[str] = field(default_factory=list)
    signaled: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # instance id -> first run id
    # Refused by Temporal for good: the start's instance id, or the journey of a signal,
    # with what Temporal said.
    failed_starts: dict[str, str] = field(default_factory=dict)
    failed_signals: dict[str, str] = field(default_factory=dict)
    # Journeys Temporal could not act for now, with why (away, or a run still closing).
    unreached: dict[str, TemporalUnavailable] = field(default_factory=dict)


class Dispatcher:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def dispatch(
        self,
        event: TriggerEvent,
        starts: list[tuple[LiveJourney, Entry]],
        signals: list[Signal],
    ) -> Dispatched:
        """Begin the run of each admitted start (a retry finds it begun, or ended, and
        begins nothing) and signal each run, all at once. A journey is `signaled` when at
        least one of its runs got the event."""
        beginning = [
            (journey, entry, entry.workflow_id)
            for journey, entry in starts
            if entry.admitted and entry.workflow_id and not entry.ended
        ]
        begins = [
            _attempt(
                start_run(
                    self._client,
                    self._task_queue,
                    journey.definition,
                    journey.version,
                    event,
                    instance_id=entry.instance_id,
                    workflow_id=workflow_id,
                    rpc_timeout=RPC_TIMEOUT,
                )
            )
            for journey, entry, workflow_id in beginning
        ]
        reaches = [
            _attempt(signal_run(self._client, signal.workflow_id, event, rpc_timeout=RPC_TIMEOUT))
            for signal in signals
        ]
        results = await asyncio.gather(*begins, *reaches)
        out = Dispatched()
        unreached: dict[str, TemporalUnavailable] = {}
        for (journey, entry, _), begun in zip(beginning, results[: len(begins)], strict=True):
            if isinstance(begun, TemporalUnavailable):
                unreached[journey.id] = begun
            elif isinstance(begun, Exception):
                out.failed_starts[entry.instance_id] = _detail(journey.id, event, begun)
            else:
                out.runs[entry.instance_id] = str(begun)
        failed_starts = {entry.instance_id for _, entry, _ in beginning} - set(out.runs)
        out.started = [
            journey.id
            for journey, entry in starts
            if entry.admitted and entry.instance_id not in failed_starts
        ]
        signaled: set[str] = set()
        for signal, reached in zip(signals, results[len(begins) :], strict=True):
            if isinstance(reached, TemporalUnavailable):
                unreached[signal.journey_id] = reached
            elif isinstance(reached, Exception):
                out.failed_signals[signal.journey_id] = _detail(signal.journey_id, event, reached)
            elif reached:
                signaled.add(signal.journey_id)
        out.signaled = sorted(signaled)
        out.unreached = dict(sorted(unreached.items()))
        return out


async def _attempt(call: Awaitable[_T]) -> _T | Exception:
    """The call's result, or what it failed with (Temporal being away as TemporalUnavailable)."""
    try:
        with reaching_temporal():
            return await call
    except Exception as error:  # each call's failure is its own
        return error


def _detail(journey_id: str, event: TriggerEvent, error: Exception) -> str:
    log.error(
        "event %s: Temporal refused the call for journey %s: %s",
        event.event_id,
        journey_id,
        error,
        exc_info=error,
    )
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
