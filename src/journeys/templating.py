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

ROOTS = frozenset({"contact", "trigger", "journey"})

_HTML = ImmutableSandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)
_TEXT = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)


def template_problems(source: str) -> list[str]:
    """What is wrong with a template, checked without rendering it."""
    try:
        parsed = _TEXT.parse(source)
    except TemplateSyntaxError as error:
        return [f"template error on line {error.lineno}: {error.message}"]
    unknown = sorted(meta.find_undeclared_variables(parsed) - ROOTS)
    return [f"unknown variable {name!r}: use contact.*, trigger.* or journey.*" for name in unknown]


@lru_cache(maxsize=1024)
def _compile(source: str, html: bool) -> Any:
    return (_HTML if html else _TEXT).from_string(source)


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    return str(_compile(source, html).render(**{root: context.get(root, {}) for root in ROOTS}))
