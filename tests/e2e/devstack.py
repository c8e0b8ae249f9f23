"""`journeys dev` started as a user starts it, for the end-to-end tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def start_dev(
    command: list[str], env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """The running stack and the banner it printed once it was ready (its `Data` line);
    the test fails with everything it printed if it stops or takes over two minutes."""
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 120
    while not any(line.startswith("  Data ") for line in output):
        line = process.stdout.readline()
        if (not line and process.poll() is not None) or time.monotonic() > deadline:
            process.kill()
            pytest.fail("journeys dev did not start:\n" + "".join(output))
        output.append(line)
    return process, "".join(output)
