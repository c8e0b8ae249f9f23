"""Open-loop load: each event is POSTed on its schedule, whether or not the ones before it
have been answered, as producers do; so a slow server cannot slow the load down and hide
its own delay (no coordinated omission).

The sender is a small asyncio client in the benchmark's process: at the rates a stack
sustains end to end it uses a few percent of a core (wrk has no constant-rate mode in
Debian's build, and could not see the email arrive).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

# A kept-alive connection the server closed as it was reused: the same event is sent again,
# as a producer would (its id makes that safe), this many times.
RETRIES = 2


@dataclass(frozen=True)
class Event:
    key: str  # what identifies its outcome (the recipient of its email)
    body: Mapping[str, Any]


@dataclass
class Sent:
    """What became of a phase of events, times from time.perf_counter."""

    began: float = 0.0
    sending_s: float = 0.0  # the schedule kept, not the answers
    sent_at: dict[str, float] = field(default_factory=dict)  # by event key
    answers_s: list[float] = field(default_factory=list)  # POST to HTTP answer
    refused: list[str] = field(default_factory=list)
    retried: int = 0


def due(seq: int, rate: float) -> float:
    """When event `seq` is due, in seconds from the start of the phase."""
    return seq / rate


async def post_at_rate(
    url: str, events: Sequence[Event], rate: float, headers: Mapping[str, str] | None = None
) -> Sent:
    """POST `events` to `url` at `rate` a second; returns once every one has been answered."""
    sent = Sent()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(headers=dict(headers or {}), limits=limits, timeout=30) as http:

        async def fire(event: Event) -> None:
            sent.sent_at[event.key] = started = time.perf_counter()
            for attempt in range(RETRIES + 1):
                try:
                    answer = await http.post(url, json=dict(event.body))
                    break
                except httpx.TransportError as error:
                    if attempt == RETRIES:
                        sent.refused.append(f"no answer: {error!r}")
                        return
                    sent.retried += 1
            sent.answers_s.append(time.perf_counter() - started)
            if answer.status_code != 202:
                sent.refused.append(f"{answer.status_code} {answer.text[:200]}")

        sent.began = time.perf_counter()
        tasks = []
        for seq, event in enumerate(events):
            delay = sent.began + due(seq, rate) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(event)))
        sent.sending_s = time.perf_counter() - sent.began
        await asyncio.gather(*tasks)
    return sent
