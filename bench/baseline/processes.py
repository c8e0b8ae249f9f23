"""The hand-written app's processes: its API under uvicorn (served as the gateway is) and
`workers` worker processes, on a given Temporal server, mailing a given SMTP port."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.stack import worker_name
from journeys.cli.dev.processes import Child, free_port, port_open

ROOT = Path(__file__).parents[2]


class BaselineApp:
    def __init__(self, temporal_address: str, smtp_port: int, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._logs = Path(tempfile.mkdtemp(prefix="journeys-bench-baseline-"))
        env = {
            **os.environ,
            "BASELINE_TEMPORAL_ADDRESS": temporal_address,
            "BASELINE_SMTP_PORT": str(smtp_port),
        }
        api = [sys.executable, "-m", "uvicorn", "bench.baseline.api:app", "--port", str(self.port)]
        self._api = Child(
            "baseline api",
            [*api, "--log-level", "warning", "--no-access-log"],
            self._logs / "api.log",
            env=env,
            cwd=ROOT,
            ready=lambda _: port_open(self.port),
        )
        self._workers = [
            Child(
                f"baseline worker {n}",
                [sys.executable, "-m", "bench.baseline.worker"],
                self._logs / f"worker{n}.log",
                env=env,
                cwd=ROOT,
                ready=lambda child: "polling" in child.output(),
            )
            for n in range(1, workers + 1)
        ]

    def pids(self) -> dict[str, int]:
        """Its processes by name: `api`, `worker`, then `worker-2`... (as the stack's)."""
        found = {"api": _pid(self._api)}
        for n, worker in enumerate(self._workers, start=1):
            found[worker_name(n)] = _pid(worker)
        return found

    @classmethod
    @contextmanager
    def running(
        cls, temporal_address: str, smtp_port: int, workers: int = 1
    ) -> Iterator[BaselineApp]:
        """The app started, its workers first; stopped after, whatever happened."""
        app = cls(temporal_address, smtp_port, workers)
        try:
            for child in [*app._workers, app._api]:
                child.start()
            yield app
        finally:
            for child in [app._api, *app._workers]:
                child.stop()
            shutil.rmtree(app._logs, ignore_errors=True)


def _pid(child: Child) -> int:
    assert child.process is not None
    return child.process.pid
