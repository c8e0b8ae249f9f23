"""Every error is JSON that says what is wrong and where: `{"detail", "problems"?}`."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from journeys.ingest.dispatch import TemporalUnavailable
from journeys.ingest.ingestion import Rejected
from journeys.problems import Problem, ProblemsError, format_path
from journeys.store.journeys import JourneyNotFound

RETRY_AFTER_SECONDS = 5


def error_response(
    status: HTTPStatus,
    detail: str,
    problems: Sequence[Problem] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    content: dict[str, Any] = {"detail": detail}
    if problems:
        content["problems"] = [p.model_dump(exclude_none=True) for p in problems]
    return JSONResponse(content, status_code=status, headers=headers)


def unprocessable(problems: Sequence[Problem]) -> JSONResponse:
    count = len(problems)
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        f"{count} problem{'s' if count != 1 else ''} found",
        problems,
    )


def _request_problems(error: RequestValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        location = list(item.get("loc", ()))
        if location and location[0] == "body":
            location = location[1:]
        message = item.get("msg", "invalid")
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        elif item.get("type") == "missing":
            message = "required"
        elif item.get("type") == "json_invalid":
            message = f"not valid JSON: {item.get('ctx', {}).get('error', message)}"
        problems.append(
            Problem(path=format_path(location), message=message.removeprefix("Value error, "))
        )
    return problems


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return unprocessable(_request_problems(error))

    @app.exception_handler(ProblemsError)
    async def invalid_definition(_: Request, error: ProblemsError) -> JSONResponse:
        return unprocessable(error.problems)

    @app.exception_handler(Rejected)
    async def rejected(_: Request, error: Rejected) -> JSONResponse:
        return error_response(error.status, error.detail, error.problems)

    @app.exception_handler(JourneyNotFound)
    async def journey_not_found(_: Request, error: JourneyNotFound) -> JSONResponse:
        return error_response(HTTPStatus.NOT_FOUND, f"no journey {error.args[0]!r}")

    @app.exception_handler(TemporalUnavailable)
    async def temporal_unavailable(_: Request, error: TemporalUnavailable) -> JSONResponse:
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "Temporal cannot be reached; nothing was done. Retry with the same event_id.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
