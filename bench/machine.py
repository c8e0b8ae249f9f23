"""The machine a benchmark ran on, and what else was keeping it busy."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from journeys.cli.dev.temporal_server import temporal_binary


def describe() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": round(_meminfo_kb("MemTotal") / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "temporal_cli": _first_line([temporal_binary(), "--version"]),
        "fastapi": version("fastapi"),
        "uvicorn": version("uvicorn"),
        "wrk": _first_line(["wrk", "--version"]),
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: above ~0.5 before a run, the figures are noisy."""
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo_kb(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _first_line(command: list[str]) -> str:
    # wrk prints its version with a usage text and exits 1: take the first line either way.
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0]
