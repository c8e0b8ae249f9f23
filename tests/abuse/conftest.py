"""The gateway served on loopback for the abuse tests, with the sample definitions published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from journeys.definitions.documents import load_bundle, to_document
from tests.abuse.served import served_gateway
from tests.sinks import HttpSink, SmtpSink

WORKFLOWS = Path(__file__).parents[2] / "workflows"
ADMIN = {"Authorization": "Bearer test-admin-key"}


def publish_samples(base_url: str) -> None:
    """What `journeys apply workflows/` does, over HTTP."""
    bundle = load_bundle([WORKFLOWS])
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as api:
        for trigger in bundle.triggers:
            api.put(f"/v1/triggers/{trigger.name}", json=to_document(trigger)).raise_for_status()
        for journey in bundle.journeys:
            api.put(f"/v1/journeys/{journey.id}", json=to_document(journey)).raise_for_status()
            api.post(f"/v1/journeys/{journey.id}/publish").raise_for_status()


@pytest.fixture(scope="module")
def gateway(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of a gateway served by uvicorn, beside a worker, samples published."""
    smtp, http = SmtpSink().start(), HttpSink().start()
    try:
        with served_gateway(
            temporal_env.client.service_client.config.target_host,
            temporal_env.client.namespace,
            tmp_path_factory.mktemp("gateway"),
            smtp,
            http,
        ) as base_url:
            publish_samples(base_url)
            yield base_url
    finally:
        smtp.stop()
        http.stop()
