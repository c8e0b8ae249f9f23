"""Email over SMTP, with STARTTLS and authentication when configured."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from journeys.settings import Settings
from worker.channels import PermanentSendError


@dataclass(frozen=True)
class SmtpProvider:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    ca_file: Path | None = None  # a private CA to trust for STARTTLS

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpProvider:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
            ca_file=settings.smtp_ca_file,
        )

    def deliver(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    ca = str(self.ca_file) if self.ca_file else None
                    smtp.starttls(context=ssl.create_default_context(cafile=ca))
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentSendError(f"recipient refused: {error.recipients}") from error
            raise
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                detail = error.smtp_error
                text = detail.decode(errors="replace") if isinstance(detail, bytes) else detail
                raise PermanentSendError(f"SMTP {error.smtp_code}: {text}") from error
            raise
