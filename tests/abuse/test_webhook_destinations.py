"""A journey's author chooses a webhook step's URL, headers and body: the worker must not
become their way into the deployment (SSRF), nor sign for the SMS and push providers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import check_definition, parse_definition
from journeys.definitions.journeys import WebhookCall
from journeys.definitions.templating import InProcess
from journeys.engine.commands import WebhookAnswered
from journeys.kit.signing import SIGNATURE_HEADER, verify, webhook_step_secret
from journeys.store.db import create_db_engine, migrate
from tests.sinks import HttpSink
from worker.activities.webhook import MAX_ANSWER_BYTES, WebhookActivities
from worker.contracts import WebhookRequest
from worker.destinations import LOOPBACK, IpNetwork, public_client

SECRET = "deployment-secret"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


def call(
    store: Engine, url: str, allowed: list[IpNetwork] | None = None, **fields: Any
) -> WebhookAnswered:
    request = WebhookRequest(
        instance_id="i1",
        journey_id="j",
        journey_name="J",
        version=1,
        contact_id="ada",
        step="call",
        iteration=1,
        call=WebhookCall.model_validate({"url": url, "retries": 0, **fields}),
        trigger={},
        event=None,
        response=None,
    )
    with public_client(allowed or [], timeout=5) as http:
        activity = WebhookActivities(store, SECRET, http, InProcess()).call_webhook
        answered: WebhookAnswered = ActivityEnvironment().run(activity, request)
        return answered


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",  # a name that resolves to loopback
        "[::ffff:127.0.0.1]:{port}",  # loopback written as IPv6
        "169.254.169.254",  # the cloud metadata service
        "10.1.2.3",
        "192.168.0.10",
        "[fd00:ec2::254]",  # the metadata service over IPv6
        "0.0.0.0:{port}",
    ],
)
def test_webhook_steps_cannot_reach_the_deployments_own_network(
    store: Engine, http_sink: HttpSink, host: str
) -> None:
    url = f"http://{host.format(port=http_sink.port)}/latest/meta-data/"
    answered = call(store, url, headers={"Metadata-Flavor": "Google"})
    assert answered.status is None
    assert (
        answered.error is not None and "webhook steps call public addresses only" in answered.error
    )
    assert "JOURNEYS_WEBHOOK_ALLOWED_NETWORKS" in answered.error
    assert http_sink.requests == []


def test_an_allowed_network_is_called_signed_for_webhook_steps_only(
    store: Engine, http_sink: HttpSink
) -> None:
    answered = call(
        store,
        f"{http_sink.url}/crm",
        allowed=list(LOOPBACK),
        headers={"X-Team": "growth"},
    )
    assert answered.status == 200 and answered.response == {"id": "provider-1"}
    [received] = http_sink.requests
    assert received.headers["X-Team"] == "growth"
    signature = received.headers[SIGNATURE_HEADER]
    now = time.time()
    assert verify(webhook_step_secret(SECRET), signature, received.body, now)
    # What the author controls is not signed as the SMS and push providers' calls are.
    assert not verify(SECRET, signature, received.body, now)


def test_headers_about_the_connection_are_refused_at_validation_and_dropped_at_the_call(
    store: Engine, http_sink: HttpSink
) -> None:
    headers = {"Host": "metadata.google.internal", "Transfer-Encoding": "chunked", "TE": "x"}
    journey = {
        "kind": "Journey",
        "id": "hosts",
        "name": "Hosts",
        "start": {"trigger": "contact.created"},
        "steps": [
            {"id": "call", "webhook": {"url": "https://crm.example.com", "headers": headers}}
        ],
    }
    definition, problems = parse_definition(journey)
    assert definition is not None and problems == []
    problems = check_definition(definition, TriggerCatalog())
    assert {(p.path, p.message) for p in problems} == {
        (f"steps[0].webhook.headers.{name}", "set by Journeys or by the connection, not by a step")
        for name in headers
    }
    # A journey published before the rule: the call goes out without them.
    answered = call(store, f"{http_sink.url}/crm", allowed=list(LOOPBACK), headers=headers)
    assert answered.status == 200
    [received] = http_sink.requests
    assert received.headers["Host"] == f"127.0.0.1:{http_sink.port}"
    assert "Transfer-Encoding" not in received.headers and "TE" not in received.headers


def test_an_answer_too_large_for_the_runs_history_is_not_kept(
    store: Engine, http_sink: HttpSink
) -> None:
    http_sink.answers["/huge"] = {"blob": "x" * MAX_ANSWER_BYTES}
    answered = call(store, f"{http_sink.url}/huge", allowed=list(LOOPBACK))
    assert answered.status == 200 and answered.response == {}
    assert answered.error == f"the answer is over {MAX_ANSWER_BYTES:,} bytes; it was not kept"
    http_sink.answers["/fits"] = {"blob": "x" * (MAX_ANSWER_BYTES - 100)}
    fits = call(store, f"{http_sink.url}/fits", allowed=list(LOOPBACK))
    assert fits.error is None and len(json.dumps(fits.response)) < MAX_ANSWER_BYTES
