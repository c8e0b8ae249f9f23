"""Waiting capacity: many runs waiting on a trigger, on a stack of their own.

Ingestion is measured on the empty stack, then again once `--waiting` runs wait; memory
of every process and the stores' size on disk are taken at both points. Continue events
on the empty stack go to fewer runs than the worker caches, which it holds in memory; on
the full stack they go to the waiting runs in turn, far more than the worker keeps in its
cache (by default): each one makes the worker rebuild its run from history, as in
production. On the full stack they also go to a pool of runs held in memory, as on the
empty one: set beside the two others, it tells what the larger stores cost from what
eviction costs. `--cache-sizes` repeats it for each worker cache size given, to see what a
larger cache buys in continue events and costs in memory. `--capacity-history-pings`
then gives three times as many waiting runs as the worker caches more pings, level by
level, and measures continue events to them after each (as `--only history` does on a
small stack): what history length costs with the runs waiting.
"""

from __future__ import annotations

import time
from typing import Any

from bench import procs
from bench.context import Bench, Options
from bench.figures import Rate, ratio
from bench.history import history_levels
from bench.ingestion import NO_MATCH, START, sdk_ping, seed_waiting, start_phase
from bench.load import Events
from bench.stack import Stack

EMPTY_POOL = 500  # runs held in memory that continue events go to, at most
WAITING = "held"  # the waiting runs' contacts: held0, held1, ...


async def _ingestion(bench: Bench, waiting: int | None) -> dict[str, Rate]:
    """A start phase (new contacts), then continue events to a pool of runs held in memory.
    On the full stack (`waiting` runs wait), continue events to the waiting runs too.

    The phases' rates by name: `start`; `continue` and `continue_sdk` for the continue
    events to the waiting runs, or on the empty stack to the pool; on the full stack,
    `cached` and `cached_sdk` for those to the pool."""
    tag = bench.tag("cap")
    start = await start_phase(bench, Events("bench.start", f"{tag}-", START))
    await bench.settle()
    prefix = f"{tag}-pool"
    await _runs_in_memory(bench, prefix)
    cached = await _continue(bench, prefix, _pool_size(bench), f"{tag}-cached")
    if waiting is None:
        return {"start": start, **cached}
    return {
        "start": start,
        **await _continue(bench, WAITING, waiting, tag),
        "cached": cached["continue"],
        "cached_sdk": cached["continue_sdk"],
    }


async def _continue(bench: Bench, prefix: str, pool: int, tag: str) -> dict[str, Rate]:
    """A gateway phase of continue events to `pool` waiting runs (contacts `{prefix}{n}`),
    pinged in turn; then the same pings made with the SDK, which tell what the waiting runs
    cost Temporal and the worker (both sides pay it) from what they cost the gateway."""
    ping = bench.gateway(Events("bench.ping", prefix, NO_MATCH, pool=pool))
    await bench.settle()
    # On from where the gateway's pings stopped (those answered, and those in flight when
    # its phase ended), so that a cache larger than them does not hand the SDK the runs
    # they just loaded.
    skip = ping.operations + bench.options.connections
    sdk = await bench.direct(lambda i: sdk_ping(bench, prefix, pool, tag, skip + i))
    await bench.settle()
    return {"continue": ping, "continue_sdk": sdk}


def _pool_size(bench: Bench) -> int:
    """Runs in a pool held in memory: half as many as the worker caches (the start phase's
    own runs may outnumber the cache, and a pool larger than the cache, pinged in turn,
    misses on every event: the cache drops the run used longest ago). At most EMPTY_POOL,
    so that the empty stack stays nearly empty; a cache too small for a pool worth pinging
    in turn gets EMPTY_POOL all the same (its runs evicted: the report gives the pool's
    size beside the cache's)."""
    runs = min(bench.stack.settings.worker_max_cached_workflows // 2, EMPTY_POOL)
    return EMPTY_POOL if runs < 10 else runs


async def _runs_in_memory(bench: Bench, prefix: str) -> None:
    """A pool of runs (contacts `{prefix}{n}`) for continue events that find their run in
    memory: started last, and waited for until all of them wait."""
    runs = _pool_size(bench)
    before = await bench.waiting("bench-wait")
    await seed_waiting(bench, prefix, runs)
    if not await bench.until_waiting("bench-wait", before + runs, within=600.0):
        # Pinging runs not yet entered would measure something else: no figure, a reason.
        raise RuntimeError(f"the {runs} runs to hold in memory were not waiting after 600 s")
    await bench.settle()


def _footprint(bench: Bench) -> dict[str, Any]:
    return {
        "rss_mb": {name: round(procs.rss_mb(pid), 1) for name, pid in bench.stack.pids.items()},
        "store_mb": bench.stack.store_mb(),
    }


async def capacity(options: Options) -> dict[str, Any]:
    """With the settings given; then, with `--cache-sizes`, again on a fresh stack for each
    worker cache size (JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS), summed up by size."""
    result = await _capacity(options, options.env, history=True)
    by_size = {}
    for size in options.cache_sizes:
        sized = await _capacity(
            options,
            {**options.env, "JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS": str(size)},
            history=False,
        )
        by_size[str(size)] = {
            "waiting_runs": sized["waiting_runs"],
            "continue_empty_per_second": sized["empty"]["continue"]["per_second"],
            "continue_full_per_second": sized["full"]["continue"]["per_second"],
            "continue_ratio": sized["ratio"]["continue"],
            "worker_rss_peak_mb": sized["worker_rss_peak_mb"],
        }
    return {**result, "by_cache_size": by_size}


async def _capacity(options: Options, env: dict[str, str], history: bool) -> dict[str, Any]:
    """One stack: empty, then with the runs waiting; `history`: longer histories last."""
    with Stack.start(env, keep=options.keep) as stack:
        bench = await Bench.on(stack, options)
        await bench.settle()
        empty = await _ingestion(bench, None)
        before = _footprint(bench)
        baseline = await bench.waiting("bench-wait")
        began = time.monotonic()
        seeded = await seed_waiting(bench, WAITING, options.waiting)
        all_entered = await bench.until_waiting(
            "bench-wait", baseline + options.waiting, within=max(600.0, options.waiting / 10)
        )
        waited = time.monotonic() - began
        await bench.settle()
        waiting = await bench.waiting("bench-wait")
        full = _footprint(bench)
        loaded = await _ingestion(bench, options.waiting)
        after = _footprint(bench)
        # The waiting runs that the continue phases reached, from held0 on: the gateway's
        # pings, those in flight when it stopped, then the SDK's.
        touched = (
            loaded["continue"].operations + options.connections + loaded["continue_sdk"].operations
        )
        longer = await _longer_histories(bench, options, touched) if history else None
        return {
            "waiting_runs": waiting,
            "requested": options.waiting,
            # The pools held in memory were this many runs, the worker caching
            # `worker_cache` at most.
            "empty_pool": _pool_size(bench),
            "worker_cache": stack.settings.worker_max_cached_workflows,
            "seeded_per_second": round(seeded.per_second, 1),
            # None: not all of them were waiting when the benchmark stopped waiting.
            "all_waiting_after_s": round(waited, 1) if all_entered else None,
            "gave_up_waiting_after_s": None if all_entered else round(waited, 1),
            "empty": {name: rate.as_dict() for name, rate in empty.items()},
            "full": {name: rate.as_dict() for name, rate in loaded.items()},
            "ratio": {name: ratio(loaded[name], empty[name]) for name in empty},
            # The continue ratio in two parts whose product it is (but for rounding): the
            # larger stores (the pools held in memory, full stack against empty), then the
            # runs not in memory (the waiting runs against the pool, both on the full stack:
            # the worker replays them, and the server reads what it no longer holds).
            "continue_parts": {
                "stores": ratio(loaded["cached"], empty["continue"]),
                "eviction": ratio(loaded["continue"], loaded["cached"]),
                "stores_sdk": ratio(loaded["cached_sdk"], empty["continue_sdk"]),
                "eviction_sdk": ratio(loaded["continue_sdk"], loaded["cached_sdk"]),
            },
            "footprint_empty": before,
            "footprint_full": full,
            "footprint_after_load": after,
            "worker_rss_peak_mb": max(
                before["rss_mb"]["worker"], full["rss_mb"]["worker"], after["rss_mb"]["worker"]
            ),
            **({"history": longer} if longer else {}),
        }


async def _longer_histories(bench: Bench, options: Options, touched: int) -> dict[str, Any] | None:
    """With `--capacity-history-pings`: continue events, level by level of pings per run, to
    three times as many of the waiting runs as the worker caches, or to all of them if
    fewer. Pinged in turn, more runs than the cache holds miss it on every event, but for
    the first level's first runs if the phases before it `touched` fewer waiting runs than
    the cache holds (those are still cached): the report says when either happened."""
    if not options.capacity_history_pings:
        return None
    runs = min(3 * bench.stack.settings.worker_max_cached_workflows, options.waiting)
    levels = await history_levels(bench, WAITING, runs, options.capacity_history_pings)
    return {"runs": runs, "touched_before": touched, "levels": levels}
