"""Alembic environment: runs on the connection or URL the caller gives."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import journeys.store.tables  # noqa: F401 - registers the tables on the metadata
from journeys.settings import Settings
from journeys.store.db import create_db_engine

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.attributes.get("url") or Settings().resolved_database_url
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


def _run_on(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
