"""Closed-loop load: wrk against the gateway, asyncio tasks against the SDK.

Both keep the same number of requests in flight for the same time, so their rates compare.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procs
from bench.figures import Rate, percentiles_ms

WRK_SCRIPT = Path(__file__).parent / "events.lua"
RESULT_MARK = "BENCH-RESULT "


@dataclass(frozen=True)
class Events:
    """Trigger events for wrk: one trigger, contact ids from a prefix, fixed attributes."""

    trigger: str
    prefix: str  # contact ids start with it
    attributes: Mapping[str, Any] = field(default_factory=dict)
    pool: int = 0  # 0: a new contact for every event; N: cycle through N contacts

    @property
    def path(self) -> str:
        return f"/v1/triggers/{self.trigger}/events"


def contact_ids(events: Events, count: int, threads: int = 1) -> list[str]:
    """The contacts the first `count` events of each wrk thread are about (events.lua names
    them `{prefix}{thread}-{n}` when every event has a new contact)."""
    assert events.pool == 0, "a pool of contacts is named {prefix}{n}"
    return [f"{events.prefix}{thread}-{n}" for thread in range(threads) for n in range(count)]


def wrk(
    base_url: str,
    token: str,
    events: Events,
    *,
    run: str,
    connections: int,
    seconds: float,
    pids: Mapping[str, int],
    threads: int = 1,
) -> Rate:
    """Post `events` for `seconds` with `connections` in flight; `run` tags the event ids."""
    env = {
        **os.environ,
        "BENCH_PATH": events.path,
        "BENCH_TOKEN": token,
        "BENCH_RUN": run,
        "BENCH_PREFIX": events.prefix,
        "BENCH_POOL": str(events.pool),
        "BENCH_THREADS": str(threads),
        "BENCH_ATTRIBUTES": json.dumps(dict(events.attributes)),
    }
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        base_url + events.path,
    ]
    with procs.measured(pids, ended_children="wrk") as usage:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not found:
        raise RuntimeError(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")
    result = json.loads(found[-1].removeprefix(RESULT_MARK))
    failures = result["refused"] + result["socket_errors"]
    return Rate(
        operations=result["requests"] - result["refused"],
        seconds=result["duration_us"] / 1e6,
        failures=failures,
        p50_ms=result["p50_us"] / 1000,
        p95_ms=result["p95_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        cpu_percent=usage.cpu_percent,
        rss_mb=usage.rss_mb,
        note=result["example_refusal"],
    )


async def closed_loop(
    operation: Callable[[int], Awaitable[object]],
    *,
    concurrency: int,
    pids: Mapping[str, int],
    seconds: float | None = None,
    total: int | None = None,
) -> Rate:
    """Call `operation(i)` for i = 0, 1, ... from `concurrency` tasks, for `seconds` or
    until `total` calls were made."""
    latencies: list[float] = []
    failures: list[BaseException] = []
    indices = iter(range(total if total is not None else 1 << 62))
    deadline = time.perf_counter() + (seconds if seconds is not None else float("inf"))

    async def caller() -> None:
        while time.perf_counter() < deadline:
            index = next(indices, None)
            if index is None:
                return
            started = time.perf_counter()
            try:
                await operation(index)
            except Exception as error:  # counted and shown, like wrk's non-2xx answers
                failures.append(error)
            else:
                latencies.append(time.perf_counter() - started)

    with procs.measured(pids) as usage:
        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    figures = percentiles_ms(latencies)
    return Rate(
        operations=len(latencies),
        seconds=elapsed,
        failures=len(failures),
        p50_ms=figures["p50_ms"],
        p95_ms=figures["p95_ms"],
        p99_ms=figures["p99_ms"],
        max_ms=figures["max_ms"],
        cpu_percent=usage.cpu_percent,
        rss_mb=usage.rss_mb,
        note=repr(failures[0])[:300] if failures else "",
    )
