"""History length: what a continue event costs as a waiting run's history grows.

A continue event to a run the worker no longer caches replays the run's whole history
before the signal is handled: does its cost grow with the history? On a stack of its own,
`--history-runs` runs wait on a trigger: three times as many as the worker caches here (100
runs unless `--set WORKER_MAX_CACHED_WORKFLOWS=...`: a smaller cache than the default 1,000
costs nothing per replay and lets fewer runs be given long histories), pinged in turn, so
that every continue event of a phase finds its run evicted. Each run is then given more
pings that do not match (a burst per run, so that the worker replays it once, not once per
ping), up to each of `--history-pings` in turn, and after each level a phase of continue
events through the gateway is measured with the history length it met.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.context import Bench, Options
from bench.ingestion import NO_MATCH, seed_waiting
from bench.load import Events
from bench.stack import Stack
from journeys.temporal import names

JOURNEY = "bench-wait"
PREFIX = "hist"
SAMPLED = 25  # runs whose history length is read after each level
CACHE_SETTING = "JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS"
CACHED_RUNS = 100


async def history(options: Options) -> dict[str, Any]:
    runs = options.history_runs
    env = {CACHE_SETTING: str(CACHED_RUNS), **options.env}
    with Stack.start(env, keep=options.keep) as stack:
        bench = await Bench.on(stack, options)
        await bench.settle()
        await seed_waiting(bench, PREFIX, runs)
        all_entered = await bench.until_waiting(JOURNEY, runs, within=max(600.0, runs / 10))
        await bench.settle()
        waiting = await bench.waiting(JOURNEY)
        levels = await history_levels(bench, PREFIX, runs, options.history_pings)
    return {
        "runs": runs,
        "waiting_runs": waiting,
        "all_waiting": all_entered,
        "worker_cache": int(env[CACHE_SETTING]),
        "levels": levels,
    }


async def history_levels(
    bench: Bench, prefix: str, runs: int, levels: tuple[int, ...]
) -> list[dict[str, Any]]:
    """For each level of pings per run in turn, the `runs` waiting runs (contacts
    `{prefix}{n}`) given pings up to it, then a gateway phase of continue events to them in
    turn, measured with the history length it met."""
    measured = []
    given = 0  # pings each run has had, besides those of the measured phases
    for level in levels:
        if level > given:
            await _ping_each(bench, prefix, runs, level - given)
            given = level
            await bench.settle()
        events = await _history_events(bench, prefix, runs)
        rate = bench.gateway(Events("bench.ping", prefix, NO_MATCH, pool=runs))
        await bench.settle()
        measured.append(
            {
                "pings_before": level,
                "history_events_median": statistics.median(events),
                "history_events_max": max(events),
                "continue": rate.as_dict(),
            }
        )
    return measured


async def _ping_each(bench: Bench, prefix: str, runs: int, pings: int) -> None:
    """`pings` signals to every run, one run's burst after another's (setup, not measured)."""
    await bench.direct(
        lambda i: bench.sdk.signal(
            JOURNEY, "bench.ping", f"{prefix}{i // pings}", bench.tag("fill"), **NO_MATCH
        ),
        total=runs * pings,
    )


async def _history_events(bench: Bench, prefix: str, runs: int) -> list[int]:
    """The history length of runs spread over the pool, as the server counts it."""
    step = max(1, runs // SAMPLED)
    lengths = []
    for n in range(0, runs, step):
        handle = bench.client.get_workflow_handle(names.workflow_id(JOURNEY, f"{prefix}{n}"))
        description = await handle.describe()
        lengths.append(description.raw_description.workflow_execution_info.history_length)
    return lengths
