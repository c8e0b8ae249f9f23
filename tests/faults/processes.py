"""The product's real processes, started, killed and restarted by fault tests.

Each child writes its output to a log file in the test's directory; a failure quotes the
end of that log. Only processes started here are ever signalled, by their own handles.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from journeys.cli.dev.temporal_server import dev_server_command
from tests.sinks import free_port, wait_until

ROOT = Path(__file__).parents[2]
STARTUP_SECONDS = 60.0
ADMIN_KEY = "faults-admin-key"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Child:
    """One child process, restartable with the same command."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    ready: Callable[[Child], bool] = lambda _: True
    process: subprocess.Popen[bytes] | None = None
    _log_offset: int = 0  # where this start's output begins in the log

    def start(self) -> Child:
        self.spawn()
        self.wait_ready()
        return self

    def spawn(self) -> None:
        """Start it without waiting for it to be ready (see `wait_ready`)."""
        assert not self.running, f"{self.name} is running already"
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        def up() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.tail()}")
            return self.ready(self)

        try:
            wait_until(up, timeout=STARTUP_SECONDS, interval=0.2)
        except AssertionError as error:
            raise AssertionError(f"{self.name} did not come up: {error}\n{self.tail()}") from None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: alive, holding its connections, answering nothing (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within a grace period."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        """What the process has written since it was last started."""
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no output)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def temporal_server(data_dir: Path) -> Child:
    """The Temporal dev server on a SQLite file, so that it keeps its runs across restarts."""
    port = free_port()
    args = dev_server_command(data_dir / "temporal.db", port)
    server = Child("temporal", args, data_dir / "temporal.log", ready=lambda _: port_open(port))
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
    return Child("api", command, data_dir / "api.log", env=env, ready=answering)


def journeys_dev_command(
    data_dir: Path,
    *,
    api_port: int,
    temporal_port: int,
    ui_port: int,
    smtp_port: int,
    workflows: Path,
    api_key: str | None = None,
) -> list[str]:
    """`journeys dev` as a user runs it, on these ports, its mail to an SMTP sink on
    loopback, applying the definitions in `workflows`."""
    command = [
        sys.executable,
        "-m",
        "journeys",
        "dev",
        "--data-dir",
        str(data_dir),
        "--api-port",
        str(api_port),
        "--temporal-port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(smtp_port),
        "--workflows",
        str(workflows),
    ]
    return command + (["--api-key", api_key] if api_key else [])


def children(parent: int) -> list[int]:
    """The processes whose parent is `parent` (Linux, from /proc)."""
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
