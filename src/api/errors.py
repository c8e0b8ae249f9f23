"""Every error is JSON that says what is wrong and where: `{"detail", "problems"?}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.drafts import DraftConflictBody, draft_etag
from journeys.contacts.model import ConsentWithdrawn, NotAllowed
from journeys.ingest.contracts import Rejected
from journeys.kit.problems import Problem, ProblemsError, format_path
from journeys.lifecycle.journeys import NoMessageStep, NotInJourney
from journeys.lifecycle.triggers import TriggerConflict, TriggerNotFound
from journeys.store.db import store_unavailable
from journeys.store.journeys import DraftConflict, JourneyNotFound, NotLive, VersionNotFound
from journeys.temporal.errors import TemporalUnavailable

RETRY_AFTER_SECONDS = 5
STORE_UNAVAILABLE = (
    "The store cannot be reached; retry later (events: with the same event_id, which makes "
    "the retry safe whatever was done)."
)

log = logging.getLogger("journeys.api")


class ErrorBody(BaseModel):
    """Every refusal: what is wrong, and, for bad input, each problem where it is."""

    detail: str
    problems: list[Problem] | None = None


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


def _not_json(error: RequestValidationError) -> bool:
    """A JSON route was sent another Content-Type: FastAPI then hands the model the raw bytes,
    and Pydantic's answer ("should be a valid dictionary") would not say what to change."""
    return any(
        tuple(item.get("loc", ())) == ("body",) and isinstance(item.get("input"), bytes)
        for item in error.errors()
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        if _not_json(error):
            sent = request.headers.get("content-type") or "no Content-Type"
            return error_response(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"the body must be JSON: send `Content-Type: application/json` (this request"
                f" sent {sent})",
            )
        return unprocessable(_request_problems(error))

    @app.exception_handler(ProblemsError)
    async def invalid_definition(_: Request, error: ProblemsError) -> JSONResponse:
        return unprocessable(error.problems)

    @app.exception_handler(NotAllowed)
    async def not_allowed(_: Request, error: NotAllowed) -> JSONResponse:
        detail = "the key may not make these contact changes"
        return error_response(HTTPStatus.FORBIDDEN, detail, error.problems)

    @app.exception_handler(ConsentWithdrawn)
    async def consent_withdrawn(_: Request, error: ConsentWithdrawn) -> JSONResponse:
        detail = "the contact withdrew this consent"
        return error_response(HTTPStatus.CONFLICT, detail, error.problems)

    @app.exception_handler(Rejected)
    async def rejected(_: Request, error: Rejected) -> JSONResponse:
        retry = {} if error.retry_after is None else {"Retry-After": str(error.retry_after)}
        return error_response(error.status, error.detail, error.problems, headers=retry)

    @app.exception_handler(DraftConflict)
    async def draft_conflict(_: Request, error: DraftConflict) -> JSONResponse:
        body = DraftConflictBody(
            detail=f"{error} (If-Match); read it again, and save on top of what changed",
            journey_id=error.journey_id,
            expected_revision=error.expected,
            current_revision=error.current,
            changes=error.changes,
            diff=error.diff,
        )
        return JSONResponse(
            body.model_dump(mode="json", by_alias=True, exclude_none=True),
            status_code=HTTPStatus.PRECONDITION_FAILED,
            headers={"ETag": draft_etag(error.current)},
        )

    @app.exception_handler(JourneyNotFound)
    async def journey_not_found(_: Request, error: JourneyNotFound) -> JSONResponse:
        return error_response(HTTPStatus.NOT_FOUND, f"no journey {error.args[0]!r}")

    async def not_found(_: Request, error: Exception) -> JSONResponse:
        return error_response(HTTPStatus.NOT_FOUND, str(error))

    async def conflict(_: Request, error: Exception) -> JSONResponse:
        return error_response(HTTPStatus.CONFLICT, str(error))

    for missing in (VersionNotFound, NoMessageStep, TriggerNotFound, NotInJourney):
        app.add_exception_handler(missing, not_found)
    for clash in (NotLive, TriggerConflict):
        app.add_exception_handler(clash, conflict)

    @app.exception_handler(TemporalUnavailable)
    async def temporal_unavailable(_: Request, error: TemporalUnavailable) -> JSONResponse:
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            f"{error}. Nothing was done; retry later (events: with the same event_id, which "
            "makes the retry safe).",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def store_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DBAPIError | PoolTimeout)
        if not store_unavailable(error):
            raise error  # a bug, not an outage: the server error it is
        cause = getattr(error, "orig", None) or error
        # The driver's first line says why (refused, shutting down...); not the statement.
        log.warning("store unavailable: %s", str(cause).splitlines()[0] if str(cause) else cause)
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            STORE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    app.add_exception_handler(DBAPIError, store_error)
    app.add_exception_handler(PoolTimeout, store_error)
