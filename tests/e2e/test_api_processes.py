"""`journeys api` in several processes (JOURNEYS_API_PROCESSES): they share its port, each
with its own app, and stop together; what it warns of at start, it says once."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from journeys.cli.dev.processes import children, free_port, wait_until
from journeys.store.db import migrate
from tests.faults.processes import journeys_api

pytestmark = pytest.mark.e2e

ADMIN_KEY = "processes-admin-key-Gb6Jy3Nf8Vd2Xs5Mq9Pk"


def serving(pid: int) -> list[int]:
    """The processes under the API's that run its app (not multiprocessing's helpers)."""
    return [
        child
        for child in children(pid)
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_the_api_serves_one_port_from_several_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    env = {
        **os.environ,
        "JOURNEYS_DATABASE_URL": url,
        "JOURNEYS_SIGNING_SECRET": "processes-signing-secret-Rv7Kx2Qm9Tz4Lp8Wn3Hc",
        "JOURNEYS_API_KEY": ADMIN_KEY,
        "JOURNEYS_API_PROCESSES": "2",
        "JOURNEYS_PUBLIC_URL": "http://mail.shop.example",
        # Nothing listens there: the API starts all the same (its client connects lazily).
        "JOURNEYS_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    port = free_port()
    api = journeys_api(tmp_path, env, port).start()
    try:
        assert api.process is not None
        assert len(serving(api.process.pid)) == 2
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ) as client:
            for _ in range(20):  # new connections, spread over the processes by the kernel
                answer = client.get("/v1/triggers", headers={"Connection": "close"})
                assert answer.status_code == 200, answer.text
            # Whichever process answers a scrape, it counts the requests of all of them (a
            # request is counted just after its answer has gone: wait for the last one).
            wait_until(lambda: answered(scrape(client), "/v1/triggers") == 20)
            assert [answered(scrape(client), "/v1/triggers") for _ in range(6)] == [20] * 6
            # One process's own figures would pass for the whole API's: not served.
            names = {family.name for family in text_string_to_metric_families(scrape(client))}
            assert "python_info" in names and "process_cpu_seconds" not in names
    finally:
        api.stop()
    assert api.process is not None and api.process.returncode is not None
    warnings = [line for line in api.output().splitlines() if "not https:" in line]
    assert len(warnings) == 1, api.output()
    assert "WARNING journeys.cli: JOURNEYS_PUBLIC_URL is http://mail.shop.example" in warnings[0]


def scrape(client: httpx.Client) -> str:
    return client.get("/metrics", headers={"Connection": "close"}).text


def answered(page: str, route: str) -> float:
    """The requests answered for `route`, as Prometheus' own parser reads the page."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(page)
        if family.name == "journeys_http_requests"
        for sample in family.samples
        if sample.labels["route"] == route
    )
