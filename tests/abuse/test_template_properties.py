"""Hostile templates, generated: whatever an author combines (operators, filters, methods,
loops inside loops, values grown in a loop), the render gives a bounded text or a
TemplateRenderError that says why. Each one runs in an isolated process: a guard that
misses shows up as the process stopped at its limit, and the test names the template."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys.definitions.templating import MAX_OUTPUT, TemplateRenderError, render
from journeys.kit.isolated import Isolated, Overrun

LONG = "x" * 10_000  # the longest text an attribute may hold

big_numbers = st.sampled_from(["9", "64", "10**4", "10**9", "2**62", "contact.n"])
texts = st.sampled_from(["'ab'", "contact.s", "contact.first_name", "'%s{0}'"])


@st.composite
def growth(draw: st.DrawFn, inner: str) -> str:
    """One step that makes `inner` (an expression) bigger, as authors could write it."""
    n = draw(big_numbers)
    return draw(
        st.sampled_from(
            [
                f"({inner}) * {n}",
                f"({inner}) ** {n}",
                f"({inner}) ~ ({inner})",
                f"({inner}) + ({inner})",
                f"[{inner}] * {n}",
                f"({inner})|join",
                f"({inner})|list",
                f"({inner})|string|center({n})",
                f"({inner})|slice({n})|list",
                f"({inner})|batch({n}, 'x')|list",
                f"({inner})|string|replace('x', {inner}|string)",
                f"({inner})|string|indent({n})",
                f"'%s%s' % (({inner}), ({inner}))",
                f"'{{0}}{{0}}{{0}}'.format({inner})",
                f"({inner})|string|truncate({n})",
                f"({inner})|string|wordwrap({n})",
            ]
        )
    )


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> str:
    expression = draw(st.one_of(big_numbers, texts))
    for _ in range(draw(st.integers(1, depth))):
        expression = draw(growth(expression))
    return expression


@st.composite
def templates(draw: st.DrawFn) -> str:
    expression = draw(expressions())
    loops = draw(st.integers(0, 3))
    body = draw(
        st.sampled_from(
            [
                f"{{{{ {expression} }}}}",
                f"{{% set ns.v = {expression.replace('contact.s', 'ns.v')} %}}",
                "{% set ns.v = ns.v ~ ns.v %}",
                "{% set ns.v = ns.v * 2 %}",
            ]
        )
    )
    for _ in range(loops):
        over = draw(st.sampled_from(["contact.s", "range(1000)", "ns.v", "contact.s|list"]))
        body = f"{{% for i in {over} %}}{body}{{% endfor %}}"
    return f"{{% set ns = namespace(v='ab') %}}{body}{{{{ ns.v|string|length }}}}"


def rendered_length(template: str) -> int:
    context = {"contact": {"s": LONG, "n": 10**600, "first_name": "Ada"}}
    return len(render(template, context)) + len(render(template, context, html=True))


@pytest.fixture(scope="module")
def isolated() -> Iterator[Isolated]:
    with Isolated(workers=2, seconds=20) as pool:
        yield pool


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(template=templates())
def test_a_generated_template_renders_bounded_or_is_refused(
    isolated: Isolated, template: str
) -> None:
    try:
        length = isolated.run(rendered_length, template)
    except TemplateRenderError as error:
        # Refused with a reason; running out of memory is the backstop's, not a guard's.
        if "ran out of memory" in str(error):
            pytest.fail(f"no guard stopped {template!r}: {error}")
        return
    except Overrun as error:
        pytest.fail(f"no guard stopped {template!r}: {error}")
    assert length <= 2 * MAX_OUTPUT


def spin() -> None:
    while True:
        pass


def hoard() -> int:
    return len(bytearray(4 << 30))


def test_the_isolated_process_is_stopped_at_its_limits_and_replaced() -> None:
    """The backstop for what no guard foresees: time and memory, then the next call works."""
    with Isolated(workers=1, seconds=1, memory=512 << 20) as pool:
        with pytest.raises(Overrun, match="more than 1 s"):
            pool.run(spin)
        with pytest.raises(Overrun, match="more than 512 MB"):
            pool.run(hoard)
        assert pool.run(rendered_length, "{{ contact.first_name }}") == 6
