"""A request body larger than the limit is refused with 413 before it is read in full, and one
that does not arrive in time with 408: a client sending a byte a minute holds no request
open for ever. (Slow headers come before the application: a reverse proxy times those.)

A gzipped body (`Content-Encoding: gzip`, as Segment's libraries and analytics-node send) is
decoded here, so that every route reads JSON, and the limit holds for what it decodes to: a
kilobyte that inflates to a gigabyte stops at the limit. Starlette decodes responses only,
hence the few lines below; zlib does the work.

The body is read in full (it is at most the limit) before the application runs, so that each
refusal is answered here with its reason."""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class BodyUndecodable(Exception):
    pass


_GZIP = zlib.MAX_WBITS | 16  # zlib's window bits for a gzip header and trailer


class _Gunzip:
    """A gzip stream decoded chunk by chunk, never past `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self._stream = zlib.decompressobj(_GZIP)
        self._left = limit

    def feed(self, data: bytes, last: bool) -> bytes:
        try:
            # One byte past what is left: enough to know the body is too large.
            out = self._stream.decompress(data, self._left + 1)
        except zlib.error as error:
            raise BodyUndecodable(f"the gzip body is damaged: {error}") from None
        self._left -= len(out)
        if self._left < 0 or self._stream.unconsumed_tail:
            raise BodyTooLarge
        if last and not self._stream.eof:
            raise BodyUndecodable("the gzip body ends early")
        if self._stream.unused_data:
            raise BodyUndecodable("the gzip body goes on after its end")
        return out


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
        encoding = dict(scope["headers"]).get(b"content-encoding", b"identity").strip().lower()
        if encoding not in (b"identity", b"gzip", b"x-gzip"):
            await self._refuse(
                send,
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Encoding {encoding.decode(errors='replace')!r} is not supported;"
                " send the body as is or gzipped",
            )
            return
        gunzip = None
        if encoding != b"identity":
            gunzip = _Gunzip(self.max_bytes)
            # What the routes see is the decoded body: its encoding and length are gone.
            dropped = (b"content-encoding", b"content-length")
            scope = {**scope, "headers": [h for h in scope["headers"] if h[0] not in dropped]}
        # Read in full before the application runs: a refusal raised while a route reads its
        # body would reach FastAPI's body parsing, which answers any error as a bare 400.
        try:
            body = await self._read(receive, gunzip)
        except BodyTooLarge:
            await self._refuse(
                send,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is larger than {self.max_bytes} bytes",
            )
            return
        except BodyTooSlow:
            await self._refuse(
                send,
                HTTPStatus.REQUEST_TIMEOUT,
                f"the body did not arrive within {self.max_seconds:g} s",
            )
            return
        except BodyUndecodable as error:
            await self._refuse(send, HTTPStatus.BAD_REQUEST, str(error))
            return
        if body is None:
            return  # the client left before its body was in: nobody to answer
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:  # what is left to wait for is a disconnect
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, gunzip: _Gunzip | None) -> bytes | None:
        """The whole body (decoded), or None if the client disconnected first."""
        chunks, received, deadline = [], 0, time.monotonic() + self.max_seconds
        while True:
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] != "http.request":
                return None
            chunk, last = message.get("body", b""), not message.get("more_body", False)
            received += len(chunk)
            if received > self.max_bytes:
                raise BodyTooLarge
            chunks.append(gunzip.feed(chunk, last) if gunzip is not None else chunk)
            if last:
                return b"".join(chunks)

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
