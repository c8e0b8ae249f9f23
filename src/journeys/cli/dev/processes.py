"""Child processes on this machine, and the loopback ports they listen on.

`journeys dev` supervises its Temporal server, worker and API with these; the tests and the
benchmarks start, kill and restart the product's real processes with the same ones.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 60.0
GRACE_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll until the predicate holds; fail after the timeout (a bound, not a speed test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class Child:
    """One child process, restartable with the same command.

    Its output goes to `log` (appended, each start's part readable alone), or to the
    parent's own output without one. It runs in a session of its own, so that a Ctrl-C
    reaches the parent only (which stops its children in order), and on Linux it is ended
    with its parent if the parent is killed outright.
    """

    name: str
    args: list[str]
    log: Path | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path | None = None
    ready: Callable[[Child], bool] = lambda _: True
    process: subprocess.Popen[bytes] | None = None
    _log_offset: int = 0  # where this start's output begins in the log

    def start(self, timeout: float = STARTUP_SECONDS) -> Child:
        self.spawn()
        self.wait_ready(timeout)
        return self

    def spawn(self) -> None:
        """Start it without waiting for it to be ready (see `wait_ready`)."""
        assert not self.running, f"{self.name} is running already"
        output = None
        if self.log is not None:
            self._log_offset = self.log.stat().st_size if self.log.exists() else 0
            output = self.log.open("ab")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own binaries, no shell
                self.args,
                env=self.env,
                cwd=self.cwd,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            if output is not None:
                output.close()

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        def up() -> bool:
            if self.exited is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.tail()}")
            return self.ready(self)

        try:
            wait_until(up, timeout=timeout, interval=0.2)
        except AssertionError as error:
            raise AssertionError(f"{self.name} did not come up: {error}\n{self.tail()}") from None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def exited(self) -> int | None:
        """Its exit code once it has ended, else None."""
        return None if self.process is None else self.process.poll()

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

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM, then SIGKILL if it has not ended within the grace period."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        """What the process has written to its log since it was last started."""
        if self.log is None or not self.log.exists():
            return ""
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        if self.log is None or not self.log.exists():
            return "(no output)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


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


def journeys_dev_command(
    data_dir: Path,
    *,
    api_port: int,
    temporal_port: int,
    ui_port: int,
    smtp_port: int,
    workflows: Path,
    api_key: str | None = None,
    workers: int = 1,
) -> list[str]:
    """`journeys dev` as a user runs it, on these ports, its mail to an SMTP server on
    loopback, applying the definitions in `workflows`, with `workers` worker processes."""
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
    command += ["--workers", str(workers)]
    return command + (["--api-key", api_key] if api_key else [])


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
