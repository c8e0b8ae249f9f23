"""Logging for the API, the worker and the CLI: one format that names the trace a line
belongs to, and no contact data at the default level.

Log lines may mention workflow ids (which hold contact ids), email addresses (in provider
errors), phone numbers, or URLs with a capability token or a contact id in them; below DEBUG
they are masked before any handler writes them. Spans' URLs are masked alike (`tracing`).
"""

from __future__ import annotations

import logging
import re

from opentelemetry import trace

_WORKFLOW_ID = re.compile(r"(journey/[a-z0-9_-]+/)[^\s/'\",)]+(/[^\s'\",)]+)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+[1-9]\d{6,14}\b")
# Whoever holds these links acts for the contact: opens and clicks (/t/o, /t/c), unsubscribe
# (/u), the dashboard's sign-in link (?token=).
_TOKEN_IN_PATH = re.compile(r"(/(?:t/[oc]|u)/)[^\s/?#'\",)]+")
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^\s&#'\",)]+")
_CONTACT_IN_PATH = re.compile(r"(/v1/contacts/|/instances/)[^\s/?#'\",)]+")


def redact(text: str) -> str:
    text = _WORKFLOW_ID.sub(r"\1<contact>", text)
    text = _TOKEN_IN_PATH.sub(r"\1<token>", text)
    text = _TOKEN_IN_QUERY.sub(r"\1<token>", text)
    text = _CONTACT_IN_PATH.sub(r"\1<contact>", text)
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub("<phone>", text)


class TraceIdFilter(logging.Filter):
    """Give every log record ` trace=<id>` (or nothing, outside a trace) for the format's
    `%(trace)s`, so that a log line leads to its trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace = f" trace={context.trace_id:032x}" if context.is_valid else ""
        return True


class RedactContactData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # A traceback ends with the exception's text, which may hold the data itself
            # (smtplib's SMTPRecipientsRefused holds the address): formatted and masked
            # here, and the live exception no longer given to the handlers.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FORMATTER = logging.Formatter()


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s%(trace)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceIdFilter())
    if logging.getLogger().level > logging.DEBUG:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactContactData())
