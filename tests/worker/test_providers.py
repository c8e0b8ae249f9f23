"""Each provider against a real server of its protocol on loopback: SMTP with STARTTLS and
AUTH (aiosmtpd), a fake Twilio Messages API, a fake FCM HTTP v1 API with its token endpoint."""

from __future__ import annotations

import base64
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from journeys.cli.dev.processes import free_port
from journeys.messaging.compose import RenderedEmail, mime_email
from tests.keys import self_signed, service_account_file
from tests.sinks import HttpSink
from worker.channels import PermanentSendError
from worker.channels.fcm import FcmProvider
from worker.channels.smtp import SmtpProvider
from worker.channels.twilio import TwilioProvider


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    def text(value: str | bytes) -> str:
        return value.decode() if isinstance(value, bytes) else value

    ok = isinstance(auth_data, LoginPassword) and (
        text(auth_data.login),
        text(auth_data.password),
    ) == ("journeys", "s3cret")
    return AuthResult(success=ok)


def test_smtp_with_starttls_and_auth(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = _Inbox(), free_port()
    server = Controller(
        inbox,
        hostname="localhost",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    server.start()
    try:
        channel = SmtpProvider(
            "localhost",
            port,
            "Shop <shop@example.com>",
            "journeys",
            "s3cret",
            starttls=True,
            ca_file=cert,
        )
        channel.deliver(
            mime_email(
                RenderedEmail("Hi", "Hello", "<p>Hello</p>"), channel.sender, "a@example.com", "m-1"
            )
        )
        untrusted = SmtpProvider("localhost", port, "Shop <shop@example.com>", starttls=True)
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusted.deliver(
                mime_email(RenderedEmail("Hi", "Hello"), untrusted.sender, "a@example.com", "m-3")
            )
    finally:
        server.stop()
    [received] = inbox.messages
    assert received["Subject"] == "Hi"
    assert "<body>\r\n<p>Hello</p>\r\n</body>" in received.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_twilio_messages_api(http_sink: HttpSink) -> None:
    http_sink.answers["/2010-04-01/Accounts/AC123/Messages.json"] = {
        "sid": "SM42",
        "status": "queued",
    }
    with httpx.Client() as client:
        twilio = TwilioProvider(
            "AC123",
            "token",
            "+15005550006",
            "http://journeys.test/v1/channels/sms/events",
            client,
            http_sink.url,
        )
        assert twilio.send_sms("m-1", "+33612345678", "Hello") == "SM42"
        http_sink.failures_left = 1
        with pytest.raises(httpx.HTTPStatusError):  # a 503: the activity retries
            twilio.send_sms("m-2", "+33612345678", "Hello")
    [call] = http_sink.posted_to("/2010-04-01/Accounts/AC123/Messages.json")
    assert parse_qs(call.body.decode()) == {
        "To": ["+33612345678"],
        "From": ["+15005550006"],
        "Body": ["Hello"],
        "StatusCallback": ["http://journeys.test/v1/channels/sms/events"],
    }
    assert call.headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:token").decode()


def test_fcm_http_v1_with_a_service_account(tmp_path: Path, http_sink: HttpSink) -> None:
    http_sink.answers["/token"] = {
        "access_token": "ya29.test",
        "expires_in": 3600,
        "token_type": "Bearer",
    }
    http_sink.answers["/v1/projects/journeys-test/messages:send"] = {
        "name": "projects/journeys-test/messages/7"
    }
    credentials = service_account_file(tmp_path, f"{http_sink.url}/token")
    with httpx.Client() as client:
        fcm = FcmProvider("journeys-test", credentials, client, http_sink.url)
        name = fcm.send_push("m-1", "device-token", "c1", "Hi", "Hello", {"screen": "offers"})
        fcm.send_push("m-2", "device-token", "c1", "Hi", "Again", {})
        with pytest.raises(PermanentSendError, match="no push_token"):
            fcm.send_push("m-3", "c1", "c1", "Hi", "Hello", {})
    assert name == "projects/journeys-test/messages/7"
    assert len(http_sink.posted_to("/token")) == 1  # the access token is reused until it expires
    first, _ = http_sink.posted_to("/v1/projects/journeys-test/messages:send")
    assert first.headers["Authorization"] == "Bearer ya29.test"
    assert first.json() == {
        "message": {
            "token": "device-token",
            "notification": {"title": "Hi", "body": "Hello"},
            "data": {"screen": "offers", "journeys_message_id": "m-1"},
        }
    }


def test_a_refused_recipient_is_final() -> None:
    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            return "550 no such user"

    port = free_port()
    server = Controller(Refuse(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        channel = SmtpProvider("127.0.0.1", port, "shop@example.com")
        with pytest.raises(PermanentSendError, match="recipient refused"):
            channel.deliver(
                mime_email(RenderedEmail("Hi", "Hello"), channel.sender, "x@example.com", "m")
            )
    finally:
        server.stop()
