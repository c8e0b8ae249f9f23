from journeys.definitions.templating import render, template_problems


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
