"""The OpenAPI document as client generators read it: every reference resolves, every model
has one name, every refusal documents its body, and `openapi-python-client` (the real
generator, run as its CLI) makes a client with every operation and every documented
answer, which then speaks to the gateway."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from api.app import create_app
from journeys.definitions.documents import load_bundle, to_document
from journeys.settings import Settings
from tests.api.stack import ADMIN, WORKFLOWS, Stack

SCHEMA = create_app(Settings(database_url="sqlite://")).openapi()
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
PACKAGE = "journeys_client"
# The generator reads JSON, forms, text and octet-stream only: the open pixel is bytes.
GENERATOR_CONFIG = {"content_type_overrides": {"image/gif": "application/octet-stream"}}
# What the generator cannot read, and leaves out (the JSON body of those calls is generated).
KNOWN_GAPS = {
    ("PUT /v1/triggers/{name}", "Unsupported content type application/yaml"),
    ("PUT /v1/journeys/{journey_id}", "Unsupported content type application/yaml"),
}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in SCHEMA["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_every_reference_resolves() -> None:
    resolver = Registry().with_resource("urn:journeys", DRAFT202012.create_resource(SCHEMA))
    lookup = resolver.resolver(base_uri="urn:journeys").lookup
    found = list(references(SCHEMA))
    dangling = set()
    for reference in found:
        try:
            lookup(reference)
        except Unresolvable:
            dangling.add(reference)
    assert len(found) > 100  # the definitions' bodies are in, with their steps and conditions
    assert dangling == set()


def test_every_model_has_one_name() -> None:
    schemas = SCHEMA["components"]["schemas"]
    titles = Counter(schema.get("title", name) for name, schema in schemas.items())
    assert [title for title, count in titles.items() if count > 1] == []
    assert {"JourneyDefinition", "TriggerDefinition", "CloudEvent", "MessagingRules"} <= set(
        schemas
    )


def test_every_refusal_documents_its_body() -> None:
    undocumented = []
    for method, path, operation in operations():
        answers = operation["responses"]
        if "security" in operation:
            assert {"401", "403", "429", "503"} <= set(answers), f"{method} {path}"
        if "requestBody" in operation:  # the body limit answers before any route runs
            assert {"400", "408", "413", "415"} <= set(answers), f"{method} {path}"
        for status, answer in answers.items():
            if int(status) < 400:
                continue
            bodies = [media["schema"] for media in answer.get("content", {}).values()]
            if not bodies:
                undocumented.append(f"{method} {path} {status}")
            if ERROR_BODY in bodies and status in ("429", "503"):
                assert "Retry-After" in answer["headers"], f"{method} {path} {status}"
    assert undocumented == []
    # The provider webhooks read their bodies and keys themselves: declared all the same.
    channels = [op for _, path, op in operations() if path.startswith("/v1/channels/")]
    assert len(channels) == 4
    assert all(
        "requestBody" in op and "security" in op and "422" in op["responses"] for op in channels
    )


def test_the_segment_routes_declare_basic_auth() -> None:
    schemes = SCHEMA["components"]["securitySchemes"]
    segment = [(path, op) for _, path, op in operations() if path.startswith("/v1/segment/")]
    assert len(segment) == 8
    for path, operation in segment:
        # Either will do: each requirement is one way in.
        declared = {
            (schemes[name]["type"], schemes[name]["scheme"])
            for requirement in operation["security"]
            for name in requirement
        }
        assert declared == {("http", "basic"), ("http", "bearer")}, path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The client openapi-python-client makes from the served schema, and what it said."""
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_text(json.dumps(SCHEMA))
    (work / "config.yaml").write_text(yaml.safe_dump(GENERATOR_CONFIG))
    bin_dir = Path(sys.executable).parent  # the generator formats with ruff, from here
    run = subprocess.run(
        [
            bin_dir / "openapi-python-client",
            *("generate", "--path", "openapi.json", "--output-path", PACKAGE),
            *("--meta", "none", "--config", "config.yaml"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(work))
    try:
        yield work / PACKAGE, run.stdout + run.stderr
    finally:
        sys.path.remove(str(work))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_the_generated_client_has_every_operation_and_answer(
    generated: tuple[Path, str],
) -> None:
    package, said = generated
    modules = {}
    for module in (package / "api").rglob("*.py"):
        code = module.read_text()
        call = re.search(r'"method": "(\w+)",\s+"url": "([^"]*)"', code)
        if call:
            modules[f"{call[1].upper()} {call[2]}"] = code
    assert set(modules) == {f"{method} {path}" for method, path, _ in operations()}
    for method, path, operation in operations():
        for status in operation["responses"]:
            assert f"response.status_code == {status}:" in modules[f"{method} {path}"], (
                f"{method} {path} {status}"
            )
    warned = re.findall(r"WARNING parsing (\S+ \S+) within \S+\.?.*\n\n?(.+)", said)
    assert set(warned) == KNOWN_GAPS, said


def _generated(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_speaks_to_the_gateway(
    stack: Stack, generated: tuple[Path, str]
) -> None:
    client = _generated("client")
    models = _generated("models")
    put_journey = _generated("api.journeys.put_journey_v1_journeys_journey_id_put")
    read_journey = _generated("api.journeys.get_journey_v1_journeys_journey_id_get")
    write_messaging = _generated("api.settings.write_messaging_v1_settings_messaging_put")
    transport = {"transport": httpx.ASGITransport(app=stack.app)}
    keyed = client.AuthenticatedClient(
        base_url="http://journeys.test",
        token=ADMIN["Authorization"].removeprefix("Bearer "),
        httpx_args=transport,
    )
    await stack.put_triggers()

    journey = next(j for j in load_bundle([WORKFLOWS]).journeys if j.id == "welcome")
    body = models.JourneyDefinition.from_dict(to_document(journey))
    saved = await put_journey.asyncio_detailed("welcome", client=keyed, body=body)
    assert saved.status_code == 201, saved.content
    assert isinstance(saved.parsed, models.JourneyOut)
    assert saved.parsed.id == "welcome"

    rules = models.MessagingRules.from_dict(
        {"frequency_caps": {"email": [{"count": 2, "per": "P1D"}]}}
    )
    answer = await write_messaging.asyncio(client=keyed, body=rules)
    assert isinstance(answer, models.MessagingRules)
    assert answer.to_dict()["frequency_caps"] == {"email": [{"count": 2, "per": "P1D"}]}

    missing = await read_journey.asyncio_detailed("no-such-journey", client=keyed)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorBody)
    assert "no-such-journey" in missing.parsed.detail

    anonymous = client.Client(base_url="http://journeys.test", httpx_args=transport)
    refused = await read_journey.asyncio_detailed("welcome", client=anonymous)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.ErrorBody)
