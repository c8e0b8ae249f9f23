"""The ceiling for events that touch nothing: a bare FastAPI endpoint under uvicorn.

It parses the same body into a pydantic model and answers 202, nothing more: no
authentication, no catalog, no routing. Served like the gateway (uvicorn with uvloop and
httptools, no access log), in its own process, loaded by the same wrk script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from http import HTTPStatus
from types import TracebackType
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from bench.figures import Rate
from bench.load import Events, wrk
from bench.stack import ROOT
from tests.sinks import free_port

app = FastAPI()


class Event(BaseModel):
    contact_id: str
    event_id: str | None = None
    attributes: dict[str, Any] = {}


class Accepted(BaseModel):
    event_id: str | None
    trigger: str


@app.post("/v1/triggers/{name}/events", status_code=HTTPStatus.ACCEPTED)
async def accept(name: str, event: Event) -> Accepted:
    return Accepted(event_id=event.event_id, trigger=name)


class BareServer:
    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BareServer:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare:app",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self._process = subprocess.Popen(command, cwd=ROOT)
        deadline = time.monotonic() + 30
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError("the bare FastAPI server did not start")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/docs", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def load(self, seconds: float, connections: int) -> Rate:
        assert self._process is not None
        events = Events("bench.unrouted", "bare", {"source": "bench", "amount": 3})
        pids = {"bare_api": self._process.pid, "bench": os.getpid()}
        return wrk(
            f"http://127.0.0.1:{self.port}",
            "none",
            events,
            run="bare",
            connections=connections,
            seconds=seconds,
            pids=pids,
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
