"""The gateway served on loopback for the abuse tests, with the sample definitions published."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.abuse.served import samples_gateway


@pytest.fixture(scope="module")
def gateway(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of a gateway served by uvicorn, beside a worker, samples published."""
    with samples_gateway(temporal_env, tmp_path_factory.mktemp("gateway")) as base_url:
        yield base_url
