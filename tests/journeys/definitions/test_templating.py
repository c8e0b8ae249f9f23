import pytest

from journeys.definitions.templating import TemplateRenderError, render, template_problems


def test_html_is_escaped_and_missing_values_render_empty() -> None:
    context = {"contact": {"first_name": "<script>x</script>"}, "trigger": {}}
    assert render("Hi {{ contact.first_name }}{{ trigger.cart.id }}!", context, html=True) == (
        "Hi &lt;script&gt;x&lt;/script&gt;!"
    )
    assert render("Hi {{ contact.first_name }}", context) == "Hi <script>x</script>"


def test_the_sandbox_refuses_python_internals() -> None:
    problems = template_problems("{{ contact.__class__.__mro__ }}")
    assert problems == []  # syntactically fine; the sandbox refuses it at render time
    assert render("{{ contact.__class__ }}", {"contact": {}}) == ""


def test_unknown_roots_are_problems() -> None:
    assert template_problems("{{ user.name }} {{ contact.name }}") == [
        "unknown variable 'user': use contact.*, trigger.* or journey.*"
    ]


def test_what_a_render_builds_is_counted_across_its_loops() -> None:
    # Each text is 60,000 characters, far under the output bound; a thousand of them are not.
    many = "{% for i in range(1000) %}{% set s = '%s%s' % ([9] * 10**4, [9] * 10**4) %}{% endfor %}"
    with pytest.raises(TemplateRenderError, match="builds more than 10,000,000 characters"):
        render(many, {})
    # The budget is the render's: the next render starts afresh, and a message's loop fits.
    table = "{% for i in range(5000) %}<td>{{ contact.first_name ~ i }}</td>{% endfor %}"
    assert len(render(table, {"contact": {"first_name": "Ada"}}, html=True)) > 50_000
