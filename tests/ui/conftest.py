"""The dashboard over real HTTP (uvicorn on a loopback port) and a real headless Chromium."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from tests.api.stack import ADMIN, Stack, api_stack
from tests.sinks import HttpSink, SmtpSink, eventually

CHROMIUM = "/usr/bin/chromium"  # Debian's: tests never download a browser
ADMIN_KEY = ADMIN["Authorization"].removeprefix("Bearer ")


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app whose lifespan already runs, on a free loopback port, in this event loop
    (its Temporal client and the worker live here too); yields the base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        await eventually(lambda: server.started or task.done())
        assert server.started, task.exception() if task.done() else "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()


async def follow(page: Page, selector: str) -> None:
    """Click something that loads a new page, and wait until that page has loaded."""
    async with page.expect_navigation():
        await page.click(selector)


@dataclass
class Dashboard:
    stack: Stack
    url: str  # the API and dashboard, over real HTTP
    http: httpx.AsyncClient  # an API client over that same HTTP, with the admin key

    async def sign_in(self, page: Page, key: str = ADMIN_KEY) -> None:
        """Sign in through the form, as a person would."""
        await page.goto(f"{self.url}/ui")
        await page.fill("#api_key", key)
        await follow(page, "button[type=submit]")


@pytest.fixture
async def dashboard(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> AsyncIterator[Dashboard]:
    async with (
        api_stack(temporal_env, tmp_path, smtp_sink, http_sink) as stack,
        serving(stack.app) as url,
        httpx.AsyncClient(base_url=url, headers=ADMIN) as http,
    ):
        yield Dashboard(stack, url, http)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) at the dashboard's target size."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    yield page
    await context.close()
