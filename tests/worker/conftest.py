from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.sinks import HttpSink, SmtpSink
from tests.worker.harness import Harness, running_worker


@pytest.fixture
async def h(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> AsyncIterator[Harness]:
    """A worker on its own task queue, with a fresh store and the test's sinks."""
    async with running_worker(temporal_env, tmp_path, smtp_sink, http_sink) as harness:
        yield harness
