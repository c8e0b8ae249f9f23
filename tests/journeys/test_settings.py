"""Settings' own checks."""

from __future__ import annotations

import pytest

from journeys.settings import Settings, public_url_warning


@pytest.mark.parametrize("url", ["http://mail.shop.example", "HTTP://localhost:8000"])
def test_a_public_url_without_tls_is_warned_of(url: str) -> None:
    warning = public_url_warning(Settings(public_url=url))
    assert warning is not None and url in warning and "RFC 8058" in warning


def test_https_and_journeys_dev_are_not_warned_of() -> None:
    assert public_url_warning(Settings(public_url="https://mail.shop.example")) is None
    assert public_url_warning(Settings(public_url="HTTPS://mail.shop.example")) is None
    # `journeys dev` serves its outbox on this machine, over http.
    assert public_url_warning(Settings(public_url="http://127.0.0.1:8000", dev_outbox=True)) is None
