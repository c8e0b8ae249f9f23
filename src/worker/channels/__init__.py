"""Providers that carry messages out: SMTP for email, signed HTTP webhooks for SMS and push.

A provider raises `PermanentSendError` when retrying cannot help (a refused recipient,
a 4xx answer); any other exception is transient and the activity is retried.
"""


class PermanentSendError(Exception):
    """The provider refused the message for good."""
