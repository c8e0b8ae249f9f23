from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.stack import Stack, api_stack
from tests.sinks import HttpSink, SmtpSink


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> AsyncIterator[Stack]:
    """The gateway in-process, beside a worker with a fresh store and the test's sinks."""
    async with api_stack(temporal_env, tmp_path, smtp_sink, http_sink) as stack:
        yield stack
