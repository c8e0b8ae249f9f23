"""Throughput: events through the gateway against the same Temporal calls made directly.

- ingestion: start events (signal-with-start, a new run each) and continue events (a
  signal to a waiting run), gateway and SDK phases alternating;
- unmatched: events of a trigger no journey uses: authenticated and validated, no Temporal;
- fan-out: one event that starts ten journeys (ten signal-with-starts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from bench.bare import BareServer
from bench.context import Bench
from bench.figures import Rate, ratio
from bench.load import Events

START = {"source": "bench", "amount": 3}
NO_MATCH = {"match": False}  # reaches the waiting run, which keeps waiting
FAN_OUT = [f"bench-fan-{i:02d}" for i in range(1, 11)]


def _combined(phases: list[Rate]) -> Rate:
    """Rounds of the same phase as one: operations over the time they took together."""
    seconds = sum(p.seconds for p in phases)
    total = Rate(
        operations=sum(p.operations for p in phases),
        seconds=seconds,
        failures=sum(p.failures for p in phases),
        # Percentiles do not add up: the worst round's, as the honest bound.
        p50_ms=max(p.p50_ms for p in phases),
        p95_ms=max(p.p95_ms for p in phases),
        p99_ms=max(p.p99_ms for p in phases),
        max_ms=max(p.max_ms for p in phases),
        note=next((p.note for p in phases if p.note), ""),
    )
    for name in phases[0].cpu_percent:
        used = sum(p.cpu_percent[name] * p.seconds for p in phases)
        total.cpu_percent[name] = round(used / seconds, 1) if seconds else 0.0
        if name in phases[0].rss_mb:  # a process that ended (wrk) has no memory to read
            total.rss_mb[name] = max(p.rss_mb[name] for p in phases)
    return total


def _compared(gateway: list[Rate], sdk: list[Rate]) -> dict[str, Any]:
    mine, reference = _combined(gateway), _combined(sdk)
    return {
        "gateway": mine.as_dict(),
        "sdk": reference.as_dict(),
        "ratio": ratio(mine, reference),
        "rounds": {
            "gateway": [round(p.per_second, 1) for p in gateway],
            "sdk": [round(p.per_second, 1) for p in sdk],
        },
    }


async def seed_waiting(bench: Bench, prefix: str, count: int) -> Rate:
    """`count` runs of bench-wait, for contacts prefix0 .. prefix(count-1), started directly."""
    return await bench.direct(
        lambda i: bench.sdk.start(
            "bench-wait", "bench.start", f"{prefix}{i}", f"{prefix}-seed-{i}", **START
        ),
        total=count,
    )


async def start_phase(bench: Bench, events: Events) -> Rate:
    """A gateway phase of start events, each for a new contact that the store knows. A
    refused entry is answered 202 like a start, so the phase counts what the ledger
    admitted: every event must have begun a run."""
    await bench.contacts_for(events)
    rate = bench.gateway(events)
    admitted = await bench.admitted(events.prefix)
    if admitted < rate.operations:
        rate.note = f"only {admitted} of {rate.operations} admitted"
    return rate


async def _sdk_start(bench: Bench, tag: str, i: int) -> None:
    """What the gateway does for a start event, made with the SDK."""
    contact_id = f"{tag}-sdk-{i}"
    await bench.sdk.start("bench-wait", "bench.start", contact_id, contact_id, **START)


async def sdk_ping(bench: Bench, prefix: str, pool: int, tag: str, i: int) -> None:
    """What the gateway does for a continue event to one of `pool` waiting runs (contacts
    `{prefix}{n}`), made with the SDK."""
    await bench.sdk.signal(
        "bench-wait", "bench.ping", f"{prefix}{i % pool}", f"{tag}-sdk-{i}", **NO_MATCH
    )


async def _in_order(
    bench: Bench,
    gateway_first: bool,
    gateway: Callable[[], Awaitable[Rate]],
    sdk_call: Callable[[int], Awaitable[None]],
) -> list[tuple[Rate, int]]:
    """One gateway phase (side 0) and one SDK phase (side 1), each followed by a settle."""
    done: list[tuple[Rate, int]] = []
    for side in (0, 1) if gateway_first else (1, 0):
        rate = await gateway() if side == 0 else await bench.direct(sdk_call)
        await bench.settle()
        done.append((rate, side))
    return done


async def ingestion(bench: Bench) -> dict[str, Any]:
    # Waiting runs for the continue phases; each takes many pings and keeps waiting.
    pool = max(bench.options.connections * 8, 200)
    await seed_waiting(bench, "pool", pool)
    await bench.settle()
    starts: tuple[list[Rate], list[Rate]] = ([], [])
    continues: tuple[list[Rate], list[Rate]] = ([], [])
    for round_ in range(bench.options.rounds):
        # Who goes first alternates: a phase can inherit work the server left for later
        # (seen here: the SDK phase after the gateway's, and the reverse), so each side is
        # measured as often first as second.
        gateway_first = round_ % 2 == 0
        tag = bench.tag("start")
        gateway_start = partial(start_phase, bench, Events("bench.start", f"{tag}-", START))
        for rate, side in await _in_order(
            bench, gateway_first, gateway_start, partial(_sdk_start, bench, tag)
        ):
            starts[side].append(rate)
        tag = bench.tag("ping")
        gateway_ping = partial(
            asyncio.to_thread, bench.gateway, Events("bench.ping", "pool", NO_MATCH, pool=pool)
        )
        for rate, side in await _in_order(
            bench, gateway_first, gateway_ping, partial(sdk_ping, bench, "pool", pool, tag)
        ):
            continues[side].append(rate)
    return {
        "start": _compared(*starts),
        "continue": _compared(*continues),
        "waiting_runs_signalled": pool,
    }


async def unmatched(bench: Bench) -> dict[str, Any]:
    """No journey uses the trigger: the gateway authenticates, validates and answers."""
    connections = bench.options.connections * 2
    gateway = bench.gateway(
        Events("bench.unrouted", bench.tag("unrouted"), START), connections=connections
    )
    with BareServer() as bare:
        ceiling = bare.load(bench.options.seconds, connections)
    return {
        "gateway": gateway.as_dict(),
        "bare_fastapi": ceiling.as_dict(),
        "ratio_to_bare": ratio(gateway, ceiling),
    }


async def fan_out(bench: Bench) -> dict[str, Any]:
    """One event, ten journeys: the gateway makes its ten calls at once; so does the SDK."""
    connections = max(bench.options.connections // 4, 1)
    tag = bench.tag("fan")
    events = Events("bench.fanout", f"{tag}-", {"source": "bench"})
    await bench.contacts_for(events)
    await bench.settle()
    gateway = bench.gateway(events, connections=connections)
    await bench.settle()

    async def ten_starts(i: int) -> None:
        await asyncio.gather(
            *(
                bench.sdk.start(
                    journey, "bench.fanout", f"{tag}-sdk-{i}", f"{tag}-sdk-{i}", source="bench"
                )
                for journey in FAN_OUT
            )
        )

    sdk = await bench.direct(ten_starts, concurrency=connections)
    await bench.settle()
    return {
        "journeys_per_event": len(FAN_OUT),
        "gateway": gateway.as_dict(),
        "sdk": sdk.as_dict(),
        "ratio": ratio(gateway, sdk),
        "runs_per_second": round(gateway.per_second * len(FAN_OUT), 1),
    }
