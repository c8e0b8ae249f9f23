"""Injection and forgery: what authors, contacts and strangers may put in, and what must
never come out.

- Template injection: well-known Jinja sandbox escapes, as a journey's template text and as
  values rendered into templates. Nothing reaches Python, nothing runs, nothing leaks; a
  value is always shown as written, never evaluated.
- Resource exhaustion through templates (huge strings, huge ranges, huge numbers): run in a
  child process with a memory and CPU cap, never in this one.
- XSS: values rendered into an email's HTML are escaped, cannot add tags, attributes or
  links, and a `javascript:` or `data:` link is never turned into a tracked redirect.
- Tracked links (/t/c/), the open pixel (/t/o/) and unsubscribe links (/u/): forged,
  truncated, tampered, cross-purpose or foreign-secret tokens are refused; a valid token
  redirects to the signed address and nowhere else, whatever the query says.
- Signed requests: a replayed signature stays refused however the header is re-spelled,
  and a malformed signature is a 401, never a server error.

The HTTP parts use the gateway served on loopback (tests/abuse/conftest.py), whose signing
secret and public URL are those of tests/worker/harness.py.
"""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeSerializer
from jinja2 import TemplateError

from journeys.definitions.journeys import EmailMessage
from journeys.definitions.templating import render, render_json, template_problems
from journeys.kit.signing import sign
from journeys.messaging import compose
from journeys.messaging.tracking import ClickRef, MessageRef, Tokens, UnsubscribeRef
from tests.abuse.served import ADMIN

SECRET = "test-secret"  # the served gateway's signing secret (tests/worker/harness.py)
PUBLIC = "http://journeys.test"  # and its public URL
ROOT = Path(__file__).parents[2]

# What must never appear in anything rendered, or in an error: Python's reprs of its
# objects, what a command run on the host prints, a traceback.
REPRS = (
    r"<class |<module |<function |<built-in |<bound |<method |<jinja2\.|<frame |<code |"
    r"object at 0x|\bsubprocess\b|\bposix\b|\benviron\b|uid=\d+|root:x:0|Traceback"
)
LEAK_IN_ERROR = re.compile(REPRS)
# An output must not even name Python's internals (an error may quote the name refused).
LEAK = re.compile(REPRS + r"|__(globals|builtins|mro|subclasses|class|init|import|code|func)__")


def assert_no_leak(text: str, pattern: re.Pattern[str] = LEAK) -> None:
    found = pattern.search(text)
    assert found is None, f"leaked {found.group(0)!r} in {text[:300]!r}"


# -- template injection: the template text ------------------------------------------

# Each a classic way out of a Jinja sandbox. MARK is replaced by a file that must never be
# created: a payload that ran would create it.
SSTI = {
    "mro-subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "tuple-bases-subclasses": "{{ ().__class__.__bases__[0].__subclasses__()[59] }}",
    "contact-class-globals": "{{ contact.__class__.__init__.__globals__ }}",
    "getitem-dunder": "{{ contact['__class__'] }}",
    "attr-filter-walk": "{{ (''|attr('__class__')|attr('__base__')|attr('__subclasses__'))() }}",
    "attr-filter-hex-escape": "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "attr-filter-joined-name": "{{ ''|attr(['__', 'class', '__']|join) }}",
    "map-attribute-dunder": "{{ [contact]|map(attribute='__class__')|list }}",
    "sort-attribute-dunder": "{{ [contact]|sort(attribute='__class__.__mro__')|list }}",
    "groupby-dunder": "{{ [contact]|groupby('__class__')|list }}",
    "sum-attribute-dunder": "{{ [contact]|sum(attribute='__class__') }}",
    "cycler-globals-os-system": "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "joiner-globals-os-popen": "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "lipsum-globals-os": "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "lipsum-builtins-import": (
        "{{ lipsum.__globals__.__builtins__.__import__('os').system('touch MARK') }}"
    ),
    "lipsum-builtins-open": "{{ lipsum.__globals__.__builtins__.open('MARK', 'w') }}",
    "namespace-globals": "{{ namespace.__init__.__globals__.os.popen('touch MARK').read() }}",
    "range-globals": "{{ range.__init__.__globals__ }}",
    "dict-globals": "{{ dict.__init__.__globals__ }}",
    "self-template-reference-context": "{{ self._TemplateReference__context }}",
    "self-context-cycler": (
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch MARK') }}"
    ),
    "loop-cycle-globals": "{% for x in [1] %}{{ loop.cycle.__globals__ }}{% endfor %}",
    "macro-globals": "{% macro m() %}{% endmacro %}{{ m.__globals__ }}",
    "macro-func-code": "{% macro m() %}{% endmacro %}{{ m._func.__code__ }}",
    "set-globals": "{% set x = cycler.__init__.__globals__ %}{{ x }}",
    "config-items": "{{ config.items() }}",
    "request-application": "{{ request.application.__globals__.__builtins__ }}",
    "format-method-class": "{{ '{0.__class__}'.format(contact) }}",
    "format-method-globals": "{{ '{0.__init__.__globals__}'.format(cycler) }}",
    "format-map-mro": "{{ '{x.__class__.__mro__}'.format_map({'x': ''}) }}",
    "percent-format-globals": "{{ '%s'|format(cycler.__init__.__globals__) }}",
    "tojson-function": "{{ cycler.__init__|tojson }}",
    "dict-update-mutates-contact": "{{ contact.update({'email': 'x@evil.example'}) }}",
    "list-append-mutates": "{% set l = [] %}{{ l.append(1) }}",
    "do-extension": "{% do contact.clear() %}",
    "debug-extension": "{% debug %}",
    "import-os": "{% import 'os' as os %}{{ os.system('touch MARK') }}",
    "from-import": "{% from 'os' import system %}{{ system('touch MARK') }}",
    "include-passwd": "{% include '/etc/passwd' %}",
    "extends-passwd": "{% extends '/etc/passwd' %}",
    "range-over-max": "{{ range(10**9)|list|length }}",
    "loop-over-max-range": "{% for i in range(10**9) %}x{% endfor %}",
}
CONTEXT = {
    "contact": {"id": "c1", "first_name": "Ada", "email": "ada@example.com"},
    "trigger": {"order_id": "o1"},
    "journey": {"id": "j", "name": "J", "version": 1},
}


@pytest.mark.parametrize("html_part", [False, True], ids=["text", "html"])
@pytest.mark.parametrize("payload", SSTI.values(), ids=SSTI.keys())
def test_a_template_cannot_reach_python(payload: str, html_part: bool, tmp_path: Path) -> None:
    """The validator refuses it, or the sandbox does at render time, or it renders to
    nothing dangerous; never Python's internals in the output or in the error, never a
    side effect (MARK not created, the contact not changed)."""
    mark = tmp_path / "ran"  # exists only if a payload ran
    source = payload.replace("MARK", str(mark))
    problems = template_problems(source)
    for problem in problems:
        assert_no_leak(problem, LEAK_IN_ERROR)
    context = json.loads(json.dumps(CONTEXT))
    try:
        output = render(source, context, html=html_part)
    except (TemplateError, TypeError, OverflowError) as refused:
        # The sandbox said no. (What callers make of the error: see the gateway test.)
        assert_no_leak(str(refused), LEAK_IN_ERROR)
    else:
        assert_no_leak(output)
        assert len(output) < 1000
    assert not mark.exists(), "a template ran code: it created the file it was told to"
    assert context == CONTEXT, "a template changed the data it was given"


# Values rendered into templates: shown as written, never evaluated.
VALUES = {
    "expression": "{{ 7*7 }}",
    "statement": "{% for i in range(3) %}x{% endfor %}",
    "comment": "{# hidden #}",
    "globals-walk": "{{ cycler.__init__.__globals__.os.system('id') }}",
    "format-string": "{0.__class__.__mro__}",
    "percent-format": "%s%s%s%(x)s",
    "line-statement": "# for x in y",
    "raw-block-breakout": "{% endraw %}{{ 7*7 }}{% raw %}",
    "nested-braces": "{{{{ 7*7 }}}}",
    "null-and-controls": "a\x00b\x1b[31mc\u202ed",
}
ROOTS = {
    "contact": "Hi {{ contact.first_name }}!",
    "trigger": "Order {{ trigger.order_id }}.",
    "journey": "{{ journey.name }}",
}


@pytest.mark.parametrize("root", ROOTS.keys())
@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_a_value_is_shown_as_written_never_evaluated(root: str, value: str) -> None:
    field = {"contact": "first_name", "trigger": "order_id", "journey": "name"}[root]
    context = json.loads(json.dumps(CONTEXT))
    context[root][field] = value
    text = render(ROOTS[root], context)
    assert text == ROOTS[root].replace(f"{{{{ {root}.{field} }}}}", value)
    shown = render(ROOTS[root], context, html=True)
    assert html.unescape(shown) == text
    assert not set(shown) & set("<>\"'"), shown


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_a_webhook_body_carries_values_as_written(value: str) -> None:
    """Webhook bodies render every text, with event.* and response.*: a value from an event
    or a previous webhook's answer is data, not a template."""
    body = {"text": "{{ event.note }}", "list": ["{{ response.note }}", 1, None], "n": 2}
    context = {**CONTEXT, "event": {"note": value}, "response": {"note": value}}
    assert render_json(body, context) == {"text": value, "list": [value, 1, None], "n": 2}


def test_the_contact_passed_to_a_template_cannot_be_changed_by_it() -> None:
    contact = {"first_name": "Ada", "tags": ["a"], "nested": {"k": "v"}}
    for source in (
        "{{ contact.tags.append('x') }}",
        "{{ contact.nested.update({'k': 'w'}) }}",
        "{{ contact.pop('first_name') }}",
        "{% set contact.first_name = 'x' %}",
    ):
        with pytest.raises(TemplateError):
            render(source, {"contact": contact})
    assert contact == {"first_name": "Ada", "tags": ["a"], "nested": {"k": "v"}}


# -- resource exhaustion: in a child process, with a cap --------------------------------

EXHAUSTION = {
    "string-times-100-million": "{{ 'a' * 10**8 }}",
    "string-times-billion": "{{ 'a' * 10**9 }}",
    "attribute-times-billion": "{{ contact.first_name * 10**9 }}",
    "set-then-multiply": "{% set x = 'ab' %}{{ x * 10**9 }}",
    "center-filter-width": "{{ 'a'|center(10**9) }}",
    "format-width": "{{ '%0999999999d'|format(1) }}",
    "nested-ranges-under-max": (
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    ),
    "power-tower": "{{ 9**(9**9) }}",
    # Each exponent small, the chain not (right-associative: 9**(64**64); then left).
    "power-chain": "{{ 9**64**64 }}",
    "power-chain-left": "{{ ((9**64)**64)**64 }}",
    "square-in-a-loop": (
        "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}"
        "{% endfor %}{{ ns.x }}"
    ),
    # Only range was counted: loops over texts multiplied (10,000 x 10,000 here).
    "nested-loops-over-text": (
        "{% set s = 'x' * 10000 %}{% for a in s %}{% for b in s %}.{% endfor %}{% endfor %}"
    ),
    "slice-count": "{{ 'a'|slice(10**9)|list|length }}",
    "batch-fill": "{{ [1]|batch(10**9, 'x')|list|length }}",
    "tilde-doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s|length }}"
    ),
    "join-of-repeats": "{% set s = 'x' * 10000 %}{{ ([s] * 100000)|join|length }}",
    "percent-repeats": "{% set s = 'x' * 10000 %}{{ '%s' * 10000 % ((s,) * 10000) }}",
    "format-repeats": "{% set s = 'x' * 100000 %}{{ ('{0}' * 10000).format(s)|length }}",
    "replace-method": "{% set s = 'x' * 10000 %}{{ s.replace('x', s)|length }}",
    "translate-table": "{% set s = 'x' * 10000 %}{{ s.translate({120: s})|length }}",
    # Each result well under the bound, a thousand of them not (found by hypothesis).
    "small-results-in-a-loop": (
        "{% set ns = namespace(v='') %}{% for i in range(1000) %}"
        "{% set ns.v = '%s%s' % ([9] * 10**4, [9] * 10**4) %}{% endfor %}{{ ns.v|length }}"
    ),
}
MAX_OUTPUT = 1_000_000  # the gateway's body limit: more than any message could carry
MEMORY_MB, CPU_SECONDS = 768, 20  # the child's caps
CHILD = """
import json, resource, sys
memory, cpu = int(sys.argv[2]) * 2**20, int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
from journeys.definitions.templating import render, template_problems

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

def attempt(step, *args):
    try:
        return {"outcome": "done", "value": step(*args)}
    except MemoryError:
        return {"outcome": "MemoryError"}
    except Exception as error:
        name = type(error).__module__ + "." + type(error).__name__
        return {"outcome": "refused", "error": name, "message": str(error)[:300]}

before = peak_mb()
checked = attempt(template_problems, sys.argv[1])
print(json.dumps({"stage": "validate", "grew_mb": peak_mb() - before, **checked}), flush=True)
rendered = attempt(lambda: len(render(sys.argv[1], {"contact": {"first_name": "Ada"}})))
print(json.dumps({"stage": "render", **rendered}), flush=True)
"""


@pytest.mark.parametrize("payload", EXHAUSTION.values(), ids=EXHAUSTION.keys())
def test_a_template_cannot_exhaust_memory_or_cpu(payload: str) -> None:
    """Checking and rendering such a template must stay bounded: the check (what the
    gateway runs on every PUT of a journey) answers, and the render (the simulator in the
    gateway, the send in the worker) gives a short output or a clear refusal.

    Never run here: in a child capped at 768 MB and 20 s of CPU.
    """
    child = subprocess.run(
        [sys.executable, "-c", CHILD, payload, str(MEMORY_MB), str(CPU_SECONDS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    stages = {line["stage"]: line for line in map(json.loads, child.stdout.splitlines())}
    assert "validate" in stages, (
        f"checking the template was killed (exit {child.returncode}): over {CPU_SECONDS} s of CPU"
    )
    validate = stages["validate"]
    assert validate["outcome"] != "MemoryError", f"checking the template took over {MEMORY_MB} MB"
    assert validate["outcome"] == "done", validate
    # Checking a template reads it; it must not compute what it says.
    assert validate["grew_mb"] < 64, f"checking the template took {validate['grew_mb']:.0f} MB"
    assert "render" in stages, (
        f"the render was killed (exit {child.returncode}): over {CPU_SECONDS} s of CPU"
    )
    rendered = stages["render"]
    assert rendered["outcome"] != "MemoryError", f"the render tried to take over {MEMORY_MB} MB"
    if rendered["outcome"] == "done":
        assert rendered["value"] <= MAX_OUTPUT
    else:
        # Refused as templates are: the one error every caller handles, saying why.
        assert rendered["error"] == "journeys.definitions.templating.TemplateRenderError", rendered


# -- XSS in email HTML, and tracked links ---------------------------------------------

XSS = {
    "script-tag": "<script>alert(1)</script>",
    "img-onerror": '"><img src=x onerror=alert(1)>',
    "single-quote-handler": "' onmouseover='alert(1)",
    "double-quote-handler": '" onfocus="alert(1)" autofocus="',
    "svg-onload": "<svg/onload=alert(1)>",
    "close-anchor-new-link": '</a><a href="https://evil.example/">win</a>',
    "javascript-url": "javascript:alert(document.domain)",
    "data-url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "pre-escaped": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "entity-quote": "&#34; onclick=&#34;alert(1)",
    "style-breakout": "</style><script>alert(1)</script>",
    "comment-breakout": "--><script>alert(1)</script><!--",
    "crlf-headers": "Ada\r\nBcc: victim@example.com\r\n\r\n<b>body</b>",
    "unicode-lookalike": "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
}
EMAIL_HTML = (
    "<html><head><style>p { color: red }</style></head><body>"
    '<p title="{{ contact.first_name }}">Hi {{ contact.first_name }}</p>'
    "<p class='{{ contact.first_name }}'>{{ trigger.note }}</p>"
    "<!-- {{ contact.first_name }} -->"
    '<a href="https://shop.example.com/cart?who={{ contact.first_name }}">Your cart</a>'
    "</body></html>"
)


class Page(HTMLParser):
    """Every tag and attribute of a page, as a browser would see them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]


def tracking(clicked: list[str]) -> compose.Tracking:
    def click_url(url: str) -> str:
        clicked.append(url)
        return f"{PUBLIC}/t/c/token-{len(clicked)}"

    return compose.Tracking(pixel_url=f"{PUBLIC}/t/o/pixel", click_url=click_url)


@pytest.mark.parametrize("value", XSS.values(), ids=XSS.keys())
def test_a_value_in_an_email_cannot_add_markup_or_links(value: str) -> None:
    message = EmailMessage(subject="Hello {{ contact.first_name }}", html=EMAIL_HTML)
    context = compose.context({"first_name": value}, {"note": value}, {"id": "j"})
    clicked: list[str] = []
    email = compose.render_email(message, context, tracking(clicked), f"{PUBLIC}/u/unsub")
    assert email.html is not None
    page, authored = Page(email.html), Page(EMAIL_HTML)
    assert set(page.tags) == set(authored.tags) | {"img"}  # the open pixel
    # Added: the open pixel, and the unsubscribe paragraph with its link.
    assert len(page.tags) == len(authored.tags) + 3
    assert not [a for a in page.attributes if a[1].startswith("on")], page.attributes
    hrefs = [value for tag, name, value in page.attributes if name == "href"]
    assert hrefs == [f"{PUBLIC}/t/c/token-1", f"{PUBLIC}/u/unsub"]
    # The one tracked link is the author's, with the value as data in its query.
    assert clicked == ["https://shop.example.com/cart?who=" + value]
    shown = [v for tag, name, v in page.attributes if name in ("title", "class")]
    assert shown == [value, value]
    # The text part (made from the HTML) shows the value as written: it is plain text.
    assert all(word in email.text for word in value.split())
    # The subject is one header line.
    assert "\r" not in email.subject and "\n" not in email.subject
    assert email.subject == " ".join(f"Hello {value}".split())
    mime = compose.mime_email(email, "Shop <shop@example.com>", "ada@example.com", "m1")
    assert mime["Bcc"] is None and mime.get_all("Subject") == [email.subject]


SCHEMES = {
    "javascript": "javascript:alert(document.domain)",
    "javascript-mixed-case": "JaVaScRiPt:alert(1)",
    "javascript-leading-space": " javascript:alert(1)",
    "javascript-entity": "java&#115;cript:alert(1)",
    "vbscript": "vbscript:msgbox(1)",
    "data-html": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "protocol-relative": "//evil.example/",
    "backslashes": "\\\\evil.example\\",
    "https-in-fragment": "javascript:alert(1)//https://shop.example.com/",
}


@pytest.mark.parametrize("where", ["authored", "from-contact"])
@pytest.mark.parametrize("href", SCHEMES.values(), ids=SCHEMES.keys())
def test_a_link_that_is_not_http_is_never_tracked(href: str, where: str) -> None:
    """Link tracking signs only http(s) links: a javascript: or data: link in a template (or
    put there by a contact's value) never becomes a redirect Journeys would sign."""
    source = f'<a href="{html.escape(href)}">x</a>' if where == "authored" else ""
    source += '<a href="{{ contact.website }}">y</a>'
    message = EmailMessage(subject="s", html=source)
    context = compose.context({"website": href}, {}, {})
    clicked: list[str] = []
    email = compose.render_email(message, context, tracking(clicked))
    assert clicked == []
    assert email.html is not None and "/t/c/" not in email.html


# -- tracked links, pixels and unsubscribe over HTTP ------------------------------------

TOKENS = Tokens(SECRET)
SIGNED_URL = "https://shop.example.com/cart?id=42&utm_source=email"
REF = MessageRef(
    workflow_id="journey/welcome/nobody",
    instance_id="no-such-run",
    step="welcome",
    message_id="m-injection",
    contact_id="nobody",
)
CLICK = TOKENS.click_token(ClickRef(**REF.model_dump(), url=SIGNED_URL))
OPEN = TOKENS.open_token(REF)
# Links of the earlier kind (signed, readable) are still read: their forgeries too.
LEGACY_CLICK = URLSafeSerializer(SECRET, salt="journeys.click").dumps(
    {
        "w": REF.workflow_id,
        "i": REF.instance_id,
        "s": REF.step,
        "m": REF.message_id,
        "c": REF.contact_id,
        "h": "email",
        "u": SIGNED_URL,
    }
)
# A serializer to read and rewrite a token's payload without its secret.
PAYLOAD = URLSafeSerializer("not-the-secret")


def tampered(token: str, **changes: Any) -> str:
    """A legacy token with its payload changed and its signature kept."""
    payload, signature = token.rsplit(".", 1)
    data = PAYLOAD.load_payload(payload.encode())
    return f"{PAYLOAD.dump_payload({**data, **changes}).decode()}.{signature}"


def flipped(token: str, at: int) -> str:
    """An encrypted token with one bit of it changed (ciphertext, or its HMAC at the end)."""
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[at] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def foreign(ref: ClickRef | MessageRef | UnsubscribeRef, kind: str) -> str:
    """A well-formed token signed with some other secret."""
    other = Tokens("some-other-secret")
    return str(getattr(other, f"{kind}_token")(ref))


FORGED_CLICKS = {
    "plain-text": "forged-token",
    "signed-elsewhere": foreign(ClickRef(**REF.model_dump(), url="https://evil.example/"), "click"),
    "ciphertext-bit-flipped": flipped(CLICK, 40),
    "hmac-bit-flipped": flipped(CLICK, -3),
    "timestamp-bit-flipped": flipped(CLICK, 5),
    "truncated-by-one": CLICK[:-1],
    "extra-segment": CLICK + ".AAAA",
    "legacy-url-swapped": tampered(LEGACY_CLICK, u="https://evil.example/"),
    "legacy-url-javascript": tampered(LEGACY_CLICK, u="javascript:alert(1)"),
    "legacy-signature-removed": LEGACY_CLICK.rsplit(".", 1)[0],
    "legacy-signature-empty": LEGACY_CLICK.rsplit(".", 1)[0] + ".",
    "legacy-payload-removed": "." + LEGACY_CLICK.rsplit(".", 1)[1],
    "case-flipped": CLICK.swapcase(),
    "open-token-as-click": OPEN,
    "unsubscribe-token-as-click": TOKENS.unsubscribe_token(
        UnsubscribeRef(contact_id="nobody", channel="email", message_id="m")
    ),
    "unsigned-json": PAYLOAD.dump_payload({"u": "https://evil.example/"}).decode(),
    "short-code-unknown": "Zz9Zz9Zz9Z",
    "short-code-fullwidth-digits": "\uff11\uff12\uff13\uff14\uff15",
    "short-code-arabic-digits": "\u0661\u0662\u0663",
    "very-long": "A" * 4000,
    "xss-in-token": '"><img src=x onerror=alert(1)>',
    "null-byte": "abc%00def",
}


@pytest.fixture(scope="module")
def web(gateway: str) -> Iterator[httpx.Client]:
    """A client as a reader's browser is: no API key, redirects not followed."""
    with httpx.Client(base_url=gateway, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def api(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, headers=ADMIN, timeout=30) as client:
        yield client


def refused(response: httpx.Response) -> None:
    """Refused cleanly: a 4xx (404 for a token), JSON if from the app, and no redirect."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert "location" not in response.headers
    if response.status_code == 404 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        assert response.json()["detail"]


@pytest.mark.parametrize("token", FORGED_CLICKS.values(), ids=FORGED_CLICKS.keys())
def test_a_forged_click_token_redirects_nowhere(web: httpx.Client, token: str) -> None:
    response = web.get(f"/t/c/{token}")
    refused(response)
    assert response.status_code in (404, 414)


@pytest.mark.parametrize("token", FORGED_CLICKS.values(), ids=FORGED_CLICKS.keys())
def test_a_forged_pixel_token_still_answers_the_image_and_nothing_else(
    web: httpx.Client, token: str
) -> None:
    response = web.get(f"/t/o/{token}")
    if response.status_code != 414:
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert "location" not in response.headers and "set-cookie" not in response.headers


EVIL_QUERIES = {
    "url": "?url=https://evil.example/",
    "next-and-redirect": "?next=https://evil.example/&redirect=//evil.example&to=evil",
    "u-key-of-the-payload": "?u=https://evil.example/",
    "repeated-and-encoded": "?url=https%3A%2F%2Fevil.example%2F&url=javascript:alert(1)",
    "crlf": "?x=%0d%0aLocation:%20https://evil.example/",
}


@pytest.mark.parametrize("query", ["", *EVIL_QUERIES.values()], ids=["none", *EVIL_QUERIES])
def test_a_valid_click_goes_to_the_signed_address_only(web: httpx.Client, query: str) -> None:
    response = web.get(f"/t/c/{CLICK}{query}")
    assert response.status_code == 302, response.text[:200]
    assert response.headers.get_list("location") == [SIGNED_URL]


@pytest.mark.parametrize(
    "suffix",
    ["/", "/https://evil.example/", "%2F%2Fevil.example", "/..%2F..%2Fu%2Fx", ";url=https://evil"],
    ids=["trailing-slash", "appended-url", "encoded-slashes", "dot-segments", "matrix-param"],
)
def test_nothing_appended_to_a_valid_token_redirects_elsewhere(
    web: httpx.Client, suffix: str
) -> None:
    response = web.get(f"/t/c/{CLICK}{suffix}")
    assert response.status_code < 500
    location = response.headers.get("location")
    if location is not None and location != SIGNED_URL:
        # Only back to the gateway itself (a trailing slash dropped), to the same link.
        target = web.base_url.join(location)
        assert (target.host, target.port) == (web.base_url.host, web.base_url.port), location
        assert target.path == f"/t/c/{CLICK}", location


def test_a_signed_address_cannot_inject_headers(web: httpx.Client) -> None:
    """Were an address with line breaks ever signed (an href built from a trigger's value),
    the redirect still carries it as one encoded Location, never as extra headers."""
    url = "https://shop.example.com/\r\nSet-Cookie: session=evil\r\nX-Injected: 1"
    token = TOKENS.click_token(ClickRef(**REF.model_dump(), url=url))
    response = web.get(f"/t/c/{token}")
    assert response.status_code == 302
    assert "set-cookie" not in response.headers and "x-injected" not in response.headers
    (location,) = response.headers.get_list("location")
    assert location.startswith("https://shop.example.com/") and "\n" not in location


def unsubscribe_token(contact_id: str) -> str:
    ref = UnsubscribeRef(contact_id=contact_id, channel="email", message_id="m-unsub")
    return TOKENS.unsubscribe_token(ref)


def consent(api: httpx.Client, contact_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/contacts/{contact_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["consent"])


@pytest.fixture
def contacts(api: httpx.Client) -> tuple[str, str]:
    """Ada and Bob, both agreeing to email."""
    pair = (f"ada-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}")
    for contact_id in pair:
        body = {"email": f"{contact_id}@example.com", "consent": {"email": True}}
        assert api.put(f"/v1/contacts/{contact_id}", json=body).status_code in (200, 201)
    return pair


def forged_unsubscribes(victim: str, holder: str) -> dict[str, str]:
    """Ways to make an unsubscribe link for `victim` from one issued to `holder`."""
    own = unsubscribe_token(holder)
    victim_ref = UnsubscribeRef(contact_id=victim, channel="email", message_id="m-unsub")
    return {
        "contact-bit-flipped": flipped(own, 60),
        "legacy-contact-swapped": tampered(
            URLSafeSerializer(SECRET, salt="journeys.unsubscribe").dumps(
                {"c": holder, "h": "email", "m": "m-unsub"}
            ),
            c=victim,
        ),
        "signed-elsewhere": foreign(victim_ref, "unsubscribe"),
        "click-token-for-victim": TOKENS.click_token(
            ClickRef(**REF.model_copy(update={"contact_id": victim}).model_dump(), url="x")
        ),
        "open-token-for-victim": TOKENS.open_token(REF.model_copy(update={"contact_id": victim})),
        "truncated": unsubscribe_token(victim)[:-2],
        "unsigned": PAYLOAD.dump_payload({"c": victim, "h": "email", "m": "m"}).decode(),
        "xss-in-token": '"><img src=x onerror=alert(1)>',
        "null-byte": "abc%00def",
    }


def test_forged_unsubscribe_links_are_refused_and_change_nobody(
    web: httpx.Client, api: httpx.Client, contacts: tuple[str, str]
) -> None:
    victim, holder = contacts
    for name, token in forged_unsubscribes(victim, holder).items():
        for method in ("GET", "POST"):
            response = web.request(method, f"/u/{token}")
            assert response.status_code == 404, (name, method, response.status_code)
            assert response.json() == {"detail": "unknown unsubscribe link"}, name
    assert consent(api, victim)["email"] is True
    assert consent(api, holder)["email"] is True


def test_an_unsubscribe_link_unsubscribes_its_own_contact_only(
    web: httpx.Client, api: httpx.Client, contacts: tuple[str, str]
) -> None:
    ada, bob = contacts
    token = unsubscribe_token(ada)
    page = web.get(f"/u/{token}")
    assert page.status_code == 200
    assert Page(page.text).tags.count("script") == 0
    assert consent(api, ada)["email"] is True  # a GET (a link scanner) changes nothing
    for _ in range(2):  # a replay changes nothing more
        assert web.post(f"/u/{token}").status_code == 200
    assert consent(api, ada)["email"] is False
    assert consent(api, bob)["email"] is True


# -- signed requests: replays, re-spelled -----------------------------------------------

EVENTS = "/v1/triggers/order.placed/events"


@pytest.fixture(scope="module")
def signed_keys(api: httpx.Client) -> list[tuple[str, str]]:
    """Two signed ingestion keys: (id, signing secret)."""
    keys = []
    for name in ("webhooks-a", "webhooks-b"):
        body = {"name": name, "scopes": ["events:write"], "signed": True}
        created = api.post("/v1/api-keys", json=body)
        assert created.status_code == 201, created.text
        keys.append((created.json()["id"], created.json()["signing_secret"]))
    return keys


def order_body() -> bytes:
    order = {"contact_id": f"c-{uuid.uuid4().hex[:8]}", "attributes": {"order_id": "o1"}}
    return json.dumps(order).encode()


def post_signed(web: httpx.Client, body: bytes, header: str) -> httpx.Response:
    headers = {"X-Journeys-Signature": header, "Content-Type": "application/json"}
    return web.post(EVENTS, content=body, headers=headers)


RESPELLINGS = {
    "fields-reordered": lambda k, t, v: f"v1={v},t={t},keyid={k}",
    "extra-field": lambda k, t, v: f"keyid={k},t={t},v1={v},v0=deadbeef",
    "timestamp-leading-zero": lambda k, t, v: f"keyid={k},t=0{t},v1={v}",
    "timestamp-plus-sign": lambda k, t, v: f"keyid={k},t=+{t},v1={v}",
    "timestamp-padded": lambda k, t, v: f"keyid={k},t= {t} ,v1={v}",
    "timestamp-underscores": lambda k, t, v: f"keyid={k},t={str(t)[:4]}_{str(t)[4:]},v1={v}",
    "repeated-fields": lambda k, t, v: f"keyid={k},t=1,v1=00,t={t},v1={v}",
    "trailing-comma": lambda k, t, v: f"keyid={k},t={t},v1={v},",
}


@pytest.mark.parametrize("respell", RESPELLINGS.values(), ids=RESPELLINGS.keys())
def test_a_replayed_signature_is_refused_however_it_is_spelled(
    web: httpx.Client, signed_keys: list[tuple[str, str]], respell: Any
) -> None:
    (key_id, secret), _ = signed_keys
    body = order_body()
    timestamp = int(time.time())
    v1 = sign(secret, body, timestamp).split("v1=", 1)[1]
    first = post_signed(web, body, f"keyid={key_id},t={timestamp},v1={v1}")
    assert first.status_code == 202, first.text
    again = post_signed(web, body, respell(key_id, timestamp, v1))
    assert again.status_code == 401, again.text
    assert again.json()["detail"] in (
        "replayed signature: sign every request anew",
        "bad signature, or a timestamp more than 300 s away",
    )


def test_a_signature_is_bound_to_its_key(
    web: httpx.Client, signed_keys: list[tuple[str, str]]
) -> None:
    """Key A's valid signature, presented as key B's, is refused; as A's, accepted."""
    (key_a, secret_a), (key_b, _) = signed_keys
    body = order_body()
    header = sign(secret_a, body, int(time.time()))
    assert post_signed(web, body, f"keyid={key_b},{header}").status_code == 401
    assert post_signed(web, body, f"keyid={key_a},{header}").status_code == 202


MALFORMED = {
    "empty": lambda k: "",
    "no-equals": lambda k: "garbage",
    "keyid-only": lambda k: f"keyid={k}",
    "no-v1": lambda k: f"keyid={k},t={int(time.time())}",
    "empty-v1": lambda k: f"keyid={k},t={int(time.time())},v1=",
    "timestamp-float": lambda k: f"keyid={k},t={time.time()},v1=00",
    "timestamp-exponent": lambda k: f"keyid={k},t=1e9,v1=00",
    "timestamp-nan": lambda k: f"keyid={k},t=nan,v1=00",
    "timestamp-negative": lambda k: f"keyid={k},t=-1,v1=00",
    "timestamp-huge": lambda k: f"keyid={k},t={'9' * 400},v1=00",
    "timestamp-4301-digits": lambda k: f"keyid={k},t={'9' * 4301},v1=00",
    "unknown-key": lambda k: f"keyid=nope,t={int(time.time())},v1=00",
    "keyid-injection": lambda k: f"keyid={k}' OR '1'='1,t={int(time.time())},v1=00",
    "many-commas": lambda k: "," * 5000 + f"keyid={k}",
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_signature_is_a_401_never_a_server_error(
    web: httpx.Client, signed_keys: list[tuple[str, str]], header: Any
) -> None:
    (key_id, _), _ = signed_keys
    response = post_signed(web, order_body(), header(key_id))
    assert response.status_code == 401, (response.status_code, response.text[:200])
    assert response.json()["detail"]


# -- template injection through the gateway: authoring and the simulator ------------------

GATEWAY_SSTI = {
    name: SSTI[name]
    for name in (
        "mro-subclasses",
        "cycler-globals-os-system",
        "lipsum-builtins-import",
        "self-template-reference-context",
        "format-method-globals",
        "attr-filter-walk",
        "dict-update-mutates-contact",
        "include-passwd",
        "range-over-max",
        "config-items",
    )
} | {
    # Not an attack: an author's slip the sandbox refuses the same way (points is missing).
    "arithmetic-on-a-missing-value": "{{ contact.points + 1 }}",
}


@pytest.mark.parametrize("name", GATEWAY_SSTI)
def test_an_injected_template_is_refused_or_simulated_cleanly(
    api: httpx.Client, name: str, tmp_path: Path
) -> None:
    """Authored, then simulated: refused as a problem when saved, or simulated without a
    leak; a template the sandbox refuses is a clear 4xx, never a 500."""
    payload = GATEWAY_SSTI[name].replace("MARK", str(tmp_path / "ran"))
    journey_id = f"ssti-{name}"[:60]
    document = {
        "kind": "Journey",
        "id": journey_id,
        "name": "SSTI",
        "start": {"trigger": "contact.created"},
        "steps": [
            {
                "id": "mail",
                "email": {"subject": "Hi", "html": f"<p>{payload}</p>", "text": payload},
            }
        ],
    }
    saved = api.put(f"/v1/journeys/{journey_id}", json=document)
    assert saved.status_code in (200, 201, 422), saved.text[:300]
    for problem in saved.json().get("problems", []):
        assert_no_leak(problem["message"], LEAK_IN_ERROR)
    if saved.status_code == 422:
        return
    simulated = api.post(
        f"/v1/journeys/{journey_id}/simulate",
        json={"contact": {"email": "ada@example.com", "first_name": "Ada"}},
    )
    assert simulated.status_code == 200, (simulated.status_code, simulated.text[:300])
    # What was rendered names nothing of Python; a message that could not be rendered
    # failed (as it would in the worker), and its reason may quote the name refused.
    for message in simulated.json()["messages"]:
        if message["status"] == "failed":
            assert message["reason"].startswith("cannot render the template"), message
            assert_no_leak(message["reason"], LEAK_IN_ERROR)
        for part in ("subject", "text", "html"):
            assert_no_leak(message[part] or "")
    assert not (tmp_path / "ran").exists()
