"""SMTP servers that misbehave on purpose: one that holds a client at a chosen point of its
conversation (so that a test can kill the sender right there), one that is down."""

from __future__ import annotations

import asyncio
import socketserver
import threading
from enum import StrEnum
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.sinks import SmtpSink


class Stall(StrEnum):
    # Before the server accepted the message: RCPT TO gets no answer yet.
    BEFORE_ACCEPT = "RCPT"
    # After it accepted it (250 to the data) and before the sender knows it is done: QUIT,
    # which smtplib sends on leaving its `with` block, gets no answer yet.
    AFTER_ACCEPT = "QUIT"


class StallingSmtpSink(SmtpSink):
    def __init__(self) -> None:
        super().__init__()
        self._stalls: dict[str, Stall] = {}  # recipient -> where to hold its first delivery
        self._released = threading.Event()
        self.held: dict[str, Stall] = {}  # recipients held right now, and where
        self._accepted: dict[Session, list[str]] = {}  # the recipients of each connection

    def stall(self, recipient: str, where: Stall) -> None:
        self._stalls[recipient] = where

    def release(self) -> None:
        """Answer every held client and hold nobody from now on."""
        self._released.set()

    async def _hold(self, recipient: str, where: Stall) -> None:
        if self._stalls.get(recipient) is not where or self._released.is_set():
            return
        del self._stalls[recipient]  # the first attempt only
        self.held[recipient] = where
        await asyncio.to_thread(self._released.wait)
        del self.held[recipient]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        await self._hold(address, Stall.BEFORE_ACCEPT)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._accepted.setdefault(session, []).extend(envelope.rcpt_tos)
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for recipient in self._accepted.pop(session, []):
            await self._hold(recipient, Stall.AFTER_ACCEPT)
        return "221 Bye"


class RefusingSmtp:
    """An SMTP server that is down for business: it answers every connection with
    `421 Service not available` and hangs up, counting the attempts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.attempts = 0
        self._server = socketserver.ThreadingTCPServer(
            ("127.0.0.1", port), self._handler(), bind_and_activate=False
        )
        self._server.allow_reuse_address = True
        self._server.server_bind()
        self._server.server_activate()

    def _handler(self) -> type[socketserver.BaseRequestHandler]:
        outage = self

        class Refuse(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outage.attempts += 1
                self.request.sendall(b"421 4.3.2 Service not available, try again later\r\n")

        return Refuse

    def start(self) -> RefusingSmtp:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
