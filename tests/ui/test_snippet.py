"""The web snippet in a real headless Chromium: a page served from another origin loads
/sdk/journeys.js from the gateway and fires a custom trigger with a publishable key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import Page

from tests.api.test_sdk import web_journey
from tests.sinks import eventually
from tests.ui.conftest import Dashboard, follow, serving
from tests.worker.harness import unique


@asynccontextmanager
async def shop_page(gateway: str) -> AsyncIterator[tuple[str, Any]]:
    """A site of its own (another port, so another origin) whose page loads the snippet;
    yields its origin and a way to set the key the page ships."""
    site = FastAPI()
    shipped = {"key": ""}

    @site.get("/")
    def home() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><title>Shop</title>"
            f'<script src="{gateway}/sdk/journeys.js" data-key="{shipped["key"]}"></script>'
        )

    async with serving(site) as origin:
        yield origin, shipped


FIRE = """([trigger, options]) => Journeys.fire(trigger, options).then(
    (answer) => ({answer}),
    (error) => ({status: error.status || null, detail: error.answer ? error.answer.detail : String(error)}))"""


async def fire(page: Page, trigger: str, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(FIRE, [trigger, options])
    return result


async def test_a_page_on_another_origin_starts_a_journey(dashboard: Dashboard, page: Page) -> None:
    async with shop_page(dashboard.url) as (shop, shipped):
        shipped["key"] = await web_journey(dashboard.http, shop)
        await page.goto(shop)
        # Unique: the Temporal server is the test session's, shared with other tests' runs.
        email = f"{unique('ada')}@example.com"
        fired = await fire(page, "whitepaper.downloaded", email=email, attributes={"paper": "q3"})
        assert "answer" in fired, fired
        assert fired["answer"]["trigger"] == "whitepaper.downloaded", fired
        assert fired["answer"]["duplicate"] is False

        async def started() -> bool:
            run = await dashboard.http.get(f"/v1/journeys/white-paper/instances/{email}")
            return run.status_code == 200

        await eventually(started)

        # What the key does not name, the page is told, with the reason.
        unnamed = await fire(page, "order.placed", email=email)
        assert unnamed == {"status": 403, "detail": "this key may not fire order.placed"}

        # A flood from one visitor: the first few go through, the rest are refused.
        flood = await page.evaluate(
            """(prefix) => Promise.all(Array.from({length: 20}, (_, i) =>
                Journeys.fire("whitepaper.downloaded",
                              {contactId: prefix + i, attributes: {paper: "q3"}})
                  .then(() => 202, (error) => error.status)))""",
            unique("flood"),
        )
        assert 202 in flood and 429 in flood, flood
        assert set(flood) == {202, 429}


async def test_a_page_on_an_origin_the_key_does_not_name_is_refused(
    dashboard: Dashboard, page: Page
) -> None:
    async with shop_page(dashboard.url) as (shop, shipped):
        shipped["key"] = await web_journey(dashboard.http, "https://shop.example")
        await page.goto(shop)
        refused = await fire(
            page, "whitepaper.downloaded", email="eve@example.com", attributes={"paper": "q3"}
        )
        # CORS keeps every answer from the page: it sees a failed fetch, nothing more.
        assert refused["status"] is None and "Failed to fetch" in refused["detail"], refused
    contact = await dashboard.http.get("/v1/contacts/eve@example.com")
    assert contact.status_code == httpx.codes.NOT_FOUND


async def test_the_trigger_page_shows_the_snippet_of_each_key_naming_it(
    dashboard: Dashboard, page: Page
) -> None:
    key = await web_journey(dashboard.http, "https://shop.example")
    await dashboard.sign_in(page)
    await follow(page, "nav >> text=Triggers")
    assert await page.locator("tr[data-trigger='contact.created'] td").nth(1).inner_text() == (
        "business"
    )
    await follow(page, "text=whitepaper.downloaded")
    snippet = page.locator("#snippet [data-key-name='website']")
    assert "https://shop.example" in await snippet.locator("p").inner_text()
    code = await snippet.locator("pre").inner_text()
    assert f'/sdk/journeys.js" data-key="{key}"></script>' in code
    assert 'Journeys.fire("whitepaper.downloaded", {' in code
    assert 'attributes: {paper: "..."}' in code

    # Built-in triggers are never fired from a page: no snippet there.
    await page.goto(f"{dashboard.url}/ui/triggers/contact.created")
    assert await page.locator("h1 .name").inner_text() == "contact.created"
    assert await page.locator("#snippet").count() == 0
    await page.goto(f"{dashboard.url}/ui/triggers/no.such")
    assert await page.locator("h1").inner_text() == "Not found"
