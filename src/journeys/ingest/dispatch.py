"""Routing a trigger event to journey runs: signal-with-start, or a plain signal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client

from journeys.engine.events import TriggerEvent
from journeys.store.journeys import LiveJourney
from journeys.temporal import names
from journeys.temporal.errors import reaching_temporal
from journeys.temporal.runs import signal_contact_runs, signal_run, start_run

# A producer is better served by a quick 503 it can retry than by a hanging request.
RPC_TIMEOUT = timedelta(seconds=5)


@dataclass
class Dispatched:
    started: list[str] = field(default_factory=list)
    signaled: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)  # signalled, but no run was there


class Dispatcher:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def dispatch(
        self, event: TriggerEvent, starts: list[LiveJourney], signals: list[LiveJourney]
    ) -> Dispatched:
        """Start runs of `starts` (or reach their running ones) and signal the runs of
        `signals`, all at once.

        If any call fails for want of Temporal, the whole event fails: the producer's retry
        (same event id) redoes it, and runs that already have the event ignore it.
        """
        calls = [self._start(j, event) for j in starts] + [self._signal(j, event) for j in signals]
        with reaching_temporal():
            outcomes = await asyncio.gather(*calls)
        result = Dispatched()
        for journey, (started, reached) in zip([*starts, *signals], outcomes, strict=True):
            if started:
                result.started.append(journey.id)
            elif reached:
                result.signaled.append(journey.id)
            else:
                result.missed.append(journey.id)
        return result

    async def _start(self, journey: LiveJourney, event: TriggerEvent) -> tuple[bool, bool]:
        started = await start_run(
            self._client,
            self._task_queue,
            journey.definition,
            journey.version,
            event,
            rpc_timeout=RPC_TIMEOUT,
        )
        return started, True

    async def _signal(self, journey: LiveJourney, event: TriggerEvent) -> tuple[bool, bool]:
        """A continue- or exit-trigger reaches the contact's run. In a journey run per binding,
        an event with a binding id reaches that binding's run only, and one without reaches
        every running run of the contact."""
        if journey.per_binding and not event.binding_id:
            reached = await signal_contact_runs(
                self._client, self._task_queue, journey.id, event.contact_id, event, RPC_TIMEOUT
            )
            return False, reached > 0
        binding = event.binding_id if journey.per_binding else None
        workflow_id = names.workflow_id(journey.id, event.contact_id, binding)
        return False, await signal_run(self._client, workflow_id, event, rpc_timeout=RPC_TIMEOUT)
