"""An SMTP sink on loopback noting when each message was accepted."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection, Mapping

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

    async def wait_for(self, sent_at: Collection[str], missing: int, within: float) -> None:
        """Until all but `missing` of these recipients got their message, for `within` s."""
        deadline = time.perf_counter() + within
        while self.arrived(sent_at) < len(sent_at) - missing:
            if time.perf_counter() > deadline:
                return
            await asyncio.sleep(0.1)

    def arrival_times(self, recipients: Collection[str]) -> dict[str, float]:
        """When each of these recipients' message was accepted, for those that arrived."""
        with self._times:
            return {r: self.accepted_at[r] for r in recipients if r in self.accepted_at}

    def latencies(self, sent_at: Mapping[str, float]) -> list[float]:
        """Seconds from each sending to its message's acceptance, for those that arrived."""
        arrived = self.arrival_times(sent_at)
        return [arrived[r] - t for r, t in sent_at.items() if r in arrived]
