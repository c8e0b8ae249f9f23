"""Signing in to the dashboard, in a real browser and over real HTTP."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page
from typer.testing import CliRunner

from api.ui.routes import _within_dashboard
from api.ui.session import COOKIE
from journeys.cli.main import app as cli
from tests.ui.conftest import ADMIN_KEY, Dashboard, follow


async def new_key(dashboard: Dashboard, *scopes: str) -> tuple[str, str]:
    created = await dashboard.http.post(
        "/v1/api-keys", json={"name": "Grace <ops>", "scopes": list(scopes)}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["secret"]


async def test_strangers_are_sent_to_sign_in_and_only_admin_keys_get_in(
    dashboard: Dashboard, page: Page
) -> None:
    await page.goto(f"{dashboard.url}/ui/journeys/nothing-here?version=2")
    assert urlsplit(page.url).path == "/ui/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == ["/ui/journeys/nothing-here?version=2"]

    await page.fill("#api_key", "jk_0000_not-a-key")
    await follow(page, "button[type=submit]")
    assert await page.locator(".alert").inner_text() == "This key is unknown or revoked."

    _, writer = await new_key(dashboard, "events:write")
    await page.fill("#api_key", writer)
    await follow(page, "button[type=submit]")
    assert await page.locator(".alert").inner_text() == (
        "Only keys with the admin scope may sign in."
    )
    assert await page.context.cookies() == []

    key_id, admin = await new_key(dashboard, "admin")
    await page.fill("#api_key", admin)
    await follow(page, "button[type=submit]")
    # Back where they were going: a journey that does not exist, said as a page.
    assert urlsplit(page.url).path == "/ui/journeys/nothing-here"
    assert await page.locator("h1").inner_text() == "Not found"
    assert await page.locator("main").inner_text() != ""
    assert await page.locator(".who strong").inner_text() == "Grace <ops>"

    [cookie] = await page.context.cookies()
    assert cookie["name"] == COOKIE and cookie["value"] != admin and admin not in cookie["value"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert cookie["expires"] > 0  # a persistent cookie with an end, not a browser session's

    # Revoking the key ends the session at the next page.
    assert (await dashboard.http.delete(f"/v1/api-keys/{key_id}")).is_success
    await page.goto(f"{dashboard.url}/ui")
    assert urlsplit(page.url).path == "/ui/login"


async def test_signing_out_forgets_the_session(dashboard: Dashboard, page: Page) -> None:
    await dashboard.sign_in(page)
    assert urlsplit(page.url).path == "/ui"
    await follow(page, "text=Sign out")
    assert urlsplit(page.url).path == "/ui/login"
    assert await page.context.cookies() == []
    await page.goto(f"{dashboard.url}/ui")
    assert urlsplit(page.url).path == "/ui/login"


async def test_journeys_ui_link_signs_a_browser_in(dashboard: Dashboard, page: Page) -> None:
    # The CLI's HTTP client blocks: it runs in a thread while this loop serves the API.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ui-link", "--url", dashboard.url, "--api-key", ADMIN_KEY]
    )
    assert result.exit_code == 0, result.output
    link = urlsplit(result.stdout.strip())
    assert f"{link.scheme}://{link.netloc}" == dashboard.stack.harness.settings.public_url
    assert link.path == "/ui/login/link"
    assert result.stderr == "(valid for 120 s)\n"

    await page.goto(f"{dashboard.url}{link.path}?{link.query}")
    assert urlsplit(page.url).path == "/ui"
    assert await page.locator(".who strong").inner_text() == "bootstrap"

    # A link that was tampered with signs no one in.
    await page.context.clear_cookies()
    await page.goto(f"{dashboard.url}{link.path}?{link.query}x")
    assert urlsplit(page.url).path == "/ui/login/link"
    assert "invalid or has expired" in await page.locator(".alert").inner_text()
    assert await page.context.cookies() == []


async def test_the_cli_without_a_key_says_where_one_goes(dashboard: Dashboard) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["keys", "list", "--url", dashboard.url],
        env={"JOURNEYS_API_KEY": None},
    )
    assert result.exit_code == 1
    assert "set JOURNEYS_API_KEY or pass --api-key" in result.stderr
    assert ".journeys/api-key" in result.stderr


async def test_a_login_link_needs_an_admin_key(dashboard: Dashboard) -> None:
    _, writer = await new_key(dashboard, "events:write")
    refused = await dashboard.http.post(
        "/ui/login-links", headers={"Authorization": f"Bearer {writer}"}
    )
    assert refused.status_code == 403
    assert (
        await dashboard.http.post("/ui/login-links", headers={"Authorization": ""})
    ).status_code == 401


async def test_forms_from_other_sites_are_refused(dashboard: Dashboard) -> None:
    answer = await dashboard.http.post(
        "/ui/login",
        data={"api_key": ADMIN_KEY, "next": "/ui"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403
    assert COOKIE not in answer.cookies
    signed_in = await dashboard.http.post(
        "/ui/login", data={"api_key": ADMIN_KEY}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ui"
    assert COOKIE in signed_in.cookies


async def test_pages_forbid_scripts_and_framing(dashboard: Dashboard) -> None:
    page = await dashboard.http.get("/ui/login")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # no script at all
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("wanted", "went"),
    [
        ("/ui/journeys/welcome?version=2", "/ui/journeys/welcome?version=2"),
        ("/ui", "/ui"),
        ("https://elsewhere.example/ui", "/ui"),
        ("//elsewhere.example/ui", "/ui"),
        ("/\\elsewhere.example/ui", "/ui"),
        ("/uiother", "/ui"),
        ("/v1/journeys", "/ui"),
    ],
)
def test_after_signing_in_only_dashboard_pages_are_visited(wanted: str, went: str) -> None:
    assert _within_dashboard(wanted) == went
