"""The attack session's low findings, each closed: far waits, producers' links in SMS,
guessable secrets, cross-site logins without Sec-Fetch-Site, author HTML on the API's
origin, a world-readable store, numbers JSON cannot hold, "None" in a greeting, and
tracking links that never expired and showed their ids."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from api.app import create_app
from api.limits import BodyLimits
from journeys.cli.main import app as cli
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import check_definition, parse_definition
from journeys.definitions.templating import render
from journeys.messaging.compose import shorten_links
from journeys.messaging.tracking import TRACKING_LIFETIME, MessageRef, Tokens, UnsubscribeRef
from journeys.settings import Settings
from journeys.store.db import create_db_engine, migrate
from journeys.store.outbox import Outbox, captured_email
from tests.abuse.served import ADMIN

JSON = {"Content-Type": "application/json"}


def test_a_wait_until_a_moment_years_away_is_refused() -> None:
    journey = {
        "kind": "Journey",
        "id": "far",
        "name": "Far",
        "start": {"trigger": "contact.created"},
        "steps": [{"id": "century", "wait": {"until": "2126-11-30T09:00:00Z"}}],
    }
    definition, problems = parse_definition(journey)
    assert definition is not None and problems == []
    [problem] = check_definition(definition, TriggerCatalog())
    assert (problem.path, problem.message) == (
        "steps[0].wait.until",
        "at most 365 days from now, as every wait",
    )


def test_only_links_the_author_wrote_become_branded_short_links() -> None:
    template = "Your offer: https://shop.example.com/o?for={{ contact.email }} {{ trigger.url }}"
    text = "Your offer: https://shop.example.com/o?for=ada@example.com https://evil.example/x"
    shortened = shorten_links(text, lambda url: "https://go.shop/abc", template)
    assert shortened == "Your offer: https://go.shop/abc https://evil.example/x"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JOURNEYS_SIGNING_SECRET", "x"),
        ("JOURNEYS_SIGNING_SECRET", "dev-signing-secret-change-me-2"),
        ("JOURNEYS_SIGNING_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("JOURNEYS_API_KEY", "k"),
    ],
)
def test_services_refuse_guessable_secrets(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("JOURNEYS_SIGNING_SECRET", "3f9a1c7e5b2d8046f1e9c3a7b5d2f8e0")
    monkeypatch.setenv("JOURNEYS_API_KEY", "9d2e7b4a1f6c8e3d5a0b7c2f4e9d1a6b")
    monkeypatch.setenv(variable, value)
    for command in ("api", "worker"):
        result = CliRunner().invoke(cli, [command])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"{variable} is too easy to guess"), result.stderr


def test_a_login_form_from_another_origin_is_refused_without_sec_fetch_site(
    gateway: str,
) -> None:
    with httpx.Client(base_url=gateway) as browser:
        key = ADMIN["Authorization"].removeprefix("Bearer ")
        forged = browser.post(
            "/ui/login", data={"api_key": key}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403
        assert "journeys_session" not in forged.headers.get("set-cookie", "")
        own = browser.post("/ui/login", data={"api_key": key}, headers={"Origin": gateway})
        assert own.status_code == 303, own.text


async def test_an_email_in_the_dev_outbox_runs_no_script_on_the_api_origin(
    tmp_path: Path, temporal_env: WorkflowEnvironment
) -> None:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    settings = Settings(
        database_url=url, data_dir=tmp_path, dev_outbox=True, api_key=SecretStr("admin-key")
    )
    email = EmailMessage()
    email["To"], email["Subject"] = "ada@example.com", "Hi"
    email.set_content("Hi")
    email.add_alternative("<p>Hi</p><script>fetch('/v1/contacts')</script>", subtype="html")
    captured = captured_email(email.as_bytes())
    Outbox(settings.outbox_dir).add(captured)
    app = create_app(settings, temporal=temporal_env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        envelope = await http.get(f"/dev/outbox/{captured.id}")
        shown = await http.get(f"/dev/outbox/{captured.id}/body")
    assert shown.status_code == 200
    policy = shown.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert "script-src" not in policy
    # The envelope (subject, sender, recipients, date) frames it, sandboxed, and runs nothing.
    assert envelope.status_code == 200
    assert "<dt>To</dt><dd>ada@example.com</dd>" in envelope.text
    assert f'<iframe src="{captured.id}/body" sandbox' in envelope.text
    assert "<script" not in envelope.text
    policy = envelope.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_the_sqlite_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    create_db_engine(url).dispose()
    for path in tmp_path.glob("journeys.db*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e999", "-1e999"])
def test_numbers_json_cannot_hold_are_refused_not_stored_as_null(gateway: str, number: str) -> None:
    with httpx.Client(base_url=gateway, headers=ADMIN) as api:
        event = api.post(
            "/v1/triggers/contact.created/events",
            content=f'{{"contact_id": "n1", "attributes": {{"score": {number}}}}}',
            headers=JSON,
        )
        contact = api.put(
            "/v1/contacts/n1", content=f'{{"attributes": {{"score": {number}}}}}', headers=JSON
        )
    for answer in (event, contact):
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["problems"]
        assert "not a finite number" in problem["message"], problem


def test_a_null_first_name_renders_empty_as_the_readme_says() -> None:
    context = {"contact": {"first_name": None}}
    assert render("Hello {{ contact.first_name }}!", context) == "Hello !"
    assert json.loads(json.dumps(render("{{ contact.nothing }}", context))) == ""


def test_tracking_links_hide_their_ids_and_stop_counting_when_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = Tokens("3f9a1c7e5b2d8046f1e9c3a7b5d2f8e0")
    ref = MessageRef(
        workflow_id="journey/welcome/ada-42",
        instance_id="i1",
        step="welcome",
        message_id="m1",
        contact_id="ada-42",
    )
    token = tokens.open_token(ref)
    readable = token + base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("latin-1")
    assert "ada-42" not in readable and "welcome" not in readable
    read = tokens.read_open(token)
    assert read is not None and read.ref == ref and read.current
    made = time.time() - TRACKING_LIFETIME.total_seconds() - 60
    monkeypatch.setattr(time, "time", lambda: made)
    old = tokens.open_token(ref)
    unsubscribe = tokens.unsubscribe_token(
        UnsubscribeRef(contact_id="ada-42", channel="email", message_id="m1")
    )
    monkeypatch.undo()
    aged = tokens.read_open(old)
    assert aged is not None and not aged.current  # shown, not counted
    kept = tokens.read_unsubscribe(unsubscribe)
    assert kept is not None and kept.current  # a contact's no is heard whatever its age


async def test_a_body_sent_a_byte_at_a_time_is_cut_off() -> None:
    """A client that never finishes its body held the request (and a connection) for ever."""

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": b"{", "more_body": True}]

    async def trickle() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()  # the rest never comes
        raise AssertionError

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    limits = BodyLimits(endpoint, max_bytes=1_000, max_seconds=0.2)
    await limits({"type": "http", "headers": []}, trickle, record)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {"detail": "the body did not arrive within 0.2 s"}
