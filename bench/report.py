"""Results as markdown tables, and the figures section of BENCHMARKS.md regenerated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"

# Customer Insights - Journeys, documented limits (shared/reference).
CIJ_PER_SECOND = 2500 / 60
CIJ_P90_MS = 3 * 60_000
CIJ_P95_MS = 5 * 60_000


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _lat(rate: dict[str, Any]) -> str:
    return f"{_n(rate['p50_ms'])} / {_n(rate['p95_ms'])} / {_n(rate['p99_ms'])}"


def _cpu(rate: dict[str, Any]) -> str:
    return ", ".join(f"{name} {percent:.0f}" for name, percent in rate["cpu_percent"].items())


def machine(info: dict[str, Any]) -> list[str]:
    return [
        f"Run {info['date']} on {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, "
        f"{info['os']}; Python {info['python']}, temporalio {info['temporalio']}, "
        f"{info['temporal_cli']}, FastAPI {info['fastapi']}, uvicorn {info['uvicorn']}, "
        f"{info['wrk']}. Load average before the run: {info['load_average']}.",
        "",
    ]


def ingestion(result: dict[str, Any]) -> list[str]:
    rows = []
    for name, label in (("start", "start (signal-with-start)"), ("continue", "continue (signal)")):
        figures = result[name]
        rows.append(
            [
                label,
                _n(figures["gateway"]["per_second"]),
                _n(figures["sdk"]["per_second"]),
                f"{figures['ratio']:.2f}",
                verdict(figures["ratio"] >= 0.95),
                _lat(figures["gateway"]),
                _lat(figures["sdk"]),
                _cpu(figures["gateway"]),
            ]
        )
    header = [
        "events",
        "gateway /s",
        "SDK /s",
        "ratio",
        "target >= 0.95",
        "gateway p50/p95/p99 ms",
        "SDK p50/p95/p99 ms",
        "CPU % (gateway phase)",
    ]
    return ["### 1. Ingestion", "", *_table(header, rows)]


def latency(result: dict[str, Any]) -> list[str]:
    rows = []
    for run in result["rates"]:
        target = ""
        if run["target_per_second"] == 50:
            target = verdict(run["p99_ms"] < 1000 and run["delivered"] == run["sent"])
        rows.append(
            [
                run["target_per_second"],
                _n(run["achieved_per_second"]),
                f"{run['delivered']} / {run['sent']}",
                _n(run["p50_ms"]),
                _n(run["p90_ms"]),
                _n(run["p95_ms"]),
                _n(run["p99_ms"]),
                _n(run["max_ms"]),
                f"{_n(run['http']['p50_ms'])} / {_n(run['http']['p99_ms'])}",
                target,
            ]
        )
    header = [
        "events /s",
        "sent /s",
        "emails / events",
        "p50 ms",
        "p90 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "HTTP answer p50 / p99 ms",
        "target p99 < 1 s at 50/s",
    ]
    retried = sum(run.get("retried", 0) for run in result["rates"])
    note = (
        [f"{retried} POSTs were sent again after the server closed a kept-alive connection.", ""]
        if retried
        else []
    )
    title = "### 2. Latency, trigger POST to email accepted by SMTP"
    return [title, "", *_table(header, rows), *note]


def unmatched(result: dict[str, Any]) -> list[str]:
    gateway, bare = result["gateway"], result["bare_fastapi"]
    rows = [
        [
            "gateway (authenticated, validated)",
            _n(gateway["per_second"]),
            _lat(gateway),
            _cpu(gateway),
            verdict(gateway["per_second"] >= 3000),
        ],
        ["bare FastAPI endpoint (ceiling)", _n(bare["per_second"]), _lat(bare), _cpu(bare), ""],
    ]
    header = ["", "events /s", "p50/p95/p99 ms", "CPU %", "target >= 3,000/s"]
    return [
        "### 3. Events that match no journey",
        "",
        *_table(header, rows),
        f"Gateway / bare endpoint: {result['ratio_to_bare']:.2f}.",
        "",
    ]


def capacity(result: dict[str, Any]) -> list[str]:
    empty, full = result["footprint_empty"], result["footprint_full"]
    after = result["footprint_after_load"]
    worker_peak = result["worker_rss_peak_mb"]
    rows = [
        [
            "start events /s",
            _n(result["empty"]["start"]["per_second"]),
            _n(result["full"]["start"]["per_second"]),
            f"{result['ratio']['start']:.2f}",
            verdict(result["ratio"]["start"] >= 0.8),
        ],
        [
            "continue events /s",
            _n(result["empty"]["continue"]["per_second"]),
            _n(result["full"]["continue"]["per_second"]),
            f"{result['ratio']['continue']:.2f}",
            verdict(result["ratio"]["continue"] >= 0.8),
        ],
    ]
    if "continue_sdk" in result["ratio"]:  # recorded since the SDK's pings were added
        rows.append(
            [
                "the same pings, SDK /s",
                _n(result["empty"]["continue_sdk"]["per_second"]),
                _n(result["full"]["continue_sdk"]["per_second"]),
                f"{result['ratio']['continue_sdk']:.2f}",
                "",
            ]
        )
    if "continue_parts" in result:  # recorded since runs held in memory were pinged there too
        rows += _held_in_memory(result)
    for name in ("worker", "api", "temporal"):
        peak = max(full["rss_mb"][name], after["rss_mb"][name])
        target = verdict(worker_peak <= 500) if name == "worker" else ""
        rows.append([f"{name} RSS MB", _n(empty["rss_mb"][name]), _n(peak), "", target])
    for name, label in (("journeys_db", "Journeys store MB"), ("temporal_db", "Temporal store MB")):
        rows.append([label, _n(empty["store_mb"][name]), _n(after["store_mb"][name]), "", ""])
    header = ["", "empty", f"{result['waiting_runs']:,} waiting", "full / empty", "target"]
    return [
        "### 4. Waiting capacity",
        "",
        *_table(header, rows),
        f"{result['requested']:,} runs started at {_n(result['seeded_per_second'])}/s; "
        + _entered(result)
        + _empty_pool(result)
        + _eviction(result)
        + " Target: worker RSS <= 500 MB, ingestion within 20 %.",
        "",
        *_longer_histories(result),
        *_cache_sizes(result.get("by_cache_size", {})),
    ]


def _held_in_memory(result: dict[str, Any]) -> list[list[Any]]:
    """Rows for continue events to runs held in memory, on the empty stack and the full one:
    their ratio is what the larger stores cost, without eviction."""
    return [
        [
            f"continue events to runs held in memory{sent_by} /s",
            _n(result["empty"][f"continue{suffix}"]["per_second"]),
            _n(result["full"][f"cached{suffix}"]["per_second"]),
            f"{result['continue_parts']['stores' + suffix]:.2f}",
            "",
        ]
        for sent_by, suffix in (("", ""), (", SDK", "_sdk"))
    ]


def _eviction(result: dict[str, Any]) -> str:
    if "continue_parts" not in result:
        return ""
    parts = result["continue_parts"]
    return (
        " On the full stack, continue events to the waiting runs went at"
        f" {parts['eviction']:.2f} of the rate of those to runs held in memory (SDK"
        f" {parts['eviction_sdk']:.2f}): what runs not in memory cost (the worker replays"
        " them, the server reads what it no longer holds), the stores' size apart."
    )


def _empty_pool(result: dict[str, Any]) -> str:
    if "empty_pool" not in result:  # recorded before the pool was chosen to fit the cache
        return ""
    pool, cache = f"{result['empty_pool']:,}", f"{result['worker_cache']:,}"
    if "continue_parts" in result:
        return f" Each pool held in memory was {pool} runs, the worker caching {cache}."
    return f" Continue events on the empty stack went to {pool} runs, the worker caching {cache}."


def _cache_sizes(by_size: dict[str, Any]) -> list[str]:
    if not by_size:
        return []
    rows = [
        [
            f"{int(size):,}",
            f"{figures['waiting_runs']:,}",
            _n(figures["continue_empty_per_second"]),
            _n(figures["continue_full_per_second"]),
            f"{figures['continue_ratio']:.2f}",
            _n(figures["worker_rss_peak_mb"]),
        ]
        for size, figures in by_size.items()
    ]
    header = [
        "worker cache (runs)",
        "waiting",
        "continue /s empty",
        "continue /s waiting",
        "ratio",
        "worker RSS peak MB",
    ]
    return ["By worker cache size (a fresh stack each):", "", *_table(header, rows)]


def history(result: dict[str, Any]) -> list[str]:
    return [
        "### 4b. History length: continue events to evicted runs",
        "",
        *_history_table(result["levels"]),
        f"{result['waiting_runs']:,} runs waiting"
        + ("" if result.get("all_waiting", True) else f" (**not all** of {result['runs']:,})")
        + f", pinged in turn, the worker caching {result['worker_cache']:,}: each event finds "
        "its run evicted and replays its history. Setup pings come before each phase; the "
        "measured phases add their own, which the history length counts.",
        "",
    ]


def _longer_histories(result: dict[str, Any]) -> list[str]:
    if "history" not in result:
        return []
    runs, cache = result["history"]["runs"], result["worker_cache"]
    # Not recorded at first: then at least the continue events answered on the full stack.
    full = result["full"]
    touched = result["history"].get(
        "touched_before", full["continue"]["operations"] + full["continue_sdk"]["operations"]
    )
    if runs <= cache:
        evicted = "**all of them cached**"
    elif touched < cache:
        evicted = f"**the first level's first {touched:,} events found their run cached**"
    else:
        evicted = "each event finding its run evicted"
    return [
        f"History length with the runs waiting: continue events to {runs:,} of them, pinged in"
        f" turn, the worker caching {cache:,}: {evicted}. Setup pings before each level.",
        "",
        *_history_table(result["history"]["levels"]),
    ]


def _history_table(levels: list[dict[str, Any]]) -> list[str]:
    first = levels[0]["continue"]["per_second"] if levels else 0
    rows = [
        [
            f"{level['pings_before']:,}",
            f"{level['history_events_median']:,.0f} ({level['history_events_max']:,})",
            _n(level["continue"]["per_second"]),
            f"{level['continue']['per_second'] / first:.2f}" if first else "",
            _n(level["continue"]["cpu_ms_per_operation"].get("worker", 0)),
            _n(level["continue"]["cpu_ms_per_operation"].get("temporal", 0)),
        ]
        for level in levels
    ]
    header = [
        "setup pings per run",
        "history events, median (max)",
        "continue /s",
        "ratio to the first",
        "worker CPU ms / event",
        "Temporal CPU ms / event",
    ]
    return _table(header, rows)


def _entered(result: dict[str, Any]) -> str:
    if result.get("all_waiting_after_s") is not None:
        return f"all waiting {result['all_waiting_after_s']:.0f} s after the first start."
    return (
        f"**not all waiting** {result['gave_up_waiting_after_s']:.0f} s after the first "
        "start, when the benchmark stopped waiting (the figures are for those that were)."
    )


def fan_out(result: dict[str, Any]) -> list[str]:
    gateway, sdk = result["gateway"], result["sdk"]
    count = result["journeys_per_event"]
    rows = [
        ["gateway", _n(gateway["per_second"]), _n(gateway["per_second"] * count), _lat(gateway)],
        [
            "SDK (ten calls at once)",
            _n(sdk["per_second"]),
            _n(sdk["per_second"] * count),
            _lat(sdk),
        ],
    ]
    header = ["", "events /s", "runs started /s", "p50/p95/p99 ms per event"]
    return [
        f"### 5. Fan-out: one event starts {count} journeys",
        "",
        *_table(header, rows),
        f"Gateway / SDK: {result['ratio']:.2f}.",
        "",
    ]


def commercial(results: dict[str, Any]) -> list[str]:
    rows = []
    if "ingestion" in results:
        start = results["ingestion"]["start"]["gateway"]["per_second"]
        rows.append(
            [
                "trigger throughput",
                "2,500 / min (~42 / s)",
                f"{_n(start * 60)} / min ({_n(start)} / s) new runs",
                f"{start / CIJ_PER_SECOND:.1f} x",
            ]
        )
    if "latency" in results:
        for run in results["latency"]["rates"]:
            if run["target_per_second"] >= CIJ_PER_SECOND:
                rows.append(
                    [
                        f"trigger to email at {run['target_per_second']} / s",
                        "P90 < 3 min, P95 < 5 min (at 42 / s)",
                        f"P90 {_n(run['p90_ms'])} ms, P95 {_n(run['p95_ms'])} ms",
                        f"{CIJ_P95_MS / max(run['p95_ms'], 1):,.0f} x faster at P95",
                    ]
                )
                break
    if not rows:
        return []
    header = ["", "Customer Insights - Journeys (documented)", "Journeys (this run)", ""]
    return ["### Against the commercial limits", "", *_table(header, rows)]


def steady(result: dict[str, Any]) -> list[str]:
    rows = []
    for workers, figures in result["workers"].items():
        for name, label in (("baseline", "hand-written app"), ("journeys", "Journeys")):
            system = figures[name]
            cpu = system["cpu_ms_per_run"]
            best = system["highest_steady"]
            rows.append(
                [
                    workers,
                    label,
                    _n(best) if best else "none steady",
                    _n(system["p99_ms"]) if best else "",
                    *(_n(cpu[k]) if k in cpu else "" for k in ("api", "worker", "temporal")),
                    _n(cpu["total"]) if "total" in cpu else "",
                    len(system["phases"]),
                ]
            )
    header = [
        "workers",
        "",
        "highest steady /s",
        "p99 ms at it",
        "CPU ms / run: API",
        "worker",
        "Temporal",
        "total",
        "phases",
    ]
    quick = (
        ["**A `--quick` run: phases too short and a search too coarse to be figures.**", ""]
        if result["quick"]
        else []
    )
    return [
        "### 6. Cost per run: Journeys against a hand-written Temporal app",
        "",
        *quick,
        *_table(header, rows),
        f"Phases of {result['phase_seconds']:g} s; steady: p99 trigger to SMTP < 1 s, every "
        "email delivered, at most a second's worth of events outstanding when the last is sent.",
        "Each phase as rate /s: p99 ms, events outstanding when the last was sent:",
        "",
        *_phases(result["workers"]),
        "",
    ]


def _phases(by_workers: dict[str, Any]) -> list[str]:
    lines = []
    for workers, figures in by_workers.items():
        for name, label in (("baseline", "hand-written app"), ("journeys", "Journeys")):
            phases = "; ".join(
                f"{_n(p['rate'])}: {_n(p['p99_ms'])}, {p['backlog_at_end']}"
                + ("" if p["steady"] else " (not steady)")
                for p in figures[name]["phases"]
            )
            lines.append(f"- {workers} worker(s), {label}: {phases}")
    return lines


def _ratio(value: float | None, target: str, met: bool) -> list[str]:
    if value is None:
        return ["not measured in this run", target, ""]
    return [f"{value:.2f}", target, verdict(met)]


def targets(results: dict[str, Any]) -> list[str]:
    """The ratios issue 18 sets as targets, from whichever benchmarks ran."""
    rows = []
    for workers, figures in results.get("steady", {}).get("workers", {}).items():
        rate, cpu = figures["ratio"]["rate"], figures["ratio"]["cpu_per_run"]
        rows.append(
            [
                f"highest steady rate, {workers} worker(s)",
                *_ratio(rate, ">= 0.9", (rate or 0) >= 0.9),
            ]
        )
        rows.append(
            [f"CPU per run, {workers} worker(s)", *_ratio(cpu, "<= 1.25", (cpu or 99) <= 1.25)]
        )
    for name in ("start", "continue"):
        value = results["ingestion"][name]["ratio"] if "ingestion" in results else None
        rows.append([f"gateway / SDK, {name}", *_ratio(value, ">= 0.95", (value or 0) >= 0.95)])
    value = results["capacity"]["ratio"]["continue"] if "capacity" in results else None
    rows.append(
        ["continue with runs waiting / empty", *_ratio(value, ">= 0.9", (value or 0) >= 0.9)]
    )
    header = ["Journeys over its yardstick", "ratio", "target", ""]
    return ["### Targets of issue 18 (ratios within this run)", "", *_table(header, rows)]


SECTIONS = {
    "ingestion": ingestion,
    "latency": latency,
    "unmatched": unmatched,
    "capacity": capacity,
    "history": history,
    "fan_out": fan_out,
    "steady": steady,
}


def markdown(report: dict[str, Any]) -> str:
    lines = machine(report["machine"])
    for name, render in SECTIONS.items():
        if name in report["results"]:
            lines += render(report["results"][name])
        elif name in report.get("errors", {}):
            lines += [f"### {name}: failed", "", f"    {report['errors'][name]}", ""]
    lines += targets(report["results"])
    lines += commercial(report["results"])
    return "\n".join(lines)


def write_into(document: Path, text: str) -> None:
    """Replace the figures between the markers of `document` (BENCHMARKS.md)."""
    content = document.read_text()
    before, found, rest = content.partition(START_MARK)
    _, found_end, after = rest.partition(END_MARK)
    if not (found and found_end):
        raise ValueError(f"{document} has no {START_MARK} ... {END_MARK} markers")
    document.write_text(f"{before}{START_MARK}\n{text.rstrip()}\n{END_MARK}{after}")
