"""Personal data where it must not stay: in logs."""

from __future__ import annotations

import logging
import smtplib

import pytest

from journeys.observability.logs import configure_logging


def test_tracebacks_are_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    """SMTPRecipientsRefused holds the refused address: at INFO it went out in the
    traceback's last line, which the message's masking did not reach."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("info")
    try:
        raise smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such user")})
    except smtplib.SMTPRecipientsRefused:
        logging.getLogger("journeys.worker").exception("send failed for +33612345678")
    finally:
        root.handlers[:], root.level = handlers, level
    logged = capsys.readouterr().err
    assert "SMTPRecipientsRefused: {'<email>': (550, b'no such user')}" in logged
    assert "send failed for <phone>" in logged
    assert "ada@example.com" not in logged and "+33612345678" not in logged
