"""`uvicorn bench.baseline.api:app`: one endpoint that starts a workflow per event."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from bench.baseline.mail import TASK_QUEUE, Email, SendEmail


class Event(BaseModel):
    contact_id: str
    event_id: str
    attributes: dict[str, Any]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.temporal = await Client.connect(os.environ["BASELINE_TEMPORAL_ADDRESS"])
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/events", status_code=HTTPStatus.ACCEPTED)
async def post_event(event: Event) -> dict[str, str]:
    seq = event.attributes["seq"]
    email = Email(
        to=f"{event.contact_id}@example.com",
        subject=f"Benchmark {seq}",
        text=f"Hello Bench, event {seq}.",
    )
    # The event id makes a producer's retry harmless: one run, one email.
    with suppress(WorkflowAlreadyStartedError):
        await app.state.temporal.start_workflow(
            SendEmail.run,
            email,
            id=f"mail-{event.event_id}",
            task_queue=TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return {"status": "accepted"}
