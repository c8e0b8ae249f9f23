"""An SMTP sink on loopback noting when each message was accepted."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection

from aiosmtpd.smtp import Envelope

from journeys.cli.dev.smtp import LoopbackSmtp


class TimedSmtpSink(LoopbackSmtp):
    """Keeps the moment (time.perf_counter) each recipient's message was accepted.

    Only the arrival time is kept, not the message: a latency run sends thousands.
    """

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: dict[str, float] = {}
        self._times = threading.Lock()

    def received(self, envelope: Envelope) -> None:
        now = time.perf_counter()
        with self._times:
            for recipient in envelope.rcpt_tos:
                self.accepted_at.setdefault(recipient, now)

    def arrived(self, recipients: Collection[str]) -> int:
        """How many of these recipients got their message."""
        with self._times:
            return sum(r in self.accepted_at for r in recipients)
