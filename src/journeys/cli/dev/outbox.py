"""The SMTP capture of `journeys dev`: when no SMTP server is configured, email goes into
the dev outbox instead of out."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from journeys.store.outbox import Outbox, captured_email


class SmtpCapture:
    """An SMTP server on loopback that accepts everything into the outbox."""

    def __init__(self, outbox: Outbox, host: str, port: int) -> None:
        self._outbox = outbox
        self._controller = Controller(self, hostname=host, port=port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._outbox.add(captured_email(envelope.original_content or b""))
        return "250 Captured by the Journeys dev outbox"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
