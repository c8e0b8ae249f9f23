"""How store errors reach a caller: an outage is a 503 to retry, a bug stays a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.errors import install_error_handlers


async def answer_to(error: Exception) -> httpx.Response:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/")
    def fail() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        return await client.get("/")


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, Exception("connection refused")),
        InterfaceError("SELECT 1", {}, Exception("connection already closed")),
        DBAPIError("SELECT 1", {}, Exception("reset"), connection_invalidated=True),
        PoolTimeout("QueuePool limit reached"),
    ],
    ids=["down", "connection-lost", "disconnect", "pool-exhausted"],
)
async def test_a_store_outage_answers_503_with_retry_after(error: Exception) -> None:
    answer = await answer_to(error)
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert "store cannot be reached" in answer.json()["detail"]
    assert "SELECT" not in answer.text  # nothing of the statement leaks out


async def test_a_store_error_that_is_a_bug_stays_a_server_error() -> None:
    answer = await answer_to(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert answer.status_code == 500
