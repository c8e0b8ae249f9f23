"""The dashboard's Jinja environment: sandboxed, and escaping every value it prints.

Journey names, contact ids, reasons and step ids come from users and producers; a
template can only print them escaped, and cannot reach into Python objects it is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment


def when(moment: datetime | None) -> str:
    """A timestamp as the dashboard shows it: UTC, to the minute."""
    if moment is None:
        return "\N{EN DASH}"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def share(part: int, whole: int) -> str:
    """`part` as a rounded percentage of `whole`, or a dash when there is no whole."""
    return f"{round(100 * part / whole)}%" if whole else "\N{EN DASH}"


@pass_context
def path_for(context: Context, name: str, /, **params: Any) -> str:
    """The path of a named route (`ui_journey`, ...), with its parameters filled in."""
    return str(context["request"].app.url_path_for(name, **params))


def _environment() -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        loader=PackageLoader("api.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the render, not the page silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = when
    environment.globals["share"] = share
    environment.globals["path_for"] = path_for
    return environment


templates = Jinja2Templates(env=_environment())

STYLESHEET = files("api.ui").joinpath("static", "dashboard.css")
