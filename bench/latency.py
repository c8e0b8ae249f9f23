"""Trigger to action: from the POST of an event to its email accepted by the SMTP sink.

Open loop at a steady rate (10, 50, 100 events a second by default): each event is sent on
its schedule whether or not earlier ones were answered, as producers do. The sender is a
small asyncio client in this process: at these rates it uses a few percent of a core, so
it measures the stack, not itself (wrk has no constant-rate mode in Debian's build, and
could not see the email arrive).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench import procs
from bench.context import Bench, address
from bench.figures import percentiles_ms

# After the last event, how long its email may take before it counts as not delivered.
GRACE_SECONDS = 120.0
RETRIES = 2


async def at_rate(bench: Bench, rate: int, seconds: float) -> dict[str, Any]:
    tag = bench.tag(f"mail{rate}-")
    contacts = [f"{tag}{i}" for i in range(int(rate * seconds))]
    await bench.contacts(contacts)
    await bench.settle()
    sent_at: dict[str, float] = {}
    answers: list[float] = []
    refused: list[str] = []
    retried: list[str] = []
    headers = {"Authorization": f"Bearer {bench.stack.event_key}"}
    url = f"{bench.stack.api_url}/v1/triggers/bench.mail/events"
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:

        async def fire(seq: int, contact_id: str) -> None:
            body = {
                "contact_id": contact_id,
                "event_id": f"{tag}e{seq}",
                "attributes": {"seq": seq},
            }
            sent_at[address(contact_id)] = started = time.perf_counter()
            for attempt in range(RETRIES + 1):
                try:
                    answer = await http.post(url, json=body)
                    break
                except httpx.TransportError as error:
                    # A kept-alive connection the server closed as it was reused: send the
                    # same event again, as a producer would (its id makes that safe).
                    if attempt == RETRIES:
                        refused.append(f"no answer: {error!r}")
                        return
                    retried.append(contact_id)
            answers.append(time.perf_counter() - started)
            if answer.status_code != 202:
                refused.append(f"{answer.status_code} {answer.text[:200]}")

        with procs.measured(bench.stack.usage_pids()) as usage:
            begin = time.perf_counter()
            tasks = []
            for seq, contact_id in enumerate(contacts):
                delay = begin + seq / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(fire(seq, contact_id)))
            sending = time.perf_counter() - begin  # the schedule kept, not the answers
            await asyncio.gather(*tasks)
            deadline = time.perf_counter() + GRACE_SECONDS
            # Refused events send no email: waiting for theirs would only run out the grace.
            while bench.stack.sink.arrived(sent_at) < len(contacts) - len(refused):
                if time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.1)
            drained = time.perf_counter() - begin
    arrived = bench.stack.sink.accepted_at
    latencies = [arrived[a] - sent for a, sent in sent_at.items() if a in arrived]
    return {
        "target_per_second": rate,
        "sent": len(contacts),
        "achieved_per_second": round(len(contacts) / sending, 1),
        "delivered": len(latencies),
        "refused": len(refused),
        "retried": len(retried),
        "example_refusal": refused[0] if refused else "",
        "all_delivered_after_s": round(drained, 1),
        **percentiles_ms(latencies),
        "http": percentiles_ms(answers),
        "cpu_percent": usage.cpu_percent,
        "rss_mb": usage.rss_mb,
    }


async def latency(bench: Bench) -> dict[str, Any]:
    runs = []
    for rate in bench.options.latency_rates:
        runs.append(await at_rate(bench, rate, bench.options.latency_seconds))
    return {"rates": runs}
