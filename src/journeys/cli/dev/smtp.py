"""SMTP servers on loopback: the dev stack's outbox capture, and the base of the tests' and
the benchmarks' SMTP sinks."""

from __future__ import annotations

from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from journeys.cli.dev.processes import free_port
from journeys.store.outbox import Outbox, captured_email


class LoopbackSmtp:
    """An aiosmtpd server on 127.0.0.1 that accepts every message and hands it to `received`
    (on the server's own thread)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._started = False

    def received(self, envelope: Envelope) -> None:
        raise NotImplementedError

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received(envelope)
        return "250 Message accepted for delivery"

    def start(self) -> Self:
        self._controller.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._controller.stop()
            self._started = False


class SmtpCapture(LoopbackSmtp):
    """`journeys dev` without an SMTP server: every email goes into the dev outbox."""

    def __init__(self, outbox: Outbox, port: int) -> None:
        super().__init__(port)
        self._outbox = outbox

    def received(self, envelope: Envelope) -> None:
        self._outbox.add(captured_email(envelope.original_content or b""))
