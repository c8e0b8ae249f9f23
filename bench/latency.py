"""Trigger to action: from the POST of an event to its email accepted by the SMTP sink.

Open loop (bench/openloop.py) at a steady rate: 10, 50, 100 events a second by default.
"""

from __future__ import annotations

import time
from typing import Any

from bench import procs
from bench.context import Bench, address
from bench.figures import percentiles_ms
from bench.openloop import Event, post_at_rate

# After the last event, how long its email may take before it counts as not delivered.
GRACE_SECONDS = 120.0


async def at_rate(bench: Bench, rate: int, seconds: float) -> dict[str, Any]:
    tag = bench.tag(f"mail{rate}-")
    contacts = [f"{tag}{i}" for i in range(int(rate * seconds))]
    await bench.contacts(contacts)
    await bench.settle()
    with procs.measured(bench.stack.usage_pids()) as usage:
        sent = await post_at_rate(
            f"{bench.stack.api_url}/v1/triggers/bench.mail/events",
            mail_events(tag, contacts),
            rate,
            {"Authorization": f"Bearer {bench.stack.event_key}"},
        )
        # Refused events send no email: waiting for theirs would only run out the grace.
        await bench.stack.sink.wait_for(sent.sent_at, len(sent.refused), GRACE_SECONDS)
        drained = time.perf_counter() - sent.began
    latencies = bench.stack.sink.latencies(sent.sent_at)
    return {
        "target_per_second": rate,
        "sent": len(contacts),
        "achieved_per_second": round(len(contacts) / sent.sending_s, 1),
        "delivered": len(latencies),
        "refused": len(sent.refused),
        "retried": sent.retried,
        "example_refusal": sent.refused[0] if sent.refused else "",
        "all_delivered_after_s": round(drained, 1),
        **percentiles_ms(latencies),
        "http": percentiles_ms(sent.answers_s),
        "cpu_percent": usage.cpu_percent,
        "rss_mb": usage.rss_mb,
    }


def mail_events(tag: str, contacts: list[str]) -> list[Event]:
    """A `bench.mail` event for each contact, its email to the contact's address."""
    return [
        Event(
            address(contact_id),
            {"contact_id": contact_id, "event_id": f"{tag}e{seq}", "attributes": {"seq": seq}},
        )
        for seq, contact_id in enumerate(contacts)
    ]


async def latency(bench: Bench) -> dict[str, Any]:
    runs = []
    for rate in bench.options.latency_rates:
        runs.append(await at_rate(bench, rate, bench.options.latency_seconds))
    return {"rates": runs}
