"""Personalization: `{{ contact.* }}`, `{{ trigger.* }}` and `{{ journey.* }}` in messages.

Templates run in Jinja2's immutable sandbox: authors cannot reach Python objects,
HTML is auto-escaped (an attribute such as `<script>` is shown, never run), and
a missing value renders empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ROOT_ORDER = ("contact", "trigger", "event", "response", "journey")
MESSAGE_ROOTS = frozenset({"contact", "trigger", "journey"})
# A webhook body may also carry the last awaited event and the last webhook's answer.
WEBHOOK_ROOTS = MESSAGE_ROOTS | {"event", "response"}

_HTML = ImmutableSandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)
_TEXT = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)


def template_problems(source: str, roots: frozenset[str] = MESSAGE_ROOTS) -> list[str]:
    """What is wrong with a template, checked without rendering it."""
    try:
        parsed = _TEXT.parse(source)
    except TemplateSyntaxError as error:
        return [f"template error on line {error.lineno}: {error.message}"]
    unknown = sorted(meta.find_undeclared_variables(parsed) - roots)
    names = [f"{root}.*" for root in _ROOT_ORDER if root in roots]
    allowed = ", ".join(names[:-1]) + f" or {names[-1]}"
    return [f"unknown variable {name!r}: use {allowed}" for name in unknown]


@lru_cache(maxsize=1024)
def _compile(source: str, html: bool) -> Any:
    return (_HTML if html else _TEXT).from_string(source)


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render with the context's roots (contact, trigger, journey, ...); a missing one is empty."""
    values = {root: context.get(root, {}) for root in _ROOT_ORDER}
    return str(_compile(source, html).render(**values))


def render_json(value: Any, context: Mapping[str, Any]) -> Any:
    """A JSON value with every text in it rendered as a (non-HTML) template."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {key: render_json(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_json(item, context) for item in value]
    return value
