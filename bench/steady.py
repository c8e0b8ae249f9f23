"""Cost per run: Journeys against the app a team would write by hand (bench/baseline/).

For each number of worker processes (`--workers`), one `journeys dev` stack is started and
the hand-written app beside it, on the same Temporal server and SMTP sink; each is driven
open loop (bench/openloop.py) with the same events, one phase per rate. The rate climbs
by a factor until a phase is not steady, then is bisected between the highest steady rate
and the lowest unsteady one. A phase is steady when every event was accepted and its email
arrived, p99 from POST to the SMTP sink is under a second, and when the last event is sent
no more than a second's worth of events is still waiting for its email (a backlog that
grows exceeds that). CPU per run is each process's CPU time over the phase, sending and
draining, divided by the runs it completed, read from /proc.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench import procs
from bench.baseline.processes import BaselineApp
from bench.context import Bench, Options
from bench.figures import percentiles_ms
from bench.latency import mail_events
from bench.openloop import post_at_rate
from bench.stack import Stack, role

LIMIT_S = 1.0  # p99 trigger to SMTP


@dataclass(frozen=True)
class Ladder:
    """How the rate is searched: from `start`, times `factor` while steady (divided while
    not), then halving the gap until it is within `resolution` of the steady rate."""

    start: float
    factor: float
    resolution: float
    ceiling: float = 2000.0
    floor: float = 1.0

    def next(self, tried: Mapping[float, bool]) -> float | None:
        """The rate to try after those `tried` (rate: steady or not); None: done."""
        if not tried:
            return self.start
        unsteady = [rate for rate, steady in tried.items() if not steady]
        worst = min(unsteady, default=None)
        steady = [rate for rate, ok in tried.items() if ok and (worst is None or rate < worst)]
        best = max(steady, default=None)
        if worst is None:
            assert best is not None
            higher = round(best * self.factor, 1)
            return higher if higher <= self.ceiling else None
        if best is None:
            lower = round(worst / self.factor, 1)
            return lower if lower >= self.floor else None
        if (worst - best) / best <= self.resolution:
            return None
        return round((best + worst) / 2, 1)


FULL = Ladder(start=10, factor=1.5, resolution=0.1)
QUICK = Ladder(start=5, factor=2, resolution=0.5, ceiling=40)


def backlog(at: float, sent_at: Iterable[float], arrived_at: Iterable[float]) -> int:
    """Events sent by `at` whose email had not arrived by then."""
    return sum(t <= at for t in sent_at) - sum(t <= at for t in arrived_at)


def is_steady(
    rate: float, sent: int, refused: int, delivered: int, p99_ms: float, backlog_at_end: int
) -> bool:
    return (
        refused == 0
        and delivered == sent
        and p99_ms < LIMIT_S * 1000
        and backlog_at_end <= rate * LIMIT_S
    )


def cpu_ms_per_run(cpu_percent: Mapping[str, float], seconds: float, runs: int) -> dict[str, float]:
    """CPU per completed run of each kind of process (several workers count as one), and
    their total; the load generator (`bench`) is left out."""
    if not runs:
        return {}
    by_role: dict[str, float] = {}
    for name, percent in cpu_percent.items():
        if name != "bench":
            by_role[role(name)] = by_role.get(role(name), 0.0) + percent / 100 * seconds * 1000
    figures = {name: round(ms / runs, 2) for name, ms in by_role.items()}
    return {**figures, "total": round(sum(by_role.values()) / runs, 2)}


def ratios(journeys: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, float | None]:
    """Journeys over the baseline: highest steady rate, and total CPU per run at it."""

    def over(mine: float | None, reference: float | None) -> float | None:
        return round(mine / reference, 3) if mine and reference else None

    return {
        "rate": over(journeys["highest_steady"], baseline["highest_steady"]),
        "cpu_per_run": over(
            journeys["cpu_ms_per_run"].get("total"), baseline["cpu_ms_per_run"].get("total")
        ),
    }


@dataclass
class System:
    """One of the two apps under the same load."""

    url: str
    headers: dict[str, str]
    pids: dict[str, int]  # its processes, Temporal's included
    prepare: Callable[[list[str]], Awaitable[None]]  # for the contacts a phase is about


async def _phase(
    bench: Bench, system: System, name: str, rate: float, seconds: float, grace: float
) -> dict[str, Any]:
    tag = bench.tag(f"steady-{name}-")
    contacts = [f"{tag}{i}" for i in range(max(1, int(rate * seconds)))]
    await system.prepare(contacts)
    workers = [pid for n, pid in system.pids.items() if role(n) == "worker"]
    await bench.settle(workers=workers)
    sink = bench.stack.sink
    with procs.measured({**system.pids, "bench": bench.stack.usage_pids()["bench"]}) as usage:
        sent = await post_at_rate(system.url, mail_events(tag, contacts), rate, system.headers)
        await sink.wait_for(sent.sent_at, len(sent.refused), grace)
    arrived = sink.arrival_times(sent.sent_at)
    latencies = sink.latencies(sent.sent_at)  # of the emails that came: the others count below
    figures = percentiles_ms(latencies)
    left = backlog(sent.began + sent.sending_s, sent.sent_at.values(), arrived.values())
    steady = is_steady(
        rate, len(contacts), len(sent.refused), len(latencies), figures["p99_ms"], left
    )
    return {
        "rate": rate,
        "sent": len(contacts),
        "achieved_per_second": round(len(contacts) / sent.sending_s, 1) if sent.sending_s else 0,
        "refused": len(sent.refused),
        "example_refusal": sent.refused[0] if sent.refused else "",
        "delivered": len(latencies),
        "backlog_at_end": left,
        **figures,
        "steady": steady,
        "cpu_ms_per_run": cpu_ms_per_run(usage.cpu_percent, usage.seconds, len(latencies)),
    }


async def highest_steady(
    bench: Bench, system: System, name: str, ladder: Ladder, seconds: float, grace: float
) -> dict[str, Any]:
    """Phases at the rates the ladder picks; the highest steady one and its CPU per run."""
    tried: dict[float, bool] = {}
    phases = []
    while (rate := ladder.next(tried)) is not None and rate not in tried:
        phase = await _phase(bench, system, name, rate, seconds, grace)
        tried[rate] = phase["steady"]
        phases.append(phase)
    best = max((p for p in phases if p["steady"]), key=lambda p: p["rate"], default=None)
    return {
        "highest_steady": best["rate"] if best else None,
        "p99_ms": best["p99_ms"] if best else None,
        "cpu_ms_per_run": best["cpu_ms_per_run"] if best else {},
        "phases": phases,
    }


async def steady(options: Options) -> dict[str, Any]:
    ladder = QUICK if options.quick else FULL
    seconds = 3.0 if options.quick else options.steady_seconds
    grace = 10.0 if options.quick else 60.0
    by_workers = {}
    for workers in options.steady_workers:
        with Stack.start(options.env, keep=options.keep, workers=workers) as stack:
            bench = await Bench.on(stack, options)
            temporal = {"temporal": stack.pids["temporal"]}
            with BaselineApp.running(
                stack.settings.temporal_address, stack.sink.port, workers
            ) as app:
                hand_written = System(f"{app.url}/events", {}, {**app.pids(), **temporal}, _none)
                baseline = await highest_steady(bench, hand_written, "b", ladder, seconds, grace)
            journeys = System(
                f"{stack.api_url}/v1/triggers/bench.mail/events",
                {"Authorization": f"Bearer {stack.event_key}"},
                stack.pids,
                bench.contacts,
            )
            ours = await highest_steady(bench, journeys, "j", ladder, seconds, grace)
        by_workers[str(workers)] = {
            "baseline": baseline,
            "journeys": ours,
            "ratio": ratios(ours, baseline),
        }
    return {"quick": options.quick, "phase_seconds": seconds, "workers": by_workers}


async def _none(contacts: list[str]) -> None:
    """The hand-written app takes the address from the event: nothing to prepare."""
