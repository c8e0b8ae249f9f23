"""One settings class for the API, the worker and the CLI (environment prefix `JOURNEYS_`)."""

from __future__ import annotations

import math
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".journeys")
DEV_SIGNING_SECRET = "dev-signing-secret-change-me"  # noqa: S105 - public on purpose, refused by services


MIN_SECRET_BITS = 128


def guessable(secret: str) -> str | None:
    """Why a secret is too weak to sign links or guard the API, or None: fewer than
    MIN_SECRET_BITS by a generous estimate (its length times the bits of its alphabet), or a
    near-copy of the well-known development secret."""
    lowered = secret.lower()
    if "change-me" in lowered or "dev-signing-secret" in lowered:
        return "it is a copy of the development default"
    bits = len(secret) * math.log2(len(set(secret))) if len(set(secret)) > 1 else 0
    if bits < MIN_SECRET_BITS:
        return f"about {bits:.0f} bits of randomness, at least {MIN_SECRET_BITS} needed"
    return None


def _comma_separated(value: Any) -> Any:
    return (
        [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, str)
        else value
    )


# The store's statements are written for these two (the event-id claim's upsert, the
# advisory locks): another database would fail at its first event, not at start.
SUPPORTED_STORES = ("sqlite", "postgresql")


def _supported_store(url: str | None) -> str | None:
    if url is None:
        return None
    # Read as SQLAlchemy reads it (`dialect+driver://`, case and all), not as a web URL: a
    # password may hold characters urlsplit would take for an address and quote back.
    scheme, separator, _ = url.partition("://")
    backend = scheme.split("+")[0] if separator else ""
    if backend not in SUPPORTED_STORES:
        raise ValueError(
            "the store is SQLite or PostgreSQL (sqlite:///... or postgresql+psycopg://...),"
            f" not {backend or 'a URL without a scheme'}"
        )
    return url


class Settings(BaseSettings):
    # An error names the setting, never its value: a database URL or a key may hold a secret.
    model_config = SettingsConfigDict(
        env_prefix="JOURNEYS_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    data_dir: Path = DEFAULT_DATA_DIR
    log_level: str = "info"
    database_url: Annotated[str | None, AfterValidator(_supported_store)] = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in the data dir.",
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_api_key: SecretStr | None = None
    temporal_ui_url: str = "http://localhost:8233"
    task_queue: str = "journeys"

    api_key: SecretStr | None = Field(
        default=None, description="Bootstrap key with every scope (admin)."
    )
    public_url: str = "http://localhost:8000"
    # Known to everyone: `journeys api` and `journeys worker` refuse to run with it.
    signing_secret: SecretStr = SecretStr(DEV_SIGNING_SECRET)

    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ca_file: Path | None = Field(
        default=None, description="A CA bundle to trust for STARTTLS (a private CA)."
    )
    smtp_timeout_seconds: float = 10.0
    email_from: str = "Journeys <journeys@localhost>"

    sms_webhook_url: str | None = None
    push_webhook_url: str | None = None
    # Twilio for SMS, when an account is set (it wins over SMS_WEBHOOK_URL).
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = Field(default=None, description="A number or a MG... service SID.")
    twilio_base_url: str = "https://api.twilio.com"
    # Firebase Cloud Messaging for push, when a project is set (it wins over PUSH_WEBHOOK_URL).
    fcm_project_id: str | None = None
    fcm_credentials_file: Path | None = Field(
        default=None, description="The service account's JSON key file."
    )
    fcm_base_url: str = "https://fcm.googleapis.com"
    provider_timeout_seconds: float = 10.0
    webhook_allowed_networks: Annotated[
        list[IPv4Network | IPv6Network], NoDecode, BeforeValidator(_comma_separated)
    ] = Field(
        default_factory=list,
        description="Networks `webhook` steps may call besides public addresses, comma-"
        "separated (e.g. 10.20.0.0/16 for an internal CRM); loopback, private, link-local "
        "and metadata addresses are refused otherwise.",
    )

    worker_activity_threads: int = Field(
        default=32,
        ge=1,
        description="Activities the worker runs at once, and as many store calls (local "
        "activities) beside them: a thread each.",
    )
    worker_max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        description="Runs the worker keeps in memory between their workflow tasks; an event "
        "for a run not kept replays its history first. The SDK's default.",
    )
    render_processes: int = Field(
        default=2,
        ge=1,
        description="Processes that render templates (each with a time and memory limit), "
        "per worker and per API process.",
    )
    worker_shutdown_grace_seconds: float = Field(
        default=20.0,
        ge=0,
        description="On SIGTERM, how long the worker lets the sends in hand finish before it "
        "cancels them (a cancelled send is sent again by the next worker). Keep it below the "
        "orchestrator's own grace (the compose file's stop_grace_period is 30 s).",
    )
    worker_metrics_address: str | None = Field(
        default=None,
        description="host:port where the worker serves Prometheus metrics (e.g. "
        "0.0.0.0:9464); none: no metrics endpoint.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_processes: int = Field(
        default=1,
        ge=1,
        description="Processes serving the API's port: one per core the gateway may use.",
    )

    # `journeys dev` only: where it runs the Temporal dev server, and what it applies.
    temporal_port: int = 7233
    ui_port: int = 8233
    workflows: Path = Path("workflows")

    rate_limit_per_key: float = Field(
        default=2000.0, ge=0, description="Requests a second per API key and process; 0: no limit."
    )
    page_rate_per_key: float = Field(
        default=50.0,
        ge=0,
        description="Events a second per publishable key and process (the web snippet), unless "
        "the key sets its own; 0: no limit.",
    )
    page_rate_per_address: float = Field(
        default=5.0,
        ge=0,
        description="Events a second per visitor IP address and process (the web snippet); "
        "0: no limit.",
    )
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="Larger bodies get 413.")
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A body that has not arrived in full by then gets 408."
    )
    event_id_window_hours: float = Field(
        default=24.0, gt=0, description="How long an accepted event id is answered as a duplicate."
    )
    catalog_refresh_seconds: float = Field(
        default=2.0,
        description="How often the API looks for trigger and journey changes made elsewhere.",
    )
    dev_outbox: bool = Field(
        default=False,
        description="Serve the captured messages of `journeys dev` at /dev/outbox.",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'journeys.db').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def public_url_warning(settings: Settings) -> str | None:
    """Why JOURNEYS_PUBLIC_URL will not do for the links in messages, or None. Outside
    `journeys dev` (the only one to serve its outbox), it must be https."""
    if settings.dev_outbox or urlsplit(settings.public_url).scheme == "https":
        return None
    return (
        f"JOURNEYS_PUBLIC_URL is {settings.public_url}, not https: mailbox providers offer "
        "one-click unsubscribe only over https (RFC 8058), and the links in messages would "
        "travel in clear"
    )
