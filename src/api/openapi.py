"""The OpenAPI document, whole for client generators: every reference resolves, every model
has one name, and every refusal documents its body (the house's `ErrorBody`)."""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api.errors import ErrorBody

COMPONENTS = "#/components/schemas/"

# Whoever holds a key may meet these on any keyed call (the key is checked in the store).
KEYED_REFUSALS = {
    HTTPStatus.UNAUTHORIZED: "No API key, or an unknown or revoked one",
    HTTPStatus.FORBIDDEN: "The key may not do this",
    HTTPStatus.TOO_MANY_REQUESTS: "The key's rate limit is exceeded",
    HTTPStatus.SERVICE_UNAVAILABLE: "The store or Temporal cannot be reached",
}
# Whatever sends a body may meet these: the body limit answers them before any route runs
# (api.limits).
BODY_REFUSALS = {
    HTTPStatus.BAD_REQUEST: "A gzipped body that is damaged, or a body that is not JSON",
    HTTPStatus.REQUEST_TIMEOUT: "The body did not arrive in time (JOURNEYS_BODY_TIMEOUT_SECONDS)",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The body, decoded, is over JOURNEYS_MAX_BODY_BYTES",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "A Content-Encoding other than gzip, or not JSON",
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying (events: with the same event_id).",
    "schema": {"type": "integer", "minimum": 0},
}
WITH_RETRY_AFTER = {str(HTTPStatus.TOO_MANY_REQUESTS), str(HTTPStatus.SERVICE_UNAVAILABLE)}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A reference to `model` for `openapi_extra`, with the definitions it needs under
    `$defs`, which `document` moves into the components (FastAPI collects only the models of
    the parameters it reads itself)."""
    schema = model.model_json_schema(ref_template=COMPONENTS + "{model}")
    definitions = schema.pop("$defs", {})
    return {"$ref": COMPONENTS + model.__name__, "$defs": {**definitions, model.__name__: schema}}


def document(app: FastAPI) -> None:
    """Serve the whole document in place of the one FastAPI generates."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # A copy: the generated document shares its `openapi_extra` with the routes.
            app.openapi_schema = _whole(copy.deepcopy(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _whole(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    _hoist_definitions(schema["paths"], schemas)
    _house_422(schema, schemas)
    for operations in schema["paths"].values():
        for operation in operations.values():
            _document_refusals(operation)
    return schema


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two different models are named {name!r}")
        for value in node.values():
            _hoist_definitions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_definitions(value, schemas)


def _house_422(schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    """422 answers are the ErrorBody, not FastAPI's own shape."""
    body = ErrorBody.model_json_schema(ref_template=COMPONENTS + "{model}")
    schemas.update(body.pop("$defs", {}))
    schemas["ErrorBody"] = body
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _replace_ref(schema, COMPONENTS + "HTTPValidationError", COMPONENTS + "ErrorBody")


def _document_refusals(operation: dict[str, Any]) -> None:
    """Keyed calls list the refusals of the key check; an error answer that documents no
    body of its own answers with the ErrorBody, and says when to retry where it may."""
    answers = operation["responses"]
    if "security" in operation:
        for status, description in KEYED_REFUSALS.items():
            answers.setdefault(str(status), {"description": description})
    if "requestBody" in operation:
        for status, description in BODY_REFUSALS.items():
            answers.setdefault(str(status), {"description": description})
    for status, answer in answers.items():
        if not status.isdigit() or int(status) < HTTPStatus.BAD_REQUEST or "content" in answer:
            continue
        answer["content"] = {"application/json": {"schema": {"$ref": COMPONENTS + "ErrorBody"}}}
        if status in WITH_RETRY_AFTER:
            answer.setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def _replace_ref(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        if node.get("$ref") == old:
            node["$ref"] = new
        for value in node.values():
            _replace_ref(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _replace_ref(value, old, new)
