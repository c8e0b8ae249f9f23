"""Memory and CPU of the stack's processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def children(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        # The command name is in parentheses and may hold spaces: split after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


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


@dataclass
class Usage:
    """CPU used by each process over a phase, as a percentage of one core."""

    cpu_percent: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)


@contextmanager
def measured(pids: Mapping[str, int]) -> Iterator[Usage]:
    """CPU of each process over the block, and its memory at the end."""
    usage = Usage()
    apart = set(pids.values())  # each named process counts for itself, not its parent
    started = time.monotonic()
    before = {name: cpu_seconds(pid, apart - {pid}) for name, pid in pids.items()}
    yield usage
    elapsed = time.monotonic() - started
    for name, pid in pids.items():
        used = cpu_seconds(pid, apart - {pid}) - before[name]
        usage.cpu_percent[name] = round(100 * used / elapsed, 1)
        usage.rss_mb[name] = round(rss_mb(pid, apart - {pid}), 1)
