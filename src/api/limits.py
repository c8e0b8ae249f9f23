"""A request body larger than the limit is refused with 413 before it is read in full, and one
that does not arrive in time with 408: a client sending a byte a minute holds no request
open for ever. (Slow headers come before the application: a reverse proxy times those.)"""

from __future__ import annotations

import asyncio
import json
import time
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class BodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int, max_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(
                send,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is larger than {self.max_bytes} bytes",
            )
            return
        received, deadline, complete = 0, time.monotonic() + self.max_seconds, False

        async def counting_receive() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: what is left to wait for is a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
                complete = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(
                send,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is larger than {self.max_bytes} bytes",
            )
        except BodyTooSlow:
            await self._refuse(
                send,
                HTTPStatus.REQUEST_TIMEOUT,
                f"the body did not arrive within {self.max_seconds:g} s",
            )

    async def _refuse(self, send: Send, status: HTTPStatus, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
