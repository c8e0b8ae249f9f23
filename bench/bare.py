"""The ceiling for events that touch nothing: a bare FastAPI endpoint under uvicorn.

It parses the same body into a pydantic model and answers 202, nothing more: no
authentication, no catalog, no routing. Served like the gateway (uvicorn with uvloop and
httptools, no access log), in its own process, loaded by the same wrk script.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from bench.figures import Rate
from bench.load import Events, wrk
from journeys.cli.dev.processes import Child, free_port, port_open

ROOT = Path(__file__).parents[1]

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
        self._log = Path(tempfile.mkdtemp(prefix="journeys-bench-bare-")) / "uvicorn.log"
        command = [
            *[sys.executable, "-m", "uvicorn", "bench.bare:app", "--port", str(self.port)],
            *["--log-level", "warning", "--no-access-log"],
        ]
        self._server = Child(
            "bare_api", command, self._log, cwd=ROOT, ready=lambda _: port_open(self.port)
        )

    def __enter__(self) -> BareServer:
        try:
            self._server.start()
        except BaseException:
            self._stop()
            raise
        return self

    def load(self, seconds: float, connections: int) -> Rate:
        assert self._server.process is not None
        events = Events("bench.unrouted", "bare", {"source": "bench", "amount": 3})
        pids = {"bare_api": self._server.process.pid, "bench": os.getpid()}
        return wrk(
            f"http://127.0.0.1:{self.port}",
            "none",
            events,
            run="bare",
            connections=connections,
            seconds=seconds,
            pids=pids,
        )

    def _stop(self) -> None:
        self._server.stop()
        shutil.rmtree(self._log.parent, ignore_errors=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop()
