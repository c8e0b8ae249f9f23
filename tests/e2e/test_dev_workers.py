"""`journeys dev --workers 2`: two worker processes poll the task queue, and the events sent
to the stack are all handled."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
)
from temporalio.client import Client

from journeys.cli.dev.processes import children, free_port, journeys_dev_command, wait_until
from tests.e2e.devstack import start_dev
from tests.sinks import SmtpSink

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
CONTACTS = 6


def worker_pids(dev: int) -> set[int]:
    return {
        pid for pid in children(dev) if b"\0worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }


def polling_pids(temporal: str) -> set[int]:
    """The processes polling the journeys queue, from the identities Temporal keeps of them
    (the SDK's default identity is pid@host)."""

    async def describe() -> DescribeTaskQueueResponse:
        client = await Client.connect(temporal)
        return await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name="journeys"),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )

    answer = asyncio.run(describe())
    return {int(poller.identity.split("@")[0]) for poller in answer.pollers}


def test_two_workers_poll_and_every_event_is_handled(tmp_path: Path) -> None:
    smtp = SmtpSink().start()
    api_port, temporal_port = free_port(), free_port()
    command = journeys_dev_command(
        tmp_path / "data",
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=free_port(),
        smtp_port=smtp.port,
        workflows=ROOT / "workflows",
        workers=2,
    )
    env = {**os.environ, "JOURNEYS_SIGNING_SECRET": "e2e-workers-secret-Hq4Zt8Lm2Vx6Rc9Pw3Nd"}
    process, banner = start_dev(command, env)
    try:
        workers = worker_pids(process.pid)
        assert len(workers) == 2, banner
        key = (tmp_path / "data" / "api-key").read_text().strip()
        with httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ) as api:
            for n in range(CONTACTS):
                contact = {"email": f"c{n}@example.com", "consent": {"email": True}}
                assert api.put(f"/v1/contacts/c{n}", json=contact).status_code == 201
                fired = api.post(
                    "/v1/triggers/contact.created/events", json={"contact_id": f"c{n}"}
                )
                assert fired.json()["started"] == ["welcome"], fired.text
        wait_until(lambda: all(smtp.to(f"c{n}@example.com") for n in range(CONTACTS)), 60)
        assert workers <= polling_pids(f"127.0.0.1:{temporal_port}")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        if process.poll() is None:
            process.kill()
        smtp.stop()
