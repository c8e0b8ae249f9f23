"""Personalization: `{{ contact.* }}`, `{{ trigger.* }}` and `{{ journey.* }}` in messages.

Templates run in Jinja2's immutable sandbox: authors cannot reach Python objects,
HTML is auto-escaped (an attribute such as `<script>` is shown, never run), and
a missing value renders empty.

The sandbox guards Python, not resources: `{{ 'a' * 10**9 }}` or a filter asked for a
width of a billion would take a gigabyte, and Jinja even computes constant expressions
while *checking* a template. So sizes are checked before anything is built (operators,
the methods and filters that pad or repeat, `range`), loops share a budget per render,
and an output past MAX_OUTPUT stops the render. Every failure to render is one error,
TemplateRenderError, which says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ROOT_ORDER = ("contact", "trigger", "event", "response", "journey")
MESSAGE_ROOTS = frozenset({"contact", "trigger", "journey"})
# A webhook body may also carry the last awaited event and the last webhook's answer.
WEBHOOK_ROOTS = MESSAGE_ROOTS | {"event", "response"}

MAX_OUTPUT = 1_000_000  # characters: the gateway's body limit; no message needs more
MAX_WIDTH = 10_000  # a width, padding or repeat count: far past any layout
MAX_LOOP_ITEMS = 100_000  # items of `range` per render, all loops together
MAX_EXPONENT = 64
_WIDE_FORMAT = re.compile(r"\d{5,}")  # a %-format or format() width of 10,000 or more


class TemplateRenderError(TemplateError):
    """A template could not be rendered: the sandbox refused it, or a value did not fit."""


_loop_budget: ContextVar[list[int]] = ContextVar("loop_budget")


def _too_big(size: int) -> None:
    if size > MAX_OUTPUT:
        raise SecurityError(f"the result would be {size:,} long; at most {MAX_OUTPUT:,}")


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


class _Sandbox(ImmutableSandboxedEnvironment):
    # Intercepted operators go through call_binop at render time; Jinja also stops
    # computing them ahead of time when it compiles (or checks) a template.
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=ChainableUndefined)
        self.globals = {
            "range": _budgeted_range,
            "dict": dict,
            "namespace": self.globals["namespace"],
        }
        for name, limit in _WIDTH_ARGUMENTS.items():
            self.filters[name] = _width_checked(FILTERS[name], limit)
        self.filters["format"] = _format_checked(FILTERS["format"])
        self.filters["replace"] = _replace_checked(FILTERS["replace"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            count = right if _sized(left) else left
            if isinstance(count, int):
                _too_big((_sized(left) or _sized(right)) * count)
        elif operator == "+":
            _too_big(_sized(left) + _sized(right))
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent of at most {MAX_EXPONENT}")
        elif operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise SecurityError(f"a format width of at most {MAX_WIDTH:,}")
        return super().call_binop(context, operator, left, right)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if any(isinstance(a, int) and a > MAX_WIDTH for a in [*args, *kwargs.values()]):
                raise SecurityError(f"a width or count of at most {MAX_WIDTH:,}")
            if any(isinstance(a, str) and _WIDE_FORMAT.search(a) for a in [owner, *args]):
                raise SecurityError(f"a format width of at most {MAX_WIDTH:,}")
        return super().call(__context, __obj, *args, **kwargs)


def _budgeted_range(*args: int) -> range:
    """`range` drawing on the render's loop budget: nested loops cannot multiply it."""
    items = range(*args)
    budget = _loop_budget.get([MAX_LOOP_ITEMS])
    budget[0] -= len(items)
    if budget[0] < 0:
        raise SecurityError(f"loops over more than {MAX_LOOP_ITEMS:,} items in all")
    return items


# Filters whose numeric argument sets the size of what they build.
_WIDTH_ARGUMENTS = {"center": MAX_WIDTH, "indent": MAX_WIDTH, "truncate": MAX_OUTPUT}


def _width_checked(original: Callable[..., Any], limit: int) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, int) and a > limit for a in [*args[1:], *kwargs.values()]):
            raise SecurityError(f"a width of at most {limit:,}")
        return original(*args, **kwargs)

    return checked


def _format_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and _WIDE_FORMAT.search(value):
            raise SecurityError(f"a format width of at most {MAX_WIDTH:,}")
        return original(value, *args, **kwargs)

    return checked


def _replace_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        text = str(value)
        times = text.count(str(old)) if old != "" else len(text) + 1
        _too_big(len(text) + times * max(len(str(new)) - len(str(old)), 0))
        return original(eval_ctx, value, old, new, count)

    checked.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return checked


_HTML = _Sandbox(autoescape=True)
_TEXT = _Sandbox(autoescape=False)
# No loader: a template stands alone.
_STANDALONE = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def template_problems(source: str, roots: frozenset[str] = MESSAGE_ROOTS) -> list[str]:
    """What is wrong with a template, checked without rendering it."""
    try:
        parsed = _TEXT.parse(source)
    except TemplateSyntaxError as error:
        return [f"template error on line {error.lineno}: {error.message}"]
    if any(True for _ in parsed.find_all(_STANDALONE)):
        return ["a template cannot include, import or extend another"]
    unknown = sorted(meta.find_undeclared_variables(parsed) - roots)
    names = [f"{root}.*" for root in _ROOT_ORDER if root in roots]
    allowed = ", ".join(names[:-1]) + f" or {names[-1]}"
    return [f"unknown variable {name!r}: use {allowed}" for name in unknown]


@lru_cache(maxsize=1024)
def _compile(source: str, html: bool) -> Any:
    try:
        return (_HTML if html else _TEXT).from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateRenderError(
            f"template error on line {error.lineno}: {error.message}"
        ) from None


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render with the context's roots (contact, trigger, journey, ...); a missing one is
    empty. Raises TemplateRenderError when it cannot, saying why."""
    values = {root: context.get(root, {}) for root in _ROOT_ORDER}
    budget = _loop_budget.set([MAX_LOOP_ITEMS])
    try:
        return _bounded(_compile(source, html).generate(**values))
    except TemplateRenderError:
        raise
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise TemplateRenderError(f"cannot render the template: {error}") from None
    finally:
        _loop_budget.reset(budget)


def _bounded(chunks: Iterator[str]) -> str:
    out, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateRenderError(
                f"the template renders to more than {MAX_OUTPUT:,} characters"
            )
        out.append(chunk)
    return "".join(out)


def render_json(value: Any, context: Mapping[str, Any]) -> Any:
    """A JSON value with every text in it rendered as a (non-HTML) template."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {key: render_json(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_json(item, context) for item in value]
    return value
