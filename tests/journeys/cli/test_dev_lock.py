"""One `journeys dev` per data dir, and a port in use named by its flag."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeys.cli.dev.lock import DataDirBusy, DataDirLock
from journeys.cli.dev.processes import free_port
from journeys.cli.main import app

HOLD = """
import sys, time
from pathlib import Path
from journeys.cli.dev.lock import DataDirLock
DataDirLock(Path(sys.argv[1])).acquire({"--api-port": 8100, "--temporal-port": 7300})
print("held", flush=True)
time.sleep(600)
"""


def test_a_second_stack_is_refused_and_a_killed_one_leaves_no_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(DataDirBusy) as refused:
            DataDirLock(tmp_path).acquire({"--api-port": 8200})
        assert str(refused.value) == (
            f"another `journeys dev` is running on {tmp_path} (PID {holder.pid}; "
            "--api-port 8100, --temporal-port 7300): stop it, or give this one its own --data-dir"
        )
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        lock = DataDirLock(tmp_path)
        lock.acquire({"--api-port": 8200})  # the OS released the killed holder's lock
        lock.release()
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_port_in_use_names_its_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["dev", "--data-dir", str(tmp_path), "--temporal-port", str(port)]
        args += ["--api-port", str(free_port()), "--ui-port", str(free_port())]
        result = CliRunner().invoke(app, [*args, "--smtp-port", str(free_port())])
    assert result.exit_code == 1
    assert result.stdout == (
        f"journeys dev: port {port} is already in use (another `journeys dev`?); "
        "choose another with --temporal-port\n"
    )
    lock = DataDirLock(tmp_path)
    lock.acquire({})  # it let go of the data dir
    lock.release()
