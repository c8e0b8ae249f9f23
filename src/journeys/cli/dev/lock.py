"""One `journeys dev` per data dir: a lock file held for the stack's life.

Two stacks on one data dir would run two Temporal servers on one `temporal.db` and two
workers on one store. The lock is an `flock`, which the OS releases when its holder ends,
however it ends: a killed stack leaves no lock behind. The file says who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_FILE = "dev.lock"


class DataDirBusy(Exception):
    """Another stack holds the data dir; the message names it."""


@dataclass
class DataDirLock:
    data_dir: Path
    _fd: int | None = None

    def acquire(self, ports: dict[str, int]) -> None:
        """Hold the lock and record this process and its ports, or raise DataDirBusy."""
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise DataDirBusy(
                f"another `journeys dev` is running on {self.data_dir}{holder}: stop it, "
                "or give this one its own --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), **ports}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None


def _holder(fd: int) -> str:
    """` (PID 123; --api-port 8000, ...)` from the holder's record, if it could be read."""
    try:
        record: dict[str, Any] = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return ""  # written as we read it
    ports = ", ".join(
        f"{name.replace('_', ' ')} {port}" for name, port in record.items() if name != "pid"
    )
    return f" (PID {record['pid']}; {ports})" if "pid" in record else ""
