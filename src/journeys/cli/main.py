"""The `journeys` command: run the product, check and publish definitions."""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from journeys.settings import DEV_SIGNING_SECRET, Settings, guessable, public_url_warning

app = typer.Typer(
    help="Journeys: trigger-based customer journeys on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins a paragraph's lines: a docstring's line breaks are not the terminal's.
    rich_markup_mode="markdown",
)

Paths = Annotated[list[Path], typer.Argument(help="Definition files or folders (YAML or JSON).")]
Url = Annotated[str | None, typer.Option(envvar="JOURNEYS_URL", help="The API's address.")]
AdminKey = Annotated[str | None, typer.Option(help="An admin key (default: JOURNEYS_API_KEY).")]


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags that were given on top."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})


def _service_settings(**overrides: Any) -> Settings:
    """Settings for a long-running service, which must not sign with the well-known secret:
    anyone could forge its tracking, unsubscribe and dashboard links."""
    settings = _settings(**overrides)
    if settings.signing_secret.get_secret_value() == DEV_SIGNING_SECRET:
        typer.echo(
            "JOURNEYS_SIGNING_SECRET is not set: set it to a long random value shared by the "
            "API and the workers (`journeys dev` makes and keeps one for you).",
            err=True,
        )
        raise typer.Exit(2)
    weak = [
        f"{name} is too easy to guess: {why}; use `openssl rand -hex 32`"
        for name, secret in [
            ("JOURNEYS_SIGNING_SECRET", settings.signing_secret),
            ("JOURNEYS_API_KEY", settings.api_key),
        ]
        if secret is not None and (why := guessable(secret.get_secret_value()))
    ]
    if weak:
        typer.echo("\n".join(weak), err=True)
        raise typer.Exit(2)
    return settings


def _logging(settings: Settings, service: str | None = None) -> None:
    """Logging for a command; a long-running `service` also traces, if configured."""
    from journeys.observability.logs import configure_logging
    from journeys.observability.tracing import configure_tracing

    configure_logging(settings.log_level)
    if service is not None:
        configure_tracing(service)


def counted(number: int, noun: str) -> str:
    """`1 journey`, `2 journeys`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _warn_at_start(settings: Settings) -> None:
    """What a service says once as it starts, however many processes it then runs."""
    if (warning := public_url_warning(settings)) is not None:
        logging.getLogger("journeys.cli").warning(warning)


def _bundle(paths: list[Path]) -> Any:
    """Definitions as every command reads them (a file alone sees the triggers beside it),
    with their problems reported; stops if there are any."""
    from journeys.definitions.documents import load_beside

    bundle = load_beside(paths)
    for problem in bundle.problems:
        typer.echo(str(problem), err=True)
    if not bundle.ok:
        if bundle.beside:
            folders = ", ".join(f"{folder}/" for folder in bundle.beside)
            typer.echo(
                f"(triggers are looked for among the built-in ones, in the files given and in "
                f"the files beside them: {folders})",
                err=True,
            )
        raise typer.Exit(1)
    return bundle


@app.command()
def validate(paths: Paths) -> None:
    """Check definition files offline; list every problem (file, path, message). A file
    given alone may use the triggers defined in the files beside it."""
    bundle = _bundle(paths)
    triggers, journeys = (
        counted(len(bundle.triggers), "trigger"),
        counted(len(bundle.journeys), "journey"),
    )
    typer.echo(f"ok: {triggers}, {journeys}")


@app.command("apply")
def apply_command(
    paths: Paths,
    url: Url = None,
    api_key: AdminKey = None,
    prune: Annotated[bool, typer.Option(help="Stop journeys whose files are gone.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the plan; change nothing.")] = False,
) -> None:
    """Validate definition files against a running API, print the plan, then publish them.

    Idempotent: an unchanged file makes no new version. Plan lines: + create, ~ change,
    = unchanged, - stop."""
    from journeys.cli.apply import ApiError, apply

    try:
        with _api(url, api_key) as client:
            report = apply(paths, client, prune=prune, dry_run=dry_run)
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


def _api(url: str | None, api_key: str | None) -> Any:
    from journeys.cli.apply import ApiClient

    settings = _settings()
    key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    return ApiClient(url or settings.public_url, key)


def _call(url: str | None, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    from journeys.cli.apply import ApiError

    try:
        with _api(url, api_key) as client:
            return client.call(method, path, **kwargs)
    except ApiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def _journey(file: Path, journey_id: str | None) -> Any:
    """The one journey in a file (or the one named), checked as `validate` checks it; with
    the trigger catalog it was checked against."""
    bundle = _bundle([file])
    found = [j for j in bundle.journeys if journey_id in (None, j.id)]
    if len(found) != 1:
        names = ", ".join(j.id for j in bundle.journeys) or "none"
        typer.echo(f"name one journey with --journey (in {file}: {names})", err=True)
        raise typer.Exit(1)
    return found[0], bundle.catalog


@app.command()
def graph(
    file: Annotated[Path, typer.Argument(help="A definition file with a journey.")],
    journey: Annotated[str | None, typer.Option(help="Which journey, if several.")] = None,
    format: Annotated[str, typer.Option(help="mermaid, svg or html.")] = "mermaid",
) -> None:
    """Print a journey's graph: Mermaid text (paste it in Markdown), SVG or HTML."""
    from journeys.authoring import graph as graphs

    render = {"mermaid": graphs.mermaid, "svg": graphs.svg, "html": graphs.html_page}.get(format)
    if render is None:
        typer.echo("--format is mermaid, svg or html", err=True)
        raise typer.Exit(2)
    typer.echo(render(_journey(file, journey)[0]), nl=False)


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="A definition file with a journey.")],
    contact: Annotated[Path | None, typer.Option(help="YAML: the contact's fields.")] = None,
    events: Annotated[
        Path | None, typer.Option(help="YAML: a list of `+2h email.opened of welcome` lines.")
    ] = None,
    attributes: Annotated[
        Path | None, typer.Option(help="YAML: the start trigger's attributes.")
    ] = None,
    journey: Annotated[str | None, typer.Option(help="Which journey, if several.")] = None,
    version: Annotated[int, typer.Option(help="The version templates see as journey.version.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="The full result as JSON.")] = False,
) -> None:
    """Run a journey on a virtual clock with a contact and a script of events: the path, each
    message rendered, each wait and decision, in time order. Nothing is sent; Temporal is not
    used."""
    import yaml
    from pydantic import ValidationError

    from journeys.authoring.simulate import (
        Decision,
        Simulation,
        blocked_because,
        script_problems,
    )
    from journeys.authoring.simulate import simulate as run_simulation
    from journeys.kit.problems import problems_from_validation_error

    def read(path: Path | None, default: Any) -> Any:
        return yaml.safe_load(path.read_text()) if path else default

    definition, catalog = _journey(file, journey)
    try:
        simulation = Simulation.model_validate(
            {
                "contact": read(contact, {}),
                "events": read(events, []),
                "attributes": read(attributes, {}),
            }
        )
        problems = script_problems(definition, simulation, catalog)
    except ValidationError as error:
        problems = problems_from_validation_error(error)
    sources = {"contact": contact, "events": events, "attributes": attributes}
    for problem in problems:
        # Each part comes from its own file: say where in that file.
        head = re.split(r"[.\[]", problem.path, maxsplit=1)[0]
        if (source := sources.get(head)) is not None:
            inner = problem.path.removeprefix(head).removeprefix(".")
            problem = problem.model_copy(update={"file": str(source), "path": inner})
        typer.echo(str(problem), err=True)
    if problems:
        raise typer.Exit(1)
    result = run_simulation(definition, simulation, version=version)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(
        f"journey {definition.id}, version {version}, "
        f"from {simulation.start_at:%a %d %b %Y %H:%M %Z}"
    )
    for line in result.timeline:
        step = line.step or "-"
        if isinstance(line, Decision):
            detail = f": {line.detail}" if line.detail else ""
            typer.echo(f"{line.at:%a %d %b %H:%M}  {step:<16} {line.what}{detail}")
            continue
        said = (line.subject or line.text or "") if line.status == "sent" else blocked_because(line)
        typer.echo(f"{line.at:%a %d %b %H:%M}  {step:<16} {line.channel} {line.status}: {said}")
    typer.echo(f"outcome: {result.outcome}" + (f" ({result.reason})" if result.reason else ""))
    typer.echo(f"path: {' -> '.join(result.path)}")


@app.command()
def reference(
    write: Annotated[
        Path | None, typer.Option(help="Replace the reference between its markers in this file.")
    ] = None,
) -> None:
    """Print the definition language's reference, generated from the models."""
    from journeys.authoring.reference import END, START, markdown

    text = markdown()
    if write is None:
        typer.echo(text, nl=False)
        return
    document = write.read_text()
    before, found, rest = document.partition(START)
    _, found_end, after = rest.partition(END)
    if not (found and found_end):
        typer.echo(f"{write} has no reference markers", err=True)
        raise typer.Exit(1)
    write.write_text(before + text.rstrip("\n") + after)
    typer.echo(f"reference written to {write}")


keys = typer.Typer(
    help="API keys, through a running API (needs an admin key).", no_args_is_help=True
)
app.add_typer(keys, name="keys")


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. the producer's name.")],
    scope: Annotated[
        list[str], typer.Option(help="events:write, contacts:write or admin; repeatable.")
    ],
    signed: Annotated[bool, typer.Option(help="Authenticate signed requests only.")] = False,
    rate_limit: Annotated[float | None, typer.Option(help="Requests a second.")] = None,
    url: Url = None,
    api_key: AdminKey = None,
) -> None:
    """Create a key; its secret is printed this once."""
    body = {"name": name, "scopes": scope, "signed": signed, "rate_limit": rate_limit}
    created = _call(url, api_key, "POST", "/v1/api-keys", json=body)
    if "problems" in created:
        for problem in created["problems"]:
            typer.echo(f"{problem['path']}: {problem['message']}", err=True)
        raise typer.Exit(1)
    typer.echo(f"id      {created['id']}")
    if signed:
        typer.echo(f"signing secret (shown once): {created['signing_secret']}")
    else:
        typer.echo(f"secret (shown once): {created['secret']}")


@keys.command("list")
def list_keys(url: Url = None, api_key: AdminKey = None) -> None:
    """Every key, without its secret; and the bootstrap key, which is not stored."""
    stored = _call(url, api_key, "GET", "/v1/api-keys")
    for key in stored:
        state = "revoked" if key["revoked_at"] else "active"
        kind = " signed" if key["signed"] else ""
        typer.echo(f"{key['id']}  {state}{kind}  {','.join(key['scopes'])}  {key['name']}")
    bootstrap = "the deployment's JOURNEYS_API_KEY (in its settings, not stored)"
    if not any("admin" in key["scopes"] and not key["revoked_at"] for key in stored):
        # No stored key could have listed these: the one used is the bootstrap key.
        typer.echo(f"bootstrap  active  admin  {bootstrap}")
    else:
        typer.echo(f"(not listed: {bootstrap}, if it is set)", err=True)


@keys.command("revoke")
def revoke_key(key_id: str, url: Url = None, api_key: AdminKey = None) -> None:
    """Revoke a key at once."""
    _call(url, api_key, "DELETE", f"/v1/api-keys/{key_id}")
    typer.echo(f"revoked {key_id}")


instances = typer.Typer(
    help="Runs of a journey, through a running API (needs an admin key).", no_args_is_help=True
)
app.add_typer(instances, name="instances")


@instances.command("stop")
def stop_instance(
    journey: Annotated[str, typer.Argument(help="The journey's id.")],
    contact: Annotated[str, typer.Argument(help="The contact's id.")],
    binding: Annotated[
        str | None, typer.Option(help="Only the run of this binding (a journey per binding).")
    ] = None,
    url: Url = None,
    api_key: AdminKey = None,
) -> None:
    """Take one contact out of one journey: its runs end at once, with the reason `removed`."""
    params = {"binding_id": binding} if binding else {}
    path = f"/v1/journeys/{journey}/instances/{contact}/stop"
    removed = _call(url, api_key, "POST", path, params=params)
    typer.echo(f"{counted(removed['runs_stopping'], 'run')} of {journey} stopping for {contact}")


@app.command("ui-link")
def ui_link(url: Url = None, api_key: AdminKey = None) -> None:
    """Print a link that signs a browser in to the dashboard (/ui) as this admin key; it
    works for two minutes."""
    link = _call(url, api_key, "POST", "/ui/login-links")
    typer.echo(link["url"])
    typer.echo(f"(valid for {link['expires_in']} s)", err=True)


@app.command("webhook-secret")
def webhook_secret() -> None:
    """Print the secret `webhook` steps sign their calls with (X-Journeys-Signature), for
    their receivers: derived from JOURNEYS_SIGNING_SECRET, and unable to sign as the SMS and
    push providers' calls are."""
    from journeys.kit.signing import webhook_step_secret

    typer.echo(webhook_step_secret(_service_settings().signing_secret.get_secret_value()))


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
    """Run the HTTP gateway (configured from the environment), in JOURNEYS_API_PROCESSES
    processes."""
    import uvicorn

    from api.metrics import shared_between_processes

    settings = _service_settings(api_host=host, api_port=port)
    _logging(settings)
    _warn_at_start(settings)
    with shared_between_processes() if settings.api_processes > 1 else nullcontext():
        uvicorn.run(
            # By name: each process builds its own app (and logging), as uvicorn's workers do.
            "api.main:serve_app",
            factory=True,
            workers=settings.api_processes,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level,
            log_config=None,  # ours: one format, contact data masked
            # Access lines carry paths such as /v1/contacts/<id>: only when debugging.
            access_log=settings.log_level.lower() == "debug",
            proxy_headers=True,
        )


@app.command()
def worker() -> None:
    """Run a Temporal worker for journeys (configured from the environment)."""
    from worker.main import run_worker

    settings = _service_settings()
    _logging(settings, "journeys-worker")
    _warn_at_start(settings)
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
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes, all polling the task queue (1).")
    ] = 1,
) -> None:
    """The whole product on this machine, in the foreground."""
    from journeys.cli.dev.stack import DevStack

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
    raise typer.Exit(DevStack(settings, say=typer.echo, workers=workers).run())
