"""Memory and CPU of the stack's processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from journeys.cli.dev.processes import children

_TICKS = os.sysconf("SC_CLK_TCK")


def command_line(pid: int) -> list[str]:
    return (Path(f"/proc/{pid}/cmdline").read_bytes()).decode().split("\0")


def tree(pid: int, apart: Collection[int] = ()) -> list[int]:
    """The process and its descendants (an API served by several processes, wrk under the
    benchmark), leaving out the subtrees of the processes `apart` (measured on their own)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(child for child in children(current) if child not in apart)
    return found


def rss_mb(pid: int, apart: Collection[int] = ()) -> float:
    """Resident memory of the process and its descendants (see `tree`)."""
    return sum(_own_rss_mb(p) for p in tree(pid, apart))


def cpu_seconds(pid: int, apart: Collection[int] = ()) -> float:
    """User and system time the process and its descendants (see `tree`) have used."""
    return sum(_own_cpu_seconds(p) for p in tree(pid, apart))


def _own_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass  # it ended while we looked
    return 0.0


def _own_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # it ended while we looked
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _ended_children_cpu_seconds() -> float:
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ended.ru_utime + ended.ru_stime


@dataclass
class Usage:
    """CPU used by each process over a phase, as a percentage of one core."""

    cpu_percent: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0  # how long the block took


@contextmanager
def measured(pids: Mapping[str, int], ended_children: str | None = None) -> Iterator[Usage]:
    """CPU of each process over the block, and its memory at the end; with
    `ended_children`, also that of this process's children that ended in the block (the
    load generator), under that name."""
    usage = Usage()
    apart = set(pids.values())  # each named process counts for itself, not its parent
    started = time.monotonic()
    before = {name: cpu_seconds(pid, apart - {pid}) for name, pid in pids.items()}
    children_before = _ended_children_cpu_seconds()
    yield usage
    elapsed = usage.seconds = time.monotonic() - started
    if ended_children is not None:
        used = _ended_children_cpu_seconds() - children_before
        usage.cpu_percent[ended_children] = round(100 * used / elapsed, 1)
    for name, pid in pids.items():
        used = cpu_seconds(pid, apart - {pid}) - before[name]
        usage.cpu_percent[name] = round(100 * used / elapsed, 1)
        usage.rss_mb[name] = round(rss_mb(pid, apart - {pid}), 1)
