"""The hand-written app of the steady benchmark, as real processes on a real Temporal server:
an event becomes one email, sent again it is not sent twice."""

from __future__ import annotations

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from bench.baseline.processes import BaselineApp
from journeys.cli.dev.processes import wait_until
from tests.sinks import SmtpSink

pytestmark = pytest.mark.e2e


def test_an_event_sends_its_email_once(temporal_env: WorkflowEnvironment) -> None:
    smtp = SmtpSink().start()
    address = temporal_env.client.service_client.config.target_host
    try:
        with BaselineApp.running(address, smtp.port) as app:
            event = {"contact_id": "ada", "event_id": "baseline-e1", "attributes": {"seq": 7}}
            for _ in range(2):  # a producer's retry
                assert httpx.post(f"{app.url}/events", json=event).status_code == 202
            wait_until(lambda: smtp.to("ada@example.com"))
            assert set(app.pids()) == {"api", "worker"}
    finally:
        smtp.stop()
    [email] = smtp.to("ada@example.com")
    assert email["Subject"] == "Benchmark 7"
    assert email.get_content().strip() == "Hello Bench, event 7."
