"""The dev outbox: every message `journeys dev` would have sent, kept as files in the data dir.

Email comes from the dev stack's SMTP capture (`journeys.cli.dev.smtp`), SMS and push
from the API's /dev/outbox routes (the webhook provider of `journeys dev`), which also
show it all.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CapturedMessage:
    channel: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    sender: str | None = None  # an email's From
    date: str | None = None  # an email's Date, as it was written
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def pixel_url(self) -> str | None:
        match = re.search(r'<img src="([^"]+/t/o/[^"]+)"', self.html or "")
        return match.group(1).replace("&amp;", "&") if match else None

    @property
    def links(self) -> list[str]:
        return [url.replace("&amp;", "&") for url in re.findall(r'href="([^"]+)"', self.html or "")]


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, message: CapturedMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{message.at.replace(':', '')}-{message.id}.json"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_text(json.dumps(asdict(message), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.directory / name)  # readers never see half a file

    def messages(self, limit: int = 200) -> list[CapturedMessage]:
        if not self.directory.exists():
            return []
        files = sorted(self.directory.glob("*.json"), reverse=True)[:limit]
        return [CapturedMessage(**json.loads(f.read_text(encoding="utf-8"))) for f in files]

    def get(self, message_id: str) -> CapturedMessage | None:
        return next((m for m in self.messages(limit=10_000) if m.id == message_id), None)


def captured_email(content: bytes) -> CapturedMessage:
    parsed = message_from_bytes(content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    return CapturedMessage(
        channel="email",
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        sender=str(parsed["From"] or ""),
        date=str(parsed["Date"] or ""),
        text=text.get_content() if isinstance(text, EmailMessage) else "",
        html=html.get_content() if isinstance(html, EmailMessage) else None,
        data={"message_id": str(parsed["X-Journeys-Message-Id"] or "")},
    )
