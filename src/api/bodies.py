"""Reading a definition from a request body, as JSON or YAML (`Content-Type: application/yaml`)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import Request

from api.deps import services_of
from api.openapi import model_schema
from journeys.definitions.documents import (
    Definition,
    parse_definition,
    parse_error_message,
    parse_text,
    reference_problems,
)
from journeys.definitions.journeys import JourneyDefinition
from journeys.definitions.triggers import TriggerDefinition
from journeys.kit import jsontext
from journeys.kit.problems import Problem, ProblemsError

MAX_BODY_BYTES = 1_000_000


async def read_definition(request: Request, kind: str, key: str, value: str) -> Definition:
    """The body as a definition of `kind`, whose `key` (id or name) must match the path."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ProblemsError([Problem(path="", message=f"larger than {MAX_BODY_BYTES} bytes")])
    document = _parse(raw, request.headers.get("content-type", ""))
    if isinstance(document, dict):
        document.setdefault("kind", kind)
        document.setdefault(key, value)
        if document[key] != value:
            raise ProblemsError(
                [Problem(path=key, message=f"is {document[key]!r} but the URL says {value!r}")]
            )
    definition, problems = parse_definition(document, expect=kind)
    if problems:
        # Every problem in one answer, as `journeys validate` gives them: the references
        # of a journey whose structure is broken are checked too, where they can be.
        catalog = services_of(request).catalog.snapshot.catalog
        raise ProblemsError(problems + reference_problems(document, catalog))
    assert definition is not None
    return definition


def _parse(raw: bytes, content_type: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemsError([Problem(path="", message="the body is not UTF-8")]) from None
    try:
        documents = parse_text(text) if "yaml" in content_type else [jsontext.loads(text)]
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ProblemsError([Problem(path="", message=parse_error_message(error))]) from None
    if len(documents) != 1:
        raise ProblemsError([Problem(path="", message="send exactly one document")])
    return documents[0]


async def trigger_body(request: Request, name: str) -> TriggerDefinition:
    definition = await read_definition(request, "Trigger", "name", name)
    assert isinstance(definition, TriggerDefinition)
    return definition


async def journey_body(request: Request, journey_id: str) -> JourneyDefinition:
    definition = await read_definition(request, "Journey", "id", journey_id)
    assert isinstance(definition, JourneyDefinition)
    return definition


def definition_body(model: type[Definition]) -> dict[str, Any]:
    """OpenAPI for a body read by `read_definition`: the model's schema, as JSON or YAML."""
    schema = model_schema(model)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/yaml": {"schema": schema},
            },
        }
    }
