"""What a journey run costs Temporal: the events of its history and its workflow tasks.

    PYTHONPATH=src:. .venv/bin/python -m tests.worker.run_shape [runs]

runs the benchmark's journey (a start trigger, one email, the end) on a time-skipping dev
server with a real worker, SQLite store and SMTP sink, and prints each run's events and
workflow tasks, then the CPU time per run of this process (client and worker) and of its
child processes (the Temporal dev server, the template renderers). Every
workflow task is a round trip through the server and an activation of the worker, and every
event is written to the server's store: both are paid per run, whatever the load.
tests/worker/test_run_shape.py asserts the shape; this prints it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from journeys.cli.dev.temporal_server import temporal_binary
from journeys.definitions.journeys import JourneyDefinition
from journeys.temporal import names
from journeys.temporal.converter import data_converter
from tests.sinks import HttpSink, SmtpSink, outcome_of
from tests.worker.harness import Harness, running_worker

# The benchmark's journey (bench/workflows/mail.yaml), on a built-in start trigger.
ONE_EMAIL = JourneyDefinition.model_validate(
    yaml.safe_load(
        """
id: one-email
name: One email
start: {trigger: contact.created}
reentry: always
steps:
  - id: mail
    purpose: transactional
    email: {subject: "Hello {{ trigger.seq }}", text: "Hello {{ contact.first_name }}."}
"""
    )
)


@dataclass(frozen=True)
class RunShape:
    events: list[str]  # the event types, in order, without their EVENT_TYPE_ prefix

    @classmethod
    def of(cls, history: WorkflowHistory) -> RunShape:
        prefix = len("EVENT_TYPE_")
        return cls([EventType.Name(event.event_type)[prefix:] for event in history.events])

    @property
    def workflow_tasks(self) -> int:
        return self.events.count("WORKFLOW_TASK_COMPLETED")

    def __str__(self) -> str:
        kinds = ", ".join(f"{kind} x{n}" for kind, n in Counter(self.events).items())
        return f"{len(self.events)} events, {self.workflow_tasks} workflow task(s): {kinds}"


def local_activities(history: WorkflowHistory) -> list[str]:
    """The local activities a run recorded (as markers), by type, in order."""
    decode = data_converter.payload_converter.from_payload
    return [
        decode(event.marker_recorded_event_attributes.details["data"].payloads[0])["activity_type"]
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
        and "data" in event.marker_recorded_event_attributes.details
    ]


async def run_one_email(h: Harness, seq: int) -> WorkflowHistory:
    """One run of the benchmark journey, to its end; its history."""
    contact = f"ada-{seq}"
    h.contact(contact, email=f"{contact}@example.com", first_name="Ada")
    entry, handle = await h.start(ONE_EMAIL, contact, {"seq": seq})
    assert entry.admitted, entry.reason
    await outcome_of(handle)
    return await handle.fetch_history()


async def main(runs: int) -> None:
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        search_attributes=names.SEARCH_ATTRIBUTES,
        data_converter=data_converter,
    )
    smtp, http = SmtpSink().start(), HttpSink().start()
    try:
        with tempfile.TemporaryDirectory(prefix="journeys-shape-") as tmp:
            async with running_worker(env, Path(tmp), smtp, http) as h:
                await run_one_email(h, 0)  # warm: imports, connections, the sandbox
                started, children = time.process_time(), _children_cpu()
                shapes = [RunShape.of(await run_one_email(h, seq)) for seq in range(1, runs + 1)]
                cpu, children_cpu = time.process_time() - started, _children_cpu() - children
    finally:
        http.stop()
        smtp.stop()
        await env.shutdown()
    for shape in sorted(set(map(str, shapes))):
        print(shape)
    print(
        f"CPU per run, one run at a time: {1000 * cpu / runs:.1f} ms in this process (client "
        f"and worker), {1000 * children_cpu / runs:.1f} ms in its children (Temporal server, "
        "renderers)"
    )


def _children_cpu() -> float:
    """CPU seconds used so far by the running children of this process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == os.getpid():  # ppid; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
