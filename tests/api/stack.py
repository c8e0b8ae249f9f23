"""The gateway in-process (ASGI) beside a real worker and the session's dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from journeys.definitions.documents import load_bundle, to_document
from tests.sinks import HttpSink, SmtpSink
from tests.worker.harness import Harness, running_worker, unique

ADMIN = {"Authorization": "Bearer test-admin-key"}
WORKFLOWS = Path(__file__).parents[2] / "workflows"


@dataclass
class Stack:
    api: httpx.AsyncClient
    app: FastAPI
    harness: Harness

    async def put_triggers(self) -> None:
        for trigger in load_bundle([WORKFLOWS]).triggers:
            response = await self.api.put(f"/v1/triggers/{trigger.name}", json=to_document(trigger))
            assert response.status_code in (200, 201), response.text

    async def apply_workflows(self) -> None:
        """Publish the sample triggers and journeys, as `journeys apply workflows/` does."""
        await self.put_triggers()
        for journey in load_bundle([WORKFLOWS]).journeys:
            response = await self.api.put(f"/v1/journeys/{journey.id}", json=to_document(journey))
            assert response.status_code in (200, 201), response.text
            response = await self.api.post(f"/v1/journeys/{journey.id}/publish")
            assert response.status_code == 200, response.text

    async def contact(self, prefix: str = "c", **fields: Any) -> str:
        """A new contact, with an email address unless `fields` say otherwise."""
        contact_id = unique(prefix)
        fields.setdefault("email", f"{contact_id}@example.com")
        response = await self.api.put(f"/v1/contacts/{contact_id}", json=fields)
        assert response.status_code == 201, response.text
        return contact_id

    async def fire(self, trigger: str, **body: Any) -> httpx.Response:
        return await self.api.post(f"/v1/triggers/{trigger}/events", json=body)


@asynccontextmanager
async def api_stack(
    env: WorkflowEnvironment,
    tmp_path: Path,
    smtp: SmtpSink,
    http: HttpSink,
    client: Client | None = None,
) -> AsyncIterator[Stack]:
    """`client`: the one the gateway and the worker use (with tracing), if not the env's."""
    async with running_worker(env, tmp_path, smtp, http, client) as harness:
        app = create_app(harness.settings, temporal=client or env.client)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://journeys.test",
                headers=ADMIN,
            ) as client,
        ):
            yield Stack(client, app, harness)
