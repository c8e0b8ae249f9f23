"""The README, run as a newcomer runs it: every `sh` block, in order, in a fresh shell whose
only set-up is the README's own (`source .venv/bin/activate`), against `journeys dev`.

The stack runs on free ports, not the README's 8000 and 7233 (a developer's own `make run`
may hold them): the API's address in the blocks is rewritten, and the `temporal` CLI is told
its server the way a user of another port would tell it (TEMPORAL_ADDRESS). A block that is
not meant to run here says why, in a comment just above it: `<!-- not run: the reason -->`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from journeys.cli.dev.processes import free_port
from tests.e2e.devstack import start_dev

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
README_API = "http://127.0.0.1:8000"
FENCE = re.compile(r"^( *)```(\S*)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->\s*$")


@dataclass
class Block:
    line: int
    code: str


def readme_blocks() -> tuple[list[Block], list[str]]:
    """The README's `sh` blocks to run, and the reasons given for those left out."""
    text = (ROOT / "README.md").read_text()
    run, left_out = [], []
    for fence in FENCE.finditer(text):
        if fence.group(2) != "sh":
            continue
        line = text.count("\n", 0, fence.start()) + 1
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NOT_RUN.search(before)
        if reason:
            left_out.append(reason.group(1))
            continue
        indent = len(fence.group(1))
        code = "\n".join(row[indent:] for row in fence.group(3).splitlines())
        run.append(Block(line, code))
    return run, left_out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, int]]:
    """`journeys dev` with its own capture outbox, as `make run` starts it."""
    data_dir = tmp_path_factory.mktemp("readme") / ".journeys"
    api_port, temporal_port = free_port(), free_port()
    command = [
        *(sys.executable, "-m", "journeys", "dev", "--data-dir", str(data_dir)),
        *("--api-port", str(api_port), "--temporal-port", str(temporal_port)),
        *("--ui-port", str(free_port()), "--smtp-port", str(free_port())),
        *("--workflows", str(ROOT / "workflows")),
    ]
    process, _ = start_dev(command)
    yield data_dir, api_port, temporal_port
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_every_block_runs_as_written_in_a_fresh_shell(
    stack: tuple[Path, int, int], tmp_path: Path
) -> None:
    data_dir, api_port, temporal_port = stack
    blocks, _ = readme_blocks()
    # A checkout as the reader has it: the venv `make` made (the one running these tests),
    # the definitions, the data dir.
    for name, target in ((".venv", Path(sys.prefix)), ("workflows", ROOT / "workflows")):
        (tmp_path / name).symlink_to(target)
    (tmp_path / ".journeys").symlink_to(data_dir)
    api = f"http://127.0.0.1:{api_port}"
    script = [
        "set -euo pipefail",
        # An HTTP error answer fails the block, its body shown; the README's own `-s` stays.
        'curl() { command curl --fail-with-body "$@"; }',
        "source .venv/bin/activate",
    ]
    for block in blocks:
        script += [
            f"echo '>>> README.md line {block.line}' >&2",
            block.code.replace(README_API, api),
        ]
    shell = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        # A fresh login's environment, nothing of this test process's.
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
            "JOURNEYS_URL": api,
            # Only a second checkout sharing one venv sets it, for its own code to run.
            **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert shell.returncode == 0, shell.stderr[-4000:] + "\n--- stdout ---\n" + shell.stdout[-4000:]
    assert os.path.exists(tmp_path / "orders.svg")


def test_blocks_left_out_say_why() -> None:
    blocks, left_out = readme_blocks()
    assert len(blocks) >= 8  # the tour, authoring, sending events, stats, Temporal queries
    assert all(len(reason) > 10 for reason in left_out), left_out
