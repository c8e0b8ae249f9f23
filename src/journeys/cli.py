"""The `journeys` command: run the product, check and publish definitions."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from journeys.settings import Settings

app = typer.Typer(
    help="Journeys: trigger-based customer journeys on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Paths = Annotated[list[Path], typer.Argument(help="Definition files or folders (YAML or JSON).")]


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags that were given on top."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def validate(paths: Paths) -> None:
    """Check definition files offline; list every problem (file, path, message)."""
    from journeys.definitions.documents import load_bundle

    bundle = load_bundle(paths)
    for problem in bundle.problems:
        typer.echo(str(problem), err=True)
    if not bundle.ok:
        raise typer.Exit(1)
    typer.echo(f"ok: {len(bundle.triggers)} triggers, {len(bundle.journeys)} journeys")


@app.command("apply")
def apply_command(
    paths: Paths,
    url: Annotated[
        str | None, typer.Option(envvar="JOURNEYS_URL", help="The API's address.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="An admin key (default: JOURNEYS_API_KEY).")
    ] = None,
) -> None:
    """Validate definition files against a running API, then publish them."""
    from journeys.apply import ApiClient, ApiError, apply

    settings = _settings()
    key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    try:
        with ApiClient(url or settings.public_url, key) as client:
            report = apply(paths, client)
    except ApiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    for line in report.lines:
        typer.echo(line)
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    if not report.ok:
        typer.echo(
            "nothing was applied" if not report.lines else "stopped at the first refusal", err=True
        )
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    from journeys.store.db import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.resolved_database_url)
    typer.echo("database schema is up to date")


@app.command()
def api(
    host: Annotated[
        str | None, typer.Option(help="Default: JOURNEYS_API_HOST or 127.0.0.1.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Default: JOURNEYS_API_PORT or 8000.")] = None,
) -> None:
    """Run the HTTP gateway (configured from the environment)."""
    import uvicorn

    from api.app import create_app

    settings = _settings(api_host=host, api_port=port)
    _logging(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level,
        proxy_headers=True,
    )


@app.command()
def worker() -> None:
    """Run a Temporal worker for journeys (configured from the environment)."""
    from worker.main import run_worker

    settings = _settings()
    _logging(settings)
    asyncio.run(run_worker(settings))


@app.command()
def dev(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where everything is kept (.journeys).")
    ] = None,
    api_port: Annotated[int | None, typer.Option(help="API port (8000).")] = None,
    temporal_port: Annotated[int | None, typer.Option(help="Temporal gRPC port (7233).")] = None,
    ui_port: Annotated[int | None, typer.Option(help="Temporal Web UI port (8233).")] = None,
    smtp_host: Annotated[
        str | None, typer.Option(help="A real SMTP server (default: capture).")
    ] = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="Its port, or the capture sink's (1025).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="The admin key (default: made and kept).")
    ] = None,
    workflows: Annotated[
        Path | None, typer.Option(help="Definitions applied at start (workflows).")
    ] = None,
) -> None:
    """The whole product on this machine, in the foreground."""
    from journeys.dev.stack import DevStack

    settings = _settings(
        data_dir=data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        api_key=api_key,
        workflows=workflows,
    )
    raise typer.Exit(DevStack(settings, say=typer.echo).run())
