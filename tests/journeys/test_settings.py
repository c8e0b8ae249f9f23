"""Settings' own checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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


def test_the_worker_cache_size_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().worker_max_cached_workflows == 1000  # the SDK's own default
    monkeypatch.setenv("JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS", "250")
    assert Settings().worker_max_cached_workflows == 250


def test_a_negative_worker_cache_size_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYS_WORKER_MAX_CACHED_WORKFLOWS", "-1")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "worker_max_cached_workflows" in str(refused.value)


@pytest.mark.parametrize(
    "url", ["sqlite:///tmp/j.db", "sqlite+pysqlite:///:memory:", "postgresql+psycopg://u@h/db"]
)
def test_sqlite_and_postgresql_stores_are_taken(url: str) -> None:
    assert Settings(database_url=url).resolved_database_url == url


@pytest.mark.parametrize(
    "url",
    [
        "mysql+pymysql://u:hunter2@h/db",
        "SQLITE:///hunter2.db",
        "mssql+pyodbc://u:hunter2@dsn",
        "hunter2",
    ],
)
def test_another_store_is_refused_at_start_by_name_without_its_secret(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=url)
    said = str(refused.value)
    assert "database_url" in said and "SQLite or PostgreSQL" in said and "hunter2" not in said


def test_a_password_with_brackets_is_read_as_sqlalchemy_reads_it() -> None:
    url = "postgresql+psycopg://u:s3[cr]et@h/db"
    assert Settings(database_url=url).resolved_database_url == url
