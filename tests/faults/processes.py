"""The product's real processes, started, killed and restarted by fault tests.

Each child writes its output to a log file in the test's directory; a failure quotes the
end of that log. Only processes started here are ever signalled, by their own handles
(`journeys.cli.dev.processes.Child`, which `journeys dev` supervises its own with).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from journeys.cli.dev.processes import Child, free_port, port_open
from journeys.cli.dev.temporal_server import dev_server_command

ROOT = Path(__file__).parents[2]
ADMIN_KEY = "faults-admin-key-7Hq2xLp9Vt4Rk8Zw3Nc6"


def temporal_server(data_dir: Path) -> Child:
    """The Temporal dev server on a SQLite file, so that it keeps its runs across restarts."""
    port = free_port()
    args = dev_server_command(data_dir / "temporal.db", port)
    server = Child(
        "temporal", args, data_dir / "temporal.log", cwd=ROOT, ready=lambda _: port_open(port)
    )
    server.env["TEMPORAL_PORT"] = str(port)  # read back by `temporal_address`
    return server


def temporal_address(server: Child) -> str:
    return f"127.0.0.1:{server.env['TEMPORAL_PORT']}"


def journeys_worker(data_dir: Path, env: dict[str, str]) -> Child:
    command = [sys.executable, "-m", "journeys", "worker"]
    return Child(
        "worker",
        command,
        data_dir / "worker.log",
        env={**env, "JOURNEYS_LOG_LEVEL": "info"},
        cwd=ROOT,
        # Logged once the worker is registered with Temporal and polls its task queue.
        ready=lambda worker: "worker polling" in worker.output(),
    )


def journeys_api(data_dir: Path, env: dict[str, str], port: int) -> Child:
    def answering(_: Child) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    command = [sys.executable, "-m", "journeys", "api", "--port", str(port)]
    return Child("api", command, data_dir / "api.log", env=env, cwd=ROOT, ready=answering)


class ThrowawayPostgres:
    """A PostgreSQL cluster of the test's own, on a free port, that it may stop at will.

    Never the machine's shared cluster: other tests are using that one.
    """

    def __init__(self) -> None:
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not binaries:
            raise FileNotFoundError("no PostgreSQL server binaries in /usr/lib/postgresql")
        self._bin = binaries[-1].parent
        self.port = free_port()
        # PostgreSQL refuses to run as root: it then runs as `postgres`, in a folder it owns.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="journeys-faults-pg-"))
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._as, str(self._bin / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{tool} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def create(self) -> ThrowawayPostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")
        return self.start()

    def start(self) -> ThrowawayPostgres:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session at once; `immediate` is a crash (recovery at start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
