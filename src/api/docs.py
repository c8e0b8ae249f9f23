"""The API docs, Swagger UI at /docs and ReDoc at /redoc, with their scripts and styles from
the installed fastapi-offline package instead of a CDN, so they work on an air-gapped
install; a policy keeps them from loading anything from elsewhere (ReDoc's sidebar asks
Redocly's CDN for a logo)."""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from collections.abc import Awaitable, Callable
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def serve_docs(app: FastAPI) -> None:
    """For an app made with `docs_url=None, redoc_url=None`."""
    assert app.openapi_url is not None
    app.mount(
        ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets"
    )
    swagger = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
    )
    redoc = get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    app.add_api_route("/docs", _page(swagger), include_in_schema=False)
    app.add_api_route("/redoc", _page(redoc), include_in_schema=False)


def _page(html: HTMLResponse) -> Callable[[], Awaitable[HTMLResponse]]:
    body = bytes(html.body)
    # The page's own inline script runs by its hash; no other inline script does.
    inline = re.findall(rb"<script>(.*?)</script>", body, re.DOTALL)
    hashes = "".join(f" 'sha256-{b64encode(hashlib.sha256(s).digest()).decode()}'" for s in inline)
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
    }

    async def page() -> HTMLResponse:
        return HTMLResponse(body, headers=headers)

    return page
