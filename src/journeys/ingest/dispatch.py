"""Carrying an event to Temporal: the runs its admitted starts begin, and the running runs it
is signalled to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client

from journeys.engine.events import TriggerEvent
from journeys.store.entries import Entry
from journeys.store.journeys import LiveJourney
from journeys.temporal.errors import reaching_temporal
from journeys.temporal.runs import signal_run, start_run

# A producer is better served by a quick 503 it can retry than by a hanging request.
RPC_TIMEOUT = timedelta(seconds=5)


@dataclass(frozen=True)
class Signal:
    journey_id: str
    workflow_id: str


@dataclass
class Dispatched:
    started: list[str] = field(default_factory=list)
    signaled: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # instance id -> first run id


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
        least one of its runs got the event.

        If any call fails for want of Temporal, the whole event fails: the producer's retry
        (same event id) redoes it, and runs that already have the event ignore it.
        """
        beginning = [
            (journey, entry, entry.workflow_id)
            for journey, entry in starts
            if entry.admitted and entry.workflow_id and not entry.ended
        ]
        begins = [
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
            for journey, entry, workflow_id in beginning
        ]
        reaches = [
            signal_run(self._client, signal.workflow_id, event, rpc_timeout=RPC_TIMEOUT)
            for signal in signals
        ]
        with reaching_temporal():
            results = await asyncio.gather(*begins, *reaches)
        run_ids, reached = results[: len(begins)], results[len(begins) :]
        signaled = {s.journey_id for s, got in zip(signals, reached, strict=True) if got}
        return Dispatched(
            started=[journey.id for journey, entry in starts if entry.admitted],
            signaled=sorted(signaled),
            runs={
                entry.instance_id: str(run_id)
                for (_, entry, _), run_id in zip(beginning, run_ids, strict=True)
            },
        )
