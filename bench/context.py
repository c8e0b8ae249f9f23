"""What every benchmark gets: the stack, an SDK client on its server, the options, and
helpers that run a phase of load through the gateway or through the SDK."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from temporalio.client import Client

from bench import procs
from bench.figures import Rate
from bench.load import Events, closed_loop, contact_ids, wrk
from bench.sdk import RawSdk
from bench.stack import Stack
from journeys.contacts.model import ContactChanges
from journeys.store.contacts import upsert_contact
from journeys.store.db import create_db_engine, transaction
from journeys.store.entries import admitted_count

# More start events a second than any phase makes here: every contact a phase is about exists.
STARTS_PER_SECOND_AT_MOST = 1500


def address(contact_id: str) -> str:
    return f"{contact_id}@example.com"


@dataclass(frozen=True)
class Options:
    seconds: float = 10.0  # each phase of closed-loop load
    connections: int = 32  # requests in flight, through wrk and through the SDK alike
    rounds: int = 2  # gateway and SDK phases alternate this many times
    latency_rates: tuple[int, ...] = (10, 50, 100)  # events a second
    latency_seconds: float = 20.0
    waiting: int = 10_000  # runs left waiting in the capacity benchmark
    env: dict[str, str] = field(default_factory=dict)  # JOURNEYS_* settings to try
    keep: bool = False  # keep each stack's data dir
    steady_workers: tuple[int, ...] = (1, 2)  # worker processes, a stack for each
    steady_seconds: float = 20.0  # each phase of the steady benchmark
    quick: bool = False  # steady: short phases and a coarse search, to check it runs
    cache_sizes: tuple[int, ...] = ()  # capacity: again with each worker cache size
    history_runs: int = 300  # history: runs waiting, three times what the worker caches
    history_pings: tuple[int, ...] = (0, 100)  # history: pings each run has had, by level
    capacity_history_pings: tuple[int, ...] = ()  # capacity: the same, on the full stack


@dataclass
class Bench:
    stack: Stack
    client: Client
    sdk: RawSdk
    options: Options
    _tags: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    async def on(cls, stack: Stack, options: Options) -> Bench:
        client = await stack.client()
        return cls(stack, client, RawSdk(client, stack.settings.task_queue), options)

    def tag(self, name: str) -> str:
        """A prefix no other phase on this stack uses, for contact and event ids."""
        return f"{name}{next(self._tags)}"

    def gateway(
        self, events: Events, *, seconds: float | None = None, connections: int | None = None
    ) -> Rate:
        """wrk against the gateway."""
        return wrk(
            self.stack.api_url,
            self.stack.event_key,
            events,
            run=self.tag("run"),
            connections=connections or self.options.connections,
            seconds=seconds or self.options.seconds,
            pids=self.stack.usage_pids(),
        )

    async def direct(
        self,
        operation: Callable[[int], Awaitable[object]],
        *,
        seconds: float | None = None,
        total: int | None = None,
        concurrency: int | None = None,
    ) -> Rate:
        """The same load made with the SDK from this process: for `seconds` (the phase
        length by default) or `total` calls."""
        return await closed_loop(
            operation,
            concurrency=concurrency or self.options.connections,
            seconds=seconds or (None if total else self.options.seconds),
            total=total,
            pids=self.stack.usage_pids(),
        )

    async def settle(self, within: float = 600.0, workers: Collection[int] = ()) -> float:
        """Wait until the workers (the stack's, or those given) and Temporal are idle (the
        previous phase's runs have been processed), so that no phase pays for the one
        before; the seconds it took."""
        watched = [*(workers or self.stack.worker_pids()), self.stack.pids["temporal"]]
        started = time.monotonic()
        quiet = 0
        while quiet < 3 and time.monotonic() - started < within:
            before = sum(procs.cpu_seconds(pid) for pid in watched)
            await asyncio.sleep(0.5)
            busy = (sum(procs.cpu_seconds(pid) for pid in watched) - before) / 0.5
            quiet = quiet + 1 if busy < 0.15 else 0
        return round(time.monotonic() - started, 1)

    async def contacts(self, ids: list[str]) -> None:
        """Contacts written straight to the store (setup, not measured): an event for a
        contact Journeys does not know starts nothing."""
        await asyncio.to_thread(self._seed, ids)

    def _seed(self, ids: list[str]) -> None:
        engine = create_db_engine(self.stack.settings.resolved_database_url)
        try:
            with transaction(engine) as session:
                for contact_id in ids:
                    changes = ContactChanges(email=address(contact_id), first_name="Bench")
                    upsert_contact(session, contact_id, changes)
        finally:
            engine.dispose()

    async def contacts_for(self, events: Events, seconds: float | None = None) -> None:
        """The contacts a phase of start events (a new contact each) will be about."""
        count = int((seconds or self.options.seconds) * STARTS_PER_SECOND_AT_MOST)
        await self.contacts(contact_ids(events, count))

    async def admitted(self, prefix: str) -> int:
        """Entries the ledger admitted for contacts whose ids start with `prefix`."""
        return await asyncio.to_thread(self._admitted, prefix)

    def _admitted(self, prefix: str) -> int:
        engine = create_db_engine(self.stack.settings.resolved_database_url)
        try:
            with transaction(engine) as session:
                return admitted_count(session, prefix)
        finally:
            engine.dispose()

    async def count(self, query: str) -> int:
        return (await self.client.count_workflows(query)).count

    async def waiting(self, journey_id: str) -> int:
        return await self.count(f"JourneyId = '{journey_id}' AND JourneyStatus = 'waiting'")

    async def until_waiting(self, journey_id: str, count: int, within: float) -> bool:
        """Whether `count` runs of the journey wait (the worker entered them all) within
        `within` seconds."""
        started = time.monotonic()
        while await self.waiting(journey_id) < count:
            if time.monotonic() - started > within:
                return False
            await asyncio.sleep(2)
        return True
