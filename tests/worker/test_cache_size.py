"""The worker keeps as many runs in memory as JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS says."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from temporalio.testing import WorkflowEnvironment

from worker.main import build_worker


async def test_the_worker_is_built_with_the_cache_size_it_is_given(
    temporal_env: WorkflowEnvironment,
) -> None:
    with ThreadPoolExecutor(max_workers=2) as executor:
        worker = build_worker(
            temporal_env.client,
            f"cache-{uuid.uuid4()}",
            [],
            executor,
            slots=1,
            max_cached_workflows=7,
        )
    assert worker.config()["max_cached_workflows"] == 7
