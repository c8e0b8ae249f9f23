"""Schemathesis over the gateway's OpenAPI schema: whatever a client sends, the answer is
never a 5xx, matches what the schema documents for its status, and an error is the
house's JSON `{"detail", "problems"?: [{"path", "message"}]}`.

The gateway is served by uvicorn on loopback (real HTTP framing, which an in-process
ASGI client does not check) beside a worker, with the sample journeys published.
"""

from __future__ import annotations

from http import HTTPStatus

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import BaseModel, ConfigDict, ValidationError
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from api.app import create_app
from journeys.settings import Settings
from tests.abuse.served import ADMIN

# The schema the app documents, read from the app object: tests are collected without a server.
SCHEMA = create_app(Settings(database_url="sqlite://")).openapi()
# The coverage phase walks every keyword of a body's schema, and a journey's (steps within
# steps, conditions within conditions) makes hundreds of thousands of cases. That language
# has its own properties (test_definition_properties); here a journey gets the fuzzing
# phase's examples, as JSON and as YAML.
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-method": "PUT",
                "include-path": "/v1/journeys/{journey_id}",
                "phases": {"coverage": {"enabled": False}},
            }
        ]
    }
)
schema = schemathesis.openapi.from_dict(SCHEMA, config=CONFIG)


class _Problem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    path: str
    message: str


class _ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    detail: str
    problems: list[_Problem] | None = None


def house_error(
    ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A refusal says what is wrong (and where), as JSON, whatever the schema documents."""
    if not HTTPStatus.BAD_REQUEST <= response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"a {response.status_code} as {content_type}"
    )
    try:
        _ErrorBody.model_validate_json(response.content)
    except ValidationError as error:
        raise AssertionError(f"not the house's error shape: {response.text!r}\n{error}") from None


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,  # the same calls on every run: a failure here is a bug, never luck
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_as_documented(
    case: schemathesis.Case, gateway: str
) -> None:
    case.call_and_validate(
        base_url=gateway,
        headers=ADMIN,
        checks=[
            not_a_server_error,
            content_type_conformance,
            response_schema_conformance,
            house_error,
        ],
    )


def test_the_served_schema_is_the_one_tested(gateway: str) -> None:
    assert httpx.get(f"{gateway}/openapi.json").json() == SCHEMA


def test_422_is_documented_as_the_house_error() -> None:
    events = SCHEMA["paths"]["/v1/triggers/{name}/events"]["post"]["responses"]["422"]
    reference = events["content"]["application/json"]["schema"]["$ref"]
    documented = SCHEMA["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert documented["properties"]["detail"]["type"] == "string"
    assert "problems" in documented["properties"]
