"""Signatures on webhook bodies: `t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`.

The timestamp is signed with the body, so a receiver can refuse a replayed call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Journeys-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def derive(secret: str, purpose: str) -> str:
    """A secret for one purpose, derived from the deployment's: whoever holds it can sign
    only for that purpose, and rotating the deployment's secret rotates it."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def webhook_step_secret(secret: str) -> str:
    """What `webhook` steps sign with. Not the providers' secret: a journey's author chooses
    a webhook step's body, and must not be able to forge a provider call (an "SMS")."""
    return derive(secret, "webhook-step")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
        if abs(now - timestamp) > tolerance:  # a huge t overflows the float: refused too
            return False
    except (KeyError, ValueError, OverflowError):
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each sorted key and value."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
