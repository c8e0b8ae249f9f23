"""`python -m bench`: run the benchmarks, print the figures, write bench/results/latest.*.

Benchmarks 1, 2, 3 and 5 share one stack; the waiting-capacity benchmark gets a fresh one,
so that its "empty system" is empty, and the steady one a fresh one per number of workers.
See `--help` for bigger runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench import machine, report
from bench.capacity import capacity
from bench.context import Bench, Options
from bench.history import history
from bench.ingestion import fan_out, ingestion, unmatched
from bench.latency import latency
from bench.stack import ROOT, Stack
from bench.steady import steady

RESULTS = Path(__file__).parent / "results"
ON_SHARED_STACK: dict[str, Callable[[Bench], Awaitable[dict[str, Any]]]] = {
    # The one that does not touch Temporal first, while the server is still idle.
    "unmatched": unmatched,
    "ingestion": ingestion,
    "latency": latency,
    "fan_out": fan_out,
}
ON_THEIR_OWN_STACKS: dict[str, Callable[[Options], Awaitable[dict[str, Any]]]] = {
    "capacity": capacity,
    "history": history,
    "steady": steady,
}
ALL = [*ON_SHARED_STACK, *ON_THEIR_OWN_STACKS]


def parse(argv: list[str]) -> tuple[Options, list[str], Path | None, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(ALL), help=f"some of: {','.join(ALL)}")
    parser.add_argument("--seconds", type=float, default=10, help="each load phase (10)")
    parser.add_argument("--connections", type=int, default=32, help="requests in flight (32)")
    parser.add_argument("--rounds", type=int, default=2, help="gateway/SDK alternations (2)")
    parser.add_argument("--rates", default="10,50,100", help="latency: events a second")
    parser.add_argument("--latency-seconds", type=float, default=20, help="at each rate (20)")
    parser.add_argument("--waiting", type=int, default=10_000, help="runs left waiting")
    parser.add_argument(
        "--cache-sizes",
        default="",
        help="capacity: also with each of these worker cache sizes (e.g. 100,1000,10000)",
    )
    parser.add_argument("--history-runs", type=int, default=300, help="history: runs waiting (300)")
    parser.add_argument(
        "--history-pings",
        default="0,100",
        help="history: pings each waiting run has had before each phase (0,100)",
    )
    parser.add_argument(
        "--capacity-history-pings",
        default="",
        help="capacity: the same, for 3 x the worker's cache of the waiting runs (off; e.g. 0,100)",
    )
    parser.add_argument(
        "--workers", default="1,2", help="steady: worker processes, a stack for each (1,2)"
    )
    parser.add_argument("--steady-seconds", type=float, default=20, help="steady: each phase (20)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="steady: 3 s phases and a coarse search, to check that it runs (no figures)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a JOURNEYS_* setting for the worker and the API, to try a tuning",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dirs in /tmp")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--write",
        type=Path,
        metavar="BENCHMARKS.md",
        help="also replace the figures between the markers of this file",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    malformed = [item for item in args.set if "=" not in item]
    if malformed:
        parser.error(f"--set takes NAME=VALUE, not {', '.join(malformed)}")
    if args.write is not None and set(chosen) != set(ALL):
        # The file's figures are replaced whole: a partial run would drop the others.
        parser.error("--write needs every benchmark (leave out --only)")
    if args.write is not None and args.quick:
        parser.error("--write records figures: a --quick run has none worth keeping")
    workers = _numbers(parser, "--workers", args.workers)
    history_pings = _levels(parser, "--history-pings", args.history_pings)
    capacity_history_pings = _levels(
        parser, "--capacity-history-pings", args.capacity_history_pings
    )
    if not workers or min(workers) < 1:
        parser.error("--workers takes worker process counts of at least 1, e.g. 1,2")
    settings = dict(item.split("=", 1) for item in args.set)
    options = Options(
        seconds=args.seconds,
        connections=args.connections,
        rounds=args.rounds,
        latency_rates=tuple(int(rate) for rate in args.rates.split(",")),
        latency_seconds=args.latency_seconds,
        waiting=args.waiting,
        env={f"JOURNEYS_{k.upper().removeprefix('JOURNEYS_')}": v for k, v in settings.items()},
        keep=args.keep,
        steady_workers=workers,
        steady_seconds=args.steady_seconds,
        quick=args.quick,
        cache_sizes=_numbers(parser, "--cache-sizes", args.cache_sizes),
        history_runs=args.history_runs,
        history_pings=history_pings,
        capacity_history_pings=capacity_history_pings,
    )
    return options, chosen, args.write, args.output


def _levels(parser: argparse.ArgumentParser, flag: str, text: str) -> tuple[int, ...]:
    """Pings per run, level by level: each level adds pings to those before it."""
    levels = _numbers(parser, flag, text)
    if any(later <= earlier for earlier, later in pairwise(levels)) or min(levels, default=0) < 0:
        parser.error(f"{flag} takes levels that grow from 0 or more, e.g. 0,100")
    return levels


def _numbers(parser: argparse.ArgumentParser, flag: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        parser.error(f"{flag} takes whole numbers separated by commas, not {text!r}")


async def run(options: Options, chosen: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    shared = [name for name in ON_SHARED_STACK if name in chosen]
    if shared:
        with Stack.start(options.env, keep=options.keep) as stack:
            bench = await Bench.on(stack, options)
            for name in shared:
                await _one(name, partial(ON_SHARED_STACK[name], bench), results, errors)
    for name, benchmark in ON_THEIR_OWN_STACKS.items():
        if name in chosen:
            await _one(name, partial(benchmark, options), results, errors)
    return {"results": results, "errors": errors}


async def _one(
    name: str,
    benchmark: Callable[[], Awaitable[dict[str, Any]]],
    results: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Run one benchmark; a failure is reported with the others' figures, not instead."""
    print(f"-- {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        results[name] = await benchmark()
    except Exception as error:
        traceback.print_exc()
        errors[name] = f"{type(error).__name__}: {error}"
    print(f"-- {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: `make bench` installs it (apt-get install wrk)", file=sys.stderr)
        return 2
    options, chosen, benchmarks_md, output = parse(argv)
    began = time.monotonic()
    info = machine.describe()
    outcome = asyncio.run(run(options, chosen))
    document = {
        "machine": info,
        "options": {**vars(options), "benchmarks": chosen},
        "seconds": round(time.monotonic() - began),
        **outcome,
    }
    text = report.markdown(document)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    output.with_suffix(".md").write_text(text + "\n")
    print(text)
    print(f"(written to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output})")
    if benchmarks_md is not None and not outcome["errors"]:
        report.write_into(benchmarks_md, text)
    elif benchmarks_md is not None:
        print(f"{benchmarks_md} left as it was: a benchmark failed", file=sys.stderr)
    sys.stdout.flush()
    # temporalio 1.35 can abort at interpreter exit after many concurrent calls (see
    # shared/reference/temporal-notes.md); every figure is written by now.
    os._exit(1 if outcome["errors"] else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
