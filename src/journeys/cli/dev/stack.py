"""`journeys dev`: the Temporal dev server, the workers, the API and an outbox, supervised.

Children start in order (Temporal, then the worker processes and the API) and stop in reverse on
Ctrl-C or SIGTERM, or when any of them dies. Each child is asked to end with SIGTERM
and killed if it has not after a grace period; on Linux, children also die with the
supervisor if it is killed outright.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from journeys.cli.apply import ApiClient, apply
from journeys.cli.dev.lock import DataDirBusy, DataDirLock
from journeys.cli.dev.processes import Child, port_open
from journeys.cli.dev.smtp import SmtpCapture
from journeys.cli.dev.temporal_server import dev_server_command
from journeys.settings import Settings
from journeys.store.db import migrate
from journeys.store.outbox import Outbox
from worker.destinations import LOOPBACK

GRACE_SECONDS = 10.0
STARTUP_SECONDS = 60.0


@dataclass
class DevStack:
    settings: Settings
    say: Callable[[str], None] = print
    workers: int = 1  # worker processes, all polling the same task queue
    children: list[Child] = field(default_factory=list)
    _stopping: bool = False

    def run(self) -> int:
        settings = self._prepare()
        capture: SmtpCapture | None = None
        lock = DataDirLock(settings.data_dir)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            ports = _ports(settings, capturing=not _smtp_configured(self.settings))
            lock.acquire(ports)
            self._check_ports(ports)
            self._start_temporal(settings)
            if not _smtp_configured(self.settings):
                capture = SmtpCapture(Outbox(settings.outbox_dir), settings.smtp_port)
                capture.start()
            migrate(settings.resolved_database_url)
            env = _environment(settings)
            for n in range(1, self.workers + 1):
                name = "worker" if n == 1 else f"worker {n}"
                self._spawn(Child(name, [sys.executable, "-m", "journeys", "worker"], env=env))
            self._spawn(Child("api", [sys.executable, "-m", "journeys", "api"], env=env))
            self._wait_for_api(settings)
            self._apply_workflows(settings)
            self._banner(settings, capture is not None)
            return self._supervise()
        except _Stop:
            return 0
        except (StartupError, DataDirBusy) as error:
            self.say(f"journeys dev: {error}")
            return 1
        finally:
            self._stop_children()
            if capture is not None:
                capture.stop()
            lock.release()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    # -- setup --------------------------------------------------------------------------

    def _prepare(self) -> Settings:
        """The settings every child gets: local addresses, a persisted key and secret."""
        base = self.settings
        data = base.data_dir.resolve()
        data.mkdir(parents=True, exist_ok=True)
        (data / "logs").mkdir(exist_ok=True)
        api = f"http://{base.api_host}:{base.api_port}"
        updates: dict[str, object] = {
            "data_dir": data,
            "temporal_address": f"127.0.0.1:{base.temporal_port}",
            "temporal_ui_url": f"http://127.0.0.1:{base.ui_port}",
            "public_url": api,
            "api_key": base.api_key or _persisted_secret(data / "api-key", "jk_dev_"),
            "dev_outbox": True,
            "sms_webhook_url": base.sms_webhook_url or f"{api}/dev/outbox/sms",
            "push_webhook_url": base.push_webhook_url or f"{api}/dev/outbox/push",
        }
        if "signing_secret" not in base.model_fields_set:
            updates["signing_secret"] = _persisted_secret(data / "signing-secret", "")
        if "webhook_allowed_networks" not in base.model_fields_set:
            # On one's own machine, a webhook step may call the services running beside it.
            updates["webhook_allowed_networks"] = list(LOOPBACK)
        if not _smtp_configured(base):
            updates["smtp_host"] = "127.0.0.1"
        return Settings.model_validate({**base.model_dump(), **updates})

    def _check_ports(self, ports: dict[str, int]) -> None:
        for flag, port in ports.items():
            if port_open(port):
                raise StartupError(
                    f"port {port} is already in use (another `journeys dev`?); "
                    f"choose another with {flag}"
                )

    def _start_temporal(self, settings: Settings) -> None:
        args = dev_server_command(
            settings.data_dir / "temporal.db",
            settings.temporal_port,
            ui_port=settings.ui_port,
            namespace=settings.temporal_namespace,
        )
        self._spawn(Child("temporal", args, settings.data_dir / "logs" / "temporal.log"))
        self._wait("Temporal", lambda: port_open(settings.temporal_port))

    def _spawn(self, child: Child) -> None:
        child.spawn()
        self.children.append(child)

    def _wait_for_api(self, settings: Settings) -> None:
        url = f"{settings.public_url}/readyz"

        def ready() -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        self._wait("the API", ready)

    def _apply_workflows(self, settings: Settings) -> None:
        folder = settings.workflows
        if not folder.exists():
            self.say(f"(no {folder}/ folder: no definitions applied)")
            return
        key = settings.api_key.get_secret_value() if settings.api_key else None
        with ApiClient(settings.public_url, key) as client:
            report = apply([folder], client)
        if not report.ok:
            lines = "\n".join(f"  {p}" for p in report.problems)
            raise StartupError(f"the definitions in {folder}/ have problems:\n{lines}")
        for line in report.lines:
            self.say(f"  {line}")

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not ready():
            self._check_children()
            if time.monotonic() > deadline:
                raise StartupError(f"{what} did not come up within {STARTUP_SECONDS:.0f} s")
            time.sleep(0.2)

    def _banner(self, settings: Settings, capturing: bool) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        api = settings.public_url
        smtp = f"{settings.smtp_host}:{settings.smtp_port}"
        # Captured mail is in the outbox with SMS and push; real mail goes to its server.
        outbox = (
            f"{api}/dev/outbox (email, SMS and push)"
            if capturing
            else f"{api}/dev/outbox (SMS and push; email to SMTP {smtp})"
        )
        namespace = settings.temporal_namespace
        self.say(
            "\nJourneys is running. Ctrl-C stops everything.\n"
            f"  API          {api}\n"
            f"  API docs     {api}/docs\n"
            f"  Dashboard    {api}/ui (sign in with the API key below)\n"
            f"  Temporal UI  {settings.temporal_ui_url}\n"
            f"  Temporal     {settings.temporal_address} (namespace {namespace})\n"
            f"  Outbox       {outbox}\n"
            f"  API key      {key}\n"
            f"  Data         {settings.data_dir} (logs in {settings.data_dir / 'logs'})\n"
        )

    # -- running and stopping -----------------------------------------------------------

    def _supervise(self) -> int:
        while True:
            self._check_children()
            time.sleep(0.5)

    def _check_children(self) -> None:
        for child in self.children:
            code = child.exited
            if code is not None and not self._stopping:
                where = f" (see {child.log})" if child.log else ""
                raise StartupError(f"{child.name} exited with code {code}{where}")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise _Stop

    def _stop_children(self) -> None:
        self._stopping = True
        for child in reversed(self.children):
            child.stop(GRACE_SECONDS)
        self.children.clear()


class StartupError(Exception):
    pass


class _Stop(Exception):
    pass


def _ports(settings: Settings, capturing: bool) -> dict[str, int]:
    """The ports the stack listens on, each by the flag that changes it."""
    ports = {
        "--api-port": settings.api_port,
        "--temporal-port": settings.temporal_port,
        "--ui-port": settings.ui_port,
    }
    return ports | ({"--smtp-port": settings.smtp_port} if capturing else {})


def _smtp_configured(settings: Settings) -> bool:
    return "smtp_host" in settings.model_fields_set


def _environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        secret = getattr(settings, name)
        text = secret.get_secret_value() if hasattr(secret, "get_secret_value") else value
        if isinstance(text, list):  # the settings' lists are comma-separated
            text = ",".join(map(str, text))
        env[f"JOURNEYS_{name.upper()}"] = str(text)
    return env


def _persisted_secret(path: Path, prefix: str) -> str:
    """A secret made once and kept in the data dir, so restarts keep keys and links valid."""
    if path.exists():
        return path.read_text().strip()
    value = prefix + secrets.token_urlsafe(24)
    path.write_text(value)
    path.chmod(0o600)
    return value
