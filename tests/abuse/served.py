"""The gateway served by uvicorn on loopback, beside a worker, in a thread of its own.

Schemathesis drives an API through blocking HTTP calls from synchronous tests, while the
session's event loop sits idle between async tests. So this stack brings its own loop, in
a background thread: its own Temporal client (to the session's dev server), a worker on a
fresh task queue and uvicorn with the real app and lifespan. Nothing is shared with the
session loop but the dev server's address.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from journeys.cli.dev.processes import free_port
from journeys.definitions.documents import load_bundle, to_document
from journeys.temporal.converter import data_converter
from tests.sinks import HttpSink, SmtpSink
from tests.worker.harness import running_worker

STARTUP_SECONDS = 30.0


@contextmanager
def served_gateway(
    temporal_address: str, namespace: str, tmp_path: Path, smtp: SmtpSink, http: HttpSink
) -> Iterator[str]:
    """The base URL of a gateway (and worker) running until the block ends."""
    port = free_port()
    ready = threading.Event()
    stop = threading.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        client = await Client.connect(
            temporal_address, namespace=namespace, data_converter=data_converter
        )
        env = WorkflowEnvironment.from_client(client)
        async with running_worker(env, tmp_path, smtp, http) as harness:
            app = create_app(harness.settings, temporal=client)
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
            )
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    serving.result()  # raises why it could not start
                await asyncio.sleep(0.02)
            ready.set()
            await asyncio.to_thread(stop.wait)
            server.should_exit = True
            await serving

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # reported to the test thread
            failure.append(error)
            ready.set()

    thread = threading.Thread(target=run, name="served-gateway", daemon=True)
    thread.start()
    try:
        if not ready.wait(STARTUP_SECONDS) or failure:
            raise RuntimeError("the served gateway did not start") from (
                failure[0] if failure else None
            )
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(STARTUP_SECONDS)
    if failure:
        raise failure[0]


WORKFLOWS = Path(__file__).parents[2] / "workflows"
ADMIN = {"Authorization": "Bearer test-admin-key"}  # the harness's bootstrap key


def publish_samples(base_url: str) -> None:
    """What `journeys apply workflows/` does, over HTTP."""
    bundle = load_bundle([WORKFLOWS])
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as api:
        for trigger in bundle.triggers:
            api.put(f"/v1/triggers/{trigger.name}", json=to_document(trigger)).raise_for_status()
        for journey in bundle.journeys:
            api.put(f"/v1/journeys/{journey.id}", json=to_document(journey)).raise_for_status()
            api.post(f"/v1/journeys/{journey.id}/publish").raise_for_status()


@contextmanager
def samples_gateway(env: WorkflowEnvironment, directory: Path) -> Iterator[str]:
    """A served gateway and worker with SMTP and HTTP sinks, the samples published."""
    smtp, http = SmtpSink().start(), HttpSink().start()
    try:
        address = env.client.service_client.config.target_host
        with served_gateway(address, env.client.namespace, directory, smtp, http) as base_url:
            publish_samples(base_url)
            yield base_url
    finally:
        smtp.stop()
        http.stop()
