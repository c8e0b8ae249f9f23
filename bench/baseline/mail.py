"""The workflow and its one activity: send the email, done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import os
    import smtplib
    from email.message import EmailMessage

TASK_QUEUE = "baseline-mail"


@dataclass
class Email:
    to: str
    subject: str
    text: str


@activity.defn
def send_email(email: Email) -> None:
    message = EmailMessage()
    message["From"] = "Shop <shop@example.com>"
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.text)
    port = int(os.environ.get("BASELINE_SMTP_PORT", "1025"))
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


@workflow.defn
class SendEmail:
    @workflow.run
    async def run(self, email: Email) -> None:
        await workflow.execute_activity(
            send_email, email, start_to_close_timeout=timedelta(seconds=30)
        )
