"""What a phase of load gives: a rate, latency percentiles, and what the processes used."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50, p90, p95, p99 and max of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"p50_ms": 0.0, "p90_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    if len(seconds) == 1:
        cuts = [seconds[0]] * 99
    else:
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p90_ms": round(cuts[89] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


@dataclass
class Rate:
    """Operations completed in a phase of closed-loop load."""

    operations: int
    seconds: float
    failures: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    cpu_percent: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def cpu_ms_per_operation(self) -> dict[str, float]:
        """CPU each process spent per operation: steadier than rates on a busy machine, since
        time other programs take from us does not count."""
        if not self.operations:
            return {}
        return {
            name: round(percent / 100 * self.seconds * 1000 / self.operations, 3)
            for name, percent in self.cpu_percent.items()
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_second": round(self.per_second, 1),
            **asdict(self),
            "cpu_ms_per_operation": self.cpu_ms_per_operation(),
        }


def ratio(mine: Rate, reference: Rate) -> float:
    return round(mine.per_second / reference.per_second, 3) if reference.per_second else 0.0
