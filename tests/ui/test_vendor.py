"""The editor's vendored browser parts: each file is the one its manifest names (by sha256),
each package ships its license, and the dashboard serves them with their media types."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.ui.vendor import manifest
from journeys.settings import Settings
from journeys.store.db import migrate

VENDOR = Path(__file__).parents[2] / "src" / "api" / "ui" / "static" / "vendor"
ABOUT = {"README.md", "vendor.json"}  # the folder's own files, not vendored ones


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process; Temporal is never reached (its client connects lazily)."""
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    app = create_app(Settings(database_url=url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client,
    ):
        yield client


def test_every_vendored_file_is_the_one_its_manifest_names() -> None:
    on_disk = {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name not in ABOUT
    }
    assert on_disk == set(manifest())
    for name, entry in manifest().items():
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{name} is not {entry['package']} {entry['version']}"


def test_every_vendored_package_ships_its_license() -> None:
    packages = {entry["package"] for entry in manifest().values()}
    licensed = {entry["package"] for name, entry in manifest().items() if name.endswith("/LICENSE")}
    assert packages == licensed == {"htmx.org", "codemirror"}
    assert all(entry["version"] for entry in manifest().values())
    assert {
        e["version"].split(".")[0] for e in manifest().values() if e["package"] == "htmx.org"
    } == {"2"}


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("htmx/htmx.min.js", "text/javascript"),
        ("codemirror/codemirror.js", "text/javascript"),
        ("codemirror/mode/yaml/yaml.js", "text/javascript"),
        ("codemirror/codemirror.css", "text/css"),
        ("htmx/LICENSE", "text/plain"),
    ],
)
async def test_the_dashboard_serves_them_with_their_media_type(
    http: httpx.AsyncClient, name: str, media_type: str
) -> None:
    response = await http.get(f"/ui/static/vendor/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (VENDOR / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    ["vendor.json", "README.md", "nope.js", "..%2Fdashboard.css", "htmx%2F..%2F..%2Fvendor.py"],
)
async def test_only_what_the_manifest_lists_is_served(http: httpx.AsyncClient, name: str) -> None:
    response = await http.get(f"/ui/static/vendor/{name}")
    assert response.status_code == 404
