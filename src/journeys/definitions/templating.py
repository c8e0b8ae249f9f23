"""Personalization: `{{ contact.* }}`, `{{ trigger.* }}` and `{{ journey.* }}` in messages.

Templates run in Jinja2's immutable sandbox: authors cannot reach Python objects,
HTML is auto-escaped (an attribute such as `<script>` is shown, never run), and
a missing value renders empty.

The sandbox guards Python, not resources: `{{ 'a' * 10**9 }}`, `{{ 9**64**64 }}` or a
filter asked for a width of a billion would take a gigabyte or an hour, and Jinja even
computes constant expressions while *checking* a template. So sizes are checked before
anything is built: texts and lists from operators (`*`, `+`, `~`, `%`), the methods and
filters that pad, repeat, join, slice or batch, numbers from `*` and `**`. Each result may be
small while a loop makes thousands of them, so a render has one budget (_Budget): the items
of all its loops, and the characters of everything it builds and sizes. An output past
MAX_OUTPUT stops the render. Every
failure to render is one error, TemplateRenderError, which says why.

These bounds give a clear reason for the attacks known; `journeys.messaging.isolation`
renders in a process of its own with a hard time and memory limit, for any not foreseen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Protocol, TypeVar, cast

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from journeys.kit.isolated import Isolated, Overrun

T = TypeVar("T")

_ROOT_ORDER = ("contact", "trigger", "event", "response", "journey")
MESSAGE_ROOTS = frozenset({"contact", "trigger", "journey"})
# A webhook body may also carry the last awaited event and the last webhook's answer.
WEBHOOK_ROOTS = MESSAGE_ROOTS | {"event", "response"}

MAX_OUTPUT = 1_000_000  # characters: the gateway's body limit; no message needs more
MAX_WIDTH = 10_000  # a width, padding or repeat count: far past any layout
MAX_LOOP_ITEMS = 100_000  # items per render, all loops (and `range`) together
MAX_BUILT = 10_000_000  # characters built or sized per render, all operations together
MAX_NUMBER_BITS = 4_096  # an integer of 1,233 digits: past any price, count or id
_WIDE_FORMAT = re.compile(r"\d{5,}")  # a %-format or format() width of 10,000 or more


class TemplateRenderError(TemplateError):
    """A template could not be rendered: the sandbox refused it, or a value did not fit."""


class _Budget:
    """What one render may still do: a loop item at a time, a built text at a time."""

    def __init__(self) -> None:
        self.loop_items = MAX_LOOP_ITEMS
        self.built = MAX_BUILT

    def loop_item(self) -> None:
        self.loop_items -= 1
        if self.loop_items < 0:
            raise SecurityError(f"loops over more than {MAX_LOOP_ITEMS:,} items in all")

    def build(self, size: int) -> None:
        self.built -= size
        if self.built < 0:
            raise SecurityError(f"builds more than {MAX_BUILT:,} characters in all")


_budget: ContextVar[_Budget] = ContextVar("render_budget")


def _current_budget() -> _Budget:
    # Outside render() (Jinja folding a constant while it compiles) each result is bounded
    # on its own: there is no loop to add up.
    return _budget.get(None) or _Budget()


def _over_output(size: int) -> None:
    if size > MAX_OUTPUT:
        raise SecurityError(f"the result would be {size:,} long; at most {MAX_OUTPUT:,}")


def _too_big(size: int) -> None:
    """About to build `size` characters (or items): refused when the one result is too
    long, or when the render has built too much in all."""
    _over_output(size)
    _current_budget().build(size)


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _text_size(value: Any) -> int:
    """How long `str(value)` would be, at least, found without building it: a list made of
    one list repeated (`[[9] * 10**4] * 10**4`) is cheap to hold and a gigabyte as text. The
    walk stops, refused, once past MAX_OUTPUT."""
    size, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, dict):
            size += 2 + 4 * len(item)
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple | set | frozenset):
            size += 2 + 2 * len(item)
            pending += list(item)
        else:
            size += _bits(item) // 3 + 1  # a number's digits, or a small value's text
        _over_output(size)
    _current_budget().build(size)  # the walk is work too: sizing a list in a loop adds up
    return size


def _checked(value: Any) -> Any:
    """What an expression gives for output: sized first (Jinja's `finalize` hook); a null
    renders empty, as a missing value does, not "None"."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict | set | frozenset):
        _text_size(value)
    return value


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _too_many_bits(bits: int) -> None:
    if bits > MAX_NUMBER_BITS:
        raise SecurityError(f"a number of at most {MAX_NUMBER_BITS:,} bits")


def _formatted_size(template: str, values: Any) -> int:
    """At most how long `template % values` (or `.format`) is: each placeholder may be the
    longest of the values."""
    if isinstance(values, dict):
        values = list(values.values())
    elif not isinstance(values, tuple | list):
        values = [values]
    widest = max((_text_size(value) for value in values), default=0)
    return len(template) + (template.count("%") + template.count("{")) * widest


class _Sandbox(ImmutableSandboxedEnvironment):
    # Intercepted operators go through call_binop at render time; Jinja also stops
    # computing them ahead of time when it compiles (or checks) a template.
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    # Methods of texts that build without a size to check ahead (a table of long
    # replacements, tab stops): nothing a message needs.
    _UNSIZED_STR_METHODS = frozenset({"translate", "maketrans", "expandtabs", "format_map"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            autoescape=autoescape,
            undefined=ChainableUndefined,
            finalize=_checked,
        )
        self.globals = {
            "range": _bounded_range,
            "dict": dict,
            "namespace": self.globals["namespace"],
            _EACH: _budgeted_items,
            _JOINED: _joined,
        }
        for name, limit in _WIDTH_ARGUMENTS.items():
            self.filters[name] = _width_checked(FILTERS[name], limit)
        self.filters["format"] = _format_checked(FILTERS["format"])
        self.filters["replace"] = _replace_checked(FILTERS["replace"])
        self.filters["join"] = _join_checked(FILTERS["join"])
        # Most filters turn their value into text (string, upper, pprint, tojson, ...).
        self.filters = {name: _value_sized(f) for name, f in self.filters.items()}

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        # Jinja's documented hook between parsing and code generation: every loop and every
        # `~` goes through a check of its own (see _Bounds).
        return super()._generate(_Bounds(self).visit(source), *args, **kwargs)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in self._UNSIZED_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            count = right if _sized(left) else left
            if isinstance(count, int):
                _too_big((_sized(left) or _sized(right)) * count)
            _too_many_bits(_bits(left) + _bits(right))
        elif operator == "+":
            _too_big(_sized(left) + _sized(right))
        elif operator == "**":
            # Each exponent may be small while a chain of them is not: the result is sized.
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
                _too_many_bits(_bits(left) * right)
        elif operator == "%" and isinstance(left, str):
            if _WIDE_FORMAT.search(left):
                raise SecurityError(f"a format width of at most {MAX_WIDTH:,}")
            _too_big(_formatted_size(left, right))
        return super().call_binop(context, operator, left, right)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # The sandbox hands `str.format` out wrapped (its own formatter), the original kept
        # as `__wrapped__`.
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            if any(isinstance(a, int) and a > MAX_WIDTH for a in [*args, *kwargs.values()]):
                raise SecurityError(f"a width or count of at most {MAX_WIDTH:,}")
            if any(isinstance(a, str) and _WIDE_FORMAT.search(a) for a in [owner, *args]):
                raise SecurityError(f"a format width of at most {MAX_WIDTH:,}")
            name = getattr(method, "__name__", "")
            if name == "join" and args:
                parts = list(_budgeted_items(args[0]))
                _too_big(sum(map(_text_size, parts)) + len(owner) * len(parts))
                args = ([str(part) for part in parts], *args[1:])
            elif name == "replace" and len(args) >= 2:
                _too_big(_replaced_size(owner, str(args[0]), str(args[1])))
            elif name == "format":
                _too_big(_formatted_size(owner, [*args, *kwargs.values()]))
        return super().call(__context, __obj, *args, **kwargs)


_EACH = "_journeys_each"  # not a name authors can write: template_problems allows roots only
_JOINED = "_journeys_joined"


class _Bounds(NodeTransformer):
    """`for x in items` becomes `for x in _journeys_each(items)`, and `a ~ b`
    `_journeys_joined(a, b)`: loops draw on the render's budget, concatenations are sized."""

    def __init__(self, environment: _Sandbox) -> None:
        self._environment = environment

    def _call(self, name: str, arguments: list[nodes.Expr], like: nodes.Node) -> nodes.Call:
        call = nodes.Call(nodes.Name(name, "load"), arguments, [], None, None)
        call.set_lineno(like.lineno or 1)
        call.set_environment(self._environment)
        return call

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call(_EACH, [cast(nodes.Expr, node.iter)], node)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._call(_JOINED, list(node.nodes), node)


def _budgeted_items(items: Any) -> Iterator[Any]:
    """The items of a loop, each drawn from the render's loop budget: nested loops over
    texts or lists cannot multiply it."""
    budget = _current_budget()
    for item in items:
        budget.loop_item()
        yield item


def _joined(*parts: Any) -> Any:
    """`~`, sized before it is built (doubling a text in a loop reaches a gigabyte in 30
    rounds); HTML-escaped as Jinja's own concatenation is."""
    _too_big(sum(map(_text_size, parts)))
    return markup_join(parts)  # Markup when a part is


def _replaced_size(text: str, old: str, new: str) -> int:
    times = text.count(old) if old != "" else len(text) + 1
    return len(text) + times * max(len(new) - len(old), 0)


def _bounded_range(*args: int) -> range:
    """`range`, no longer than a loop may go: a loop over it draws on the budget item by
    item (_budgeted_items), and `range(10**9)|list` is refused here."""
    items = range(*args)
    if len(items) > MAX_LOOP_ITEMS:
        raise SecurityError(f"a range of at most {MAX_LOOP_ITEMS:,} items")
    return items


# Filters whose numeric argument sets the size of what they build (`slice` makes that many
# lists, `batch` fills its last one up to that many items).
_WIDTH_ARGUMENTS = {
    "center": MAX_WIDTH,
    "indent": MAX_WIDTH,
    "truncate": MAX_OUTPUT,
    "slice": MAX_WIDTH,
    "batch": MAX_WIDTH,
}


def _width_checked(original: Callable[..., Any], limit: int) -> Callable[..., Any]:
    # Filters that take the environment or context first (truncate, slice) must say so.
    passed = getattr(original, "jinja_pass_arg", None)
    value_at = 1 if passed is not None else 0

    def checked(*args: Any, **kwargs: Any) -> Any:
        arguments = [*args[value_at + 1 :], *kwargs.values()]
        if any(isinstance(a, int) and a > limit for a in arguments):
            raise SecurityError(f"a width of at most {limit:,}")
        return original(*args, **kwargs)

    if passed is not None:
        checked.jinja_pass_arg = passed  # type: ignore[attr-defined]
    return checked


def _value_sized(original: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, its value sized first when it is a list or a mapping (_text_size)."""
    passed = getattr(original, "jinja_pass_arg", None)
    value_at = 1 if passed is not None else 0

    def checked(*args: Any, **kwargs: Any) -> Any:
        if len(args) > value_at and isinstance(args[value_at], list | tuple | dict):
            _text_size(args[value_at])
        return original(*args, **kwargs)

    if passed is not None:
        checked.jinja_pass_arg = passed  # type: ignore[attr-defined]
    return checked


def _format_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if _WIDE_FORMAT.search(value):
                raise SecurityError(f"a format width of at most {MAX_WIDTH:,}")
            _too_big(_formatted_size(value, [*args, *kwargs.values()]))
        return original(value, *args, **kwargs)

    return checked


def _replace_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        _text_size(value)
        _too_big(_replaced_size(str(value), str(old), str(new)))
        return original(eval_ctx, value, old, new, count)

    checked.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return checked


def _join_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(_budgeted_items(value))
        if attribute is None:
            _too_big(sum(map(_text_size, items)) + len(str(d)) * len(items))
        return original(eval_ctx, items, d, attribute)

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
    budget = _budget.set(_Budget())
    try:
        return _bounded(_compile(source, html).generate(**values))
    except TemplateRenderError:
        raise
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise TemplateRenderError(f"cannot render the template: {error}") from None
    except MemoryError:  # past an isolated process's cap (kit.isolated)
        raise TemplateRenderError("cannot render the template: it ran out of memory") from None
    finally:
        _budget.reset(budget)


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


def render_all(templates: Sequence[tuple[str, bool]], context: Mapping[str, Any]) -> list[str]:
    """Several templates (source, html) with one context: one message's."""
    return [render(source, context, html=html) for source, html in templates]


class Templates(Protocol):
    """Where templates are rendered: in this process (InProcess) or in isolation."""

    def render_all(
        self, templates: Sequence[tuple[str, bool]], context: Mapping[str, Any]
    ) -> list[str]: ...

    def render_json(self, value: Any, context: Mapping[str, Any]) -> Any: ...


class InProcess:
    """For what the user runs on their own templates (the CLI, tests of the renderer)."""

    def render_all(
        self, templates: Sequence[tuple[str, bool]], context: Mapping[str, Any]
    ) -> list[str]:
        return render_all(templates, context)

    def render_json(self, value: Any, context: Mapping[str, Any]) -> Any:
        return render_json(value, context)


class InIsolation:
    """For the services: each call in a process of its own, its time and memory capped
    (kit.isolated); going past them is a TemplateRenderError like any other."""

    def __init__(self, isolated: Isolated) -> None:
        self._isolated = isolated

    def render_all(
        self, templates: Sequence[tuple[str, bool]], context: Mapping[str, Any]
    ) -> list[str]:
        return self._run(render_all, list(templates), dict(context))

    def render_json(self, value: Any, context: Mapping[str, Any]) -> Any:
        return self._run(render_json, value, dict(context))

    def _run(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return self._isolated.run(function, *args)
        except Overrun as error:
            raise TemplateRenderError(f"cannot render the template: {error}") from None
