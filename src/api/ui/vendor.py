"""The editor's browser parts (htmx, CodeMirror), shipped inside the package: nothing is
loaded from a CDN. static/vendor/README.md says which and why; vendor.json lists each file."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import PurePosixPath

VENDOR = files("api.ui").joinpath("static", "vendor")
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


@cache
def manifest() -> dict[str, dict[str, str]]:
    """Vendored file (relative to static/vendor/) -> its npm package, version and sha256."""
    listed: dict[str, dict[str, str]] = json.loads(VENDOR.joinpath("vendor.json").read_text())
    return listed


def vendored(name: str) -> tuple[bytes, str] | None:
    """A vendored file's bytes and media type; None for a name the manifest does not list
    (which is also why no path outside static/vendor/ can be asked for)."""
    if name not in manifest():
        return None
    path = PurePosixPath(name)
    content = VENDOR.joinpath(*path.parts).read_bytes()
    return content, MEDIA_TYPES.get(path.suffix, "text/plain; charset=utf-8")
