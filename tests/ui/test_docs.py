"""The API docs in a real headless Chromium, with every other origin cut off as on an
air-gapped install: Swagger UI (`/docs`) and ReDoc (`/redoc`) list every operation (their
scripts ran, under the pages' policy), and the pages asked no other origin for anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, Route

from api.app import create_app
from journeys.settings import Settings
from tests.ui.conftest import serving

APP = create_app(Settings(database_url="sqlite://"))  # the docs need no store, no Temporal
OPERATIONS = {
    (method.upper(), path) for path, methods in APP.openapi()["paths"].items() for method in methods
}


@pytest.fixture
async def docs() -> AsyncIterator[str]:
    async with serving(APP) as url:
        yield url


async def offline(page: Page, origin: str) -> list[str]:
    """Cut the page off from every other origin; the list fills with what it asked there."""
    elsewhere: list[str] = []

    async def gate(route: Route) -> None:
        url = route.request.url
        if url.startswith(f"{origin}/") or url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            elsewhere.append(url)
            await route.abort("internetdisconnected")

    await page.route("**/*", gate)
    return elsewhere


async def test_swagger_ui_lists_every_operation_offline(docs: str, page: Page) -> None:
    elsewhere = await offline(page, docs)
    await page.goto(f"{docs}/docs")
    listed = page.locator(".opblock")
    await listed.first.wait_for()
    shown = set()
    for index in range(await listed.count()):
        block = listed.nth(index)
        method = await block.locator(".opblock-summary-method").inner_text()
        path = await block.locator(".opblock-summary-path").get_attribute("data-path")
        shown.add((method.strip().upper(), path))
    assert shown == OPERATIONS
    assert elsewhere == []


async def test_redoc_lists_every_operation_offline(docs: str, page: Page) -> None:
    elsewhere = await offline(page, docs)
    await page.goto(f"{docs}/redoc")
    listed = page.locator("[data-section-id^='operation/']")
    await listed.first.wait_for(state="attached")
    assert await listed.count() == len(OPERATIONS)
    assert await page.get_by_text("/v1/journeys/{journey_id}/simulate").count() > 0
    assert elsewhere == []
