"""End to end: `journeys dev` as a user runs it (real Temporal, worker and API processes),
with a real SMTP sink and a real HTTP SMS provider on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from journeys.cli.dev.processes import free_port, journeys_dev_command, wait_until
from tests.e2e.devstack import start_dev
from tests.sinks import HttpSink, SmtpSink

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


@dataclass
class DevStack:
    process: subprocess.Popen[str]
    api: httpx.Client
    data_dir: Path
    ports: list[int]


@pytest.fixture(scope="module")
def sinks() -> Iterator[tuple[SmtpSink, HttpSink]]:
    smtp, http = SmtpSink().start(), HttpSink().start()
    yield smtp, http
    smtp.stop()
    http.stop()


@pytest.fixture(scope="module")
def dev(
    tmp_path_factory: pytest.TempPathFactory, sinks: tuple[SmtpSink, HttpSink]
) -> Iterator[DevStack]:
    smtp, http = sinks
    data_dir = tmp_path_factory.mktemp("journeys-dev")
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "JOURNEYS_SMS_WEBHOOK_URL": f"{http.url}/sms",
        "JOURNEYS_SIGNING_SECRET": "e2e-signing-secret-Wk5Nq8Vz3Lx7Tp2Rm9Hc4Fb",
    }
    command = journeys_dev_command(
        data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        smtp_port=smtp.port,
        workflows=ROOT / "workflows",
    )
    process, banner = start_dev(command, env)
    key = (data_dir / "api-key").read_text().strip()
    assert f"API key      {key}" in banner
    assert f"Temporal UI  http://127.0.0.1:{ui_port}" in banner
    assert "not https:" not in banner  # the children's start-up lines: dev runs on http
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{api_port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    yield DevStack(process, api, data_dir, [api_port, temporal_port, ui_port])
    api.close()
    if process.poll() is None:
        process.kill()


def test_welcome_email_opened_then_thanks_sms(
    dev: DevStack, sinks: tuple[SmtpSink, HttpSink]
) -> None:
    smtp, http = sinks
    contact = {
        "email": "grace@example.com",
        "phone": "+15555550100",
        "first_name": "Grace",
        "consent": {"email": True, "sms": True},
    }
    assert dev.api.put("/v1/contacts/grace", json=contact).status_code == 201
    fired = dev.api.post("/v1/triggers/contact.created/events", json={"contact_id": "grace"})
    assert fired.json()["started"] == ["welcome"]

    wait_until(lambda: smtp.to("grace@example.com"))
    html = smtp.to("grace@example.com")[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    pixel = re.search(r'src="(http://127\.0\.0\.1:\d+/t/o/[^"]+)"', html)
    assert pixel is not None
    assert httpx.get(pixel.group(1)).headers["content-type"] == "image/gif"

    wait_until(lambda: http.posted_to("/sms"))
    assert http.posted_to("/sms")[0].json()["text"] == "Merci Grace, à très vite !"

    def completed() -> bool:
        return (
            dev.api.get("/v1/journeys/welcome/instances/grace").json().get("status") == "completed"
        )

    wait_until(completed)
    instance = dev.api.get("/v1/journeys/welcome/instances/grace").json()
    assert [h["what"] for h in instance["history"]][-3:] == ["matched", "sent", "completed"]


def test_an_exit_trigger_ends_a_waiting_run(
    dev: DevStack, sinks: tuple[SmtpSink, HttpSink]
) -> None:
    smtp, _ = sinks
    dev.api.put("/v1/contacts/linus", json={"email": "linus@example.com", "first_name": "Linus"})
    cart = {"contact_id": "linus", "attributes": {"cart_id": "k9", "total": 120, "currency": "EUR"}}
    assert dev.api.post("/v1/triggers/cart.abandoned/events", json=cart).json()["started"] == [
        "cart-recovery"
    ]

    def waiting() -> bool:
        return (
            dev.api.get("/v1/journeys/cart-recovery/instances/linus").json().get("status")
            == "waiting"
        )

    wait_until(waiting)
    order = {"contact_id": "linus", "attributes": {"order_id": "o-1", "cart_id": "k9"}}
    assert dev.api.post("/v1/triggers/order.placed/events", json=order).json()["signaled"] == [
        "cart-recovery"
    ]

    def exited() -> bool:
        return (
            dev.api.get("/v1/journeys/cart-recovery/instances/linus").json().get("status")
            == "exited"
        )

    wait_until(exited)
    instance = dev.api.get("/v1/journeys/cart-recovery/instances/linus").json()
    assert instance["outcome"]["reason"] == "trigger:order.placed"
    # It ended while waiting for its timer: it waits for nothing now.
    assert instance["waiting_until"] is None
    assert smtp.to("linus@example.com") == []


def test_apply_publishes_only_what_changed_and_nothing_when_invalid(
    dev: DevStack, tmp_path: Path
) -> None:
    key = (dev.data_dir / "api-key").read_text().strip()
    env = {**os.environ, "JOURNEYS_API_KEY": key, "JOURNEYS_URL": str(dev.api.base_url)}

    def journeys_apply(*paths: Path | str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "journeys", "apply", *map(str, paths)]
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    again = journeys_apply(ROOT / "workflows")
    assert again.returncode == 0, again.stderr
    assert "= journey welcome (version 1)" in again.stdout
    assert "= trigger order.placed" in again.stdout
    assert "+" not in again.stdout and "~" not in again.stdout

    only_welcome = tmp_path / "only"
    only_welcome.mkdir()
    for name in ("welcome.yaml", "triggers.yaml", "orders.yaml"):
        (only_welcome / name).write_text((ROOT / "workflows" / name).read_text())
    (only_welcome / "welcome.yaml").write_text(
        (ROOT / "workflows" / "welcome.yaml").read_text().replace("within: P3D", "within: P2D")
    )
    planned = journeys_apply(only_welcome, "--prune", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "~ journey welcome (publish a version after 1)" in planned.stdout
    assert "- journey cart-recovery (stop: its file is gone)" in planned.stdout
    assert "- journey loyalty-points (stop: its file is gone)" in planned.stdout
    assert dev.api.get("/v1/journeys/welcome").json()["live_version"] == 1  # a plan changes nothing

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: Journey\nid: vip\nname: VIP\nstart: {trigger: order.placed, when: {attr: trigger.total, op: gt, value: 1}}\nsteps: [{id: a, wait: PT1H}]\n"
    )
    refused = journeys_apply(ROOT / "workflows", bad)
    assert refused.returncode == 1
    assert f"{bad}: start.when.attr: order.placed has no attribute 'total'" in refused.stderr
    assert "nothing was applied" in refused.stderr
    assert dev.api.get("/v1/journeys/vip").status_code == 404


def test_keys_from_the_command_line(dev: DevStack) -> None:
    key = (dev.data_dir / "api-key").read_text().strip()
    env = {**os.environ, "JOURNEYS_API_KEY": key, "JOURNEYS_URL": str(dev.api.base_url)}

    def journeys(*args: str) -> str:
        command = [sys.executable, "-m", "journeys", "keys", *args]
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    created = journeys("create", "shop", "--scope", "events:write")
    key_id = created.split()[1]
    secret = created.rsplit(" ", 1)[1].strip()
    fired = httpx.post(
        f"{dev.api.base_url}/v1/triggers/order.placed/events",
        json={"contact_id": "k1", "attributes": {"order_id": "o"}},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert fired.status_code == 202
    listed = journeys("list")
    assert f"{key_id}  active  events:write  shop" in listed
    # No stored key is an admin: the one this listing used is the deployment's own.
    assert listed.endswith(
        "bootstrap  active  admin  the deployment's JOURNEYS_API_KEY (in its settings, not stored)\n"
    )
    assert journeys("revoke", key_id) == f"revoked {key_id}\n"
    assert f"{key_id}  revoked  events:write  shop" in journeys("list")


def test_a_contact_taken_out_from_the_command_line(dev: DevStack) -> None:
    key = (dev.data_dir / "api-key").read_text().strip()
    env = {**os.environ, "JOURNEYS_API_KEY": key, "JOURNEYS_URL": str(dev.api.base_url)}
    dev.api.put("/v1/contacts/mira", json={"email": "mira@example.com"})
    cart = {"contact_id": "mira", "attributes": {"cart_id": "k3", "total": 90}}
    assert dev.api.post("/v1/triggers/cart.abandoned/events", json=cart).json()["started"] == [
        "cart-recovery"
    ]
    command = [sys.executable, "-m", "journeys", "instances", "stop", "cart-recovery", "mira"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "1 run of cart-recovery stopping for mira\n"

    def removed() -> bool:
        instance = dev.api.get("/v1/journeys/cart-recovery/instances/mira").json()
        return bool(instance.get("status") == "exited")

    wait_until(removed)
    instance = dev.api.get("/v1/journeys/cart-recovery/instances/mira").json()
    assert instance["outcome"]["reason"] == "removed"
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "mira is in no run of cart-recovery" in again.stderr


def test_a_second_dev_on_the_same_data_dir_stops_at_once_naming_the_first(
    dev: DevStack,
) -> None:
    api_port, temporal_port, ui_port = dev.ports
    command = journeys_dev_command(
        dev.data_dir,
        api_port=free_port(),
        temporal_port=free_port(),
        ui_port=free_port(),
        smtp_port=free_port(),
        workflows=ROOT / "workflows",
    )
    second = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert second.returncode == 1
    assert second.stdout == (
        f"journeys dev: another `journeys dev` is running on {dev.data_dir} (PID "
        f"{dev.process.pid}; --api-port {api_port}, --temporal-port {temporal_port}, "
        f"--ui-port {ui_port}): stop it, or give this one its own --data-dir\n"
    )
    assert dev.api.get("/readyz").status_code == 200  # the first one runs on


def test_sigterm_stops_every_child(dev: DevStack) -> None:
    dev.process.send_signal(signal.SIGTERM)
    assert dev.process.wait(timeout=60) == 0
    for port in dev.ports:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
