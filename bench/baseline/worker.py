"""`python -m bench.baseline.worker`: one worker, the SDK's defaults, the sandbox on."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from bench.baseline.mail import TASK_QUEUE, SendEmail, send_email


async def main() -> None:
    client = await Client.connect(os.environ["BASELINE_TEMPORAL_ADDRESS"])
    # smtplib blocks: a thread for each of the SDK's default 100 activities at once.
    with ThreadPoolExecutor(max_workers=100) as executor:
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[SendEmail],
            activities=[send_email],
            activity_executor=executor,
        )
        print("baseline worker polling", TASK_QUEUE, flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
