"""Waiting capacity: many runs waiting on a trigger, on a stack of their own.

Ingestion is measured on the empty stack, then again once `--waiting` runs wait; memory
of every process and the stores' size on disk are taken at both points. Continue events
on the empty stack go to fewer runs than the worker caches, which it holds in memory; on
the full stack they go to the waiting runs in turn, far more than the worker keeps in its
cache (by default): each one makes the worker rebuild its run from history, as in
production. `--cache-sizes` repeats it for each worker cache size given, to see what a
larger cache buys in continue events and costs in memory.
"""

from __future__ import annotations

import time
from typing import Any

from bench import procs
from bench.context import Bench, Options
from bench.figures import Rate, ratio
from bench.ingestion import NO_MATCH, START, sdk_ping, seed_waiting, start_phase
from bench.load import Events
from bench.stack import Stack


async def _ingestion(bench: Bench, pool_prefix: str | None, pool: int) -> dict[str, Rate]:
    """A start phase (new contacts); a continue phase of pings to `pool` waiting runs, of
    contacts `{pool_prefix}{n}` (without a prefix, runs started here for it); then the same
    pings made with the SDK, which tell what the waiting runs cost Temporal and the worker
    (both sides pay it) from what they cost the gateway."""
    tag = bench.tag("cap")
    start = await start_phase(bench, Events("bench.start", f"{tag}-", START))
    await bench.settle()
    if pool_prefix is None:
        # Runs started last, half as many as the worker caches: on the empty stack the
        # continue events find their run in memory, as where few runs wait. (The start
        # phase's own runs may outnumber the cache, and a pool larger than the cache, pinged
        # in turn, misses on every event: the cache drops the run used longest ago.)
        pool_prefix = f"{tag}-pool"
        pool = bench.stack.settings.worker_max_cached_workflows // 2
        await seed_waiting(bench, pool_prefix, pool)
        await bench.settle()
    ping = bench.gateway(Events("bench.ping", pool_prefix, NO_MATCH, pool=pool))
    await bench.settle()
    # On from where the gateway's pings stopped, so that a cache larger than those pings
    # does not hand the SDK the runs they just loaded.
    skip = ping.operations
    sdk = await bench.direct(lambda i: sdk_ping(bench, pool_prefix, pool, tag, skip + i))
    await bench.settle()
    return {"start": start, "continue": ping, "continue_sdk": sdk}


def _footprint(bench: Bench) -> dict[str, Any]:
    return {
        "rss_mb": {name: round(procs.rss_mb(pid), 1) for name, pid in bench.stack.pids.items()},
        "store_mb": bench.stack.store_mb(),
    }


async def capacity(options: Options) -> dict[str, Any]:
    """With the settings given; then, with `--cache-sizes`, again on a fresh stack for each
    worker cache size (JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS), summed up by size."""
    result = await _capacity(options, options.env)
    by_size = {}
    for size in options.cache_sizes:
        sized = await _capacity(
            options, {**options.env, "JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS": str(size)}
        )
        by_size[str(size)] = {
            "waiting_runs": sized["waiting_runs"],
            "continue_empty_per_second": sized["empty"]["continue"]["per_second"],
            "continue_full_per_second": sized["full"]["continue"]["per_second"],
            "continue_ratio": sized["ratio"]["continue"],
            "worker_rss_peak_mb": sized["worker_rss_peak_mb"],
        }
    return {**result, "by_cache_size": by_size}


async def _capacity(options: Options, env: dict[str, str]) -> dict[str, Any]:
    with Stack.start(env, keep=options.keep) as stack:
        bench = await Bench.on(stack, options)
        await bench.settle()
        empty = await _ingestion(bench, None, 0)
        before = _footprint(bench)
        baseline = await bench.waiting("bench-wait")
        began = time.monotonic()
        seeded = await seed_waiting(bench, "held", options.waiting)
        all_entered = await bench.until_waiting(
            "bench-wait", baseline + options.waiting, within=max(600.0, options.waiting / 10)
        )
        waited = time.monotonic() - began
        await bench.settle()
        held = await bench.waiting("bench-wait")
        full = _footprint(bench)
        loaded = await _ingestion(bench, "held", options.waiting)
        after = _footprint(bench)
        return {
            "waiting_runs": held,
            "requested": options.waiting,
            "seeded_per_second": round(seeded.per_second, 1),
            # None: not all of them were waiting when the benchmark stopped waiting.
            "all_waiting_after_s": round(waited, 1) if all_entered else None,
            "gave_up_waiting_after_s": None if all_entered else round(waited, 1),
            "empty": {name: rate.as_dict() for name, rate in empty.items()},
            "full": {name: rate.as_dict() for name, rate in loaded.items()},
            "ratio": {name: ratio(loaded[name], empty[name]) for name in empty},
            "footprint_empty": before,
            "footprint_full": full,
            "footprint_after_load": after,
            "worker_rss_peak_mb": max(
                before["rss_mb"]["worker"], full["rss_mb"]["worker"], after["rss_mb"]["worker"]
            ),
        }
