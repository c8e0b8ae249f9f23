"""Real SMTP and HTTP servers on loopback that keep what they receive, for tests, and waits
for what they receive that never block the event loop."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.smtp import Envelope

from journeys.cli.dev.processes import free_port
from journeys.cli.dev.smtp import LoopbackSmtp


class SmtpSink(LoopbackSmtp):
    """Keeps every message, parsed and as the bytes that came over the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self._lock = threading.Lock()

    def received(self, envelope: Envelope) -> None:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self.raw.append(raw)

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def raw_to(self, address: str) -> list[bytes]:
        with self._lock:
            return [r for r, m in zip(self.raw, self.messages, strict=True) if m["To"] == address]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    """A threaded HTTP server that keeps every request, and can be told to fail."""

    requests: list[Received] = field(default_factory=list)
    failures_left: int = 0  # answer this many requests with 503 before accepting
    answers: dict[str, Any] = field(default_factory=dict)  # path -> JSON to answer with
    statuses: dict[str, int] = field(default_factory=dict)  # path -> a refusal to answer with
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if sink.failures_left > 0:
                    sink.failures_left -= 1
                    self.send_response(HTTPStatus.SERVICE_UNAVAILABLE)
                    self.end_headers()
                    return
                sink.requests.append(Received(self.path, dict(self.headers), body))
                if self.path in sink.statuses:
                    self.send_response(sink.statuses[self.path])
                    self.end_headers()
                    return
                reply = sink.answers.get(self.path, {"id": f"provider-{len(sink.requests)}"})
                answer = json.dumps(reply).encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpSink:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def posted_to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


async def eventually(predicate: Any, within: float = 30.0, interval: float = 0.05) -> None:
    """`wait_until` for async tests: polls without blocking the event loop. The predicate
    may be a coroutine function."""

    async def holds() -> bool:
        value = predicate()
        return bool(await value if inspect.isawaitable(value) else value)

    try:
        async with asyncio.timeout(within):
            while not await holds():  # noqa: ASYNC110 - the state lives elsewhere
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"condition not met within {within} s") from None


async def outcome_of(handle: Any, within: float = 60.0) -> Any:
    """A run's result, or a failure that shows where the run was stuck (never a hang)."""
    try:
        return await asyncio.wait_for(handle.result(), within)
    except TimeoutError:
        history = await handle.fetch_history()
        tail = [(e.event_type, e.event_time.ToDatetime().isoformat()) for e in history.events[-6:]]
        description = await handle.describe()
        raise AssertionError(
            f"{handle.id} did not finish within {within} s: {description.status}, last events {tail}"
        ) from None
