"""Rendering messages: personalization, tracked links and the open pixel, MIME for SMTP."""

from __future__ import annotations

import functools
import html as html_lib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UniqueUnstructuredHeader
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP, Policy
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from journeys.definitions.journeys import EmailMessage, PushMessage, SmsMessage
from journeys.definitions.templating import InProcess, Templates

MESSAGE_ID_HEADER = "X-Journeys-Message-Id"
IN_PROCESS = InProcess()


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class RenderedSms:
    text: str


@dataclass(frozen=True)
class RenderedPush:
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Tracking:
    """How to track one message: a signed URL for its open pixel, and one per link."""

    pixel_url: str
    click_url: Callable[[str], str]


TEST_MARK = "[Test] "
Message = EmailMessage | SmsMessage | PushMessage


def as_test(message: Message) -> Message:
    """The message marked as a test where its recipient sees it first."""
    match message:
        case EmailMessage():
            return message.model_copy(update={"subject": TEST_MARK + message.subject})
        case SmsMessage():
            return message.model_copy(update={"text": TEST_MARK + message.text})
    return message.model_copy(update={"title": TEST_MARK + message.title})


def context(
    contact: Mapping[str, Any], trigger: Mapping[str, Any], journey: Mapping[str, Any]
) -> dict[str, Any]:
    return {"contact": dict(contact), "trigger": dict(trigger), "journey": dict(journey)}


def render_email(
    message: EmailMessage,
    values: Mapping[str, Any],
    tracking: Tracking | None,
    unsubscribe_url: str | None = None,
    templates: Templates = IN_PROCESS,
) -> RenderedEmail:
    parts = [(message.subject, False), (message.html or "", True), (message.text or "", False)]
    subject_, html_, text_ = templates.render_all(parts, values)
    subject = " ".join(subject_.split())  # no header injection
    html = html_ if message.html is not None else None
    text = text_ if message.text is not None else None
    if html is not None and tracking is not None:
        html = _track(html, tracking)
    if text is None:
        text = html_to_text(html or "")
    if unsubscribe_url is not None:
        # After tracking: the unsubscribe link is never rewritten.
        text += f"\n\n--\nUnsubscribe: {unsubscribe_url}"
        if html is not None:
            link = html_lib.escape(unsubscribe_url)
            html = _into_body(
                html,
                f'<p style="font-size:12px;color:#6b7280"><a href="{link}">Unsubscribe</a></p>',
            )
    return RenderedEmail(subject=subject, text=text, html=html)


def render_sms(
    message: SmsMessage, values: Mapping[str, Any], templates: Templates = IN_PROCESS
) -> RenderedSms:
    [text] = templates.render_all([(message.text, False)], values)
    return RenderedSms(text=text)


def render_push(
    message: PushMessage, values: Mapping[str, Any], templates: Templates = IN_PROCESS
) -> RenderedPush:
    data = message.data or {}
    parts = [(message.title, False), (message.body, False), *((v, False) for v in data.values())]
    title, body, *values_ = templates.render_all(parts, values)
    return RenderedPush(title=title, body=body, data=dict(zip(data, values_, strict=True)))


_LINK = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)


def _track(html: str, tracking: Tracking) -> str:
    def rewrite(match: re.Match[str]) -> str:
        opening, quote, url = match.groups()
        tracked_url = html_lib.escape(tracking.click_url(html_lib.unescape(url)))
        return f"{opening}{quote}{tracked_url}{quote}"

    tracked = _LINK.sub(rewrite, html)
    pixel = (
        f'<img src="{html_lib.escape(tracking.pixel_url)}" width="1" height="1" alt="" '
        'style="display:none">'
    )
    return _into_body(tracked, pixel)


def _into_body(html: str, addition: str) -> str:
    """`addition` at the end of the body: before `</body>` in a whole document."""
    closing = re.search(r"</body\s*>", html, re.IGNORECASE)
    if closing:
        return html[: closing.start()] + addition + html[closing.start() :]
    return html + addition


_DOCUMENT = re.compile(r"<!doctype\b|<html\b", re.IGNORECASE)


def html_document(html: str, title: str) -> str:
    """`html` as a whole document, which mailbox providers' filters expect (a bare fragment
    looks like a spammer's); a document the author wrote is kept as it is."""
    if _DOCUMENT.search(html):
        return html
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html_lib.escape(title)}</title>\n</head>\n<body>\n{html}\n</body>\n</html>\n"
    )


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})
    _HIDDEN = frozenset({"head", "script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._skip += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A plain-text alternative for an HTML-only email."""
    extractor = _TextExtractor()
    extractor.feed(html)
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# RFC 5322 2.1.1: a line may be this long (without its CRLF); 78 is only a "should".
_LINE_LIMIT = 998


class _OneLine(UniqueUnstructuredHeader, BaseHeader):
    """A header written on one line as it was given. RFC 2369's `<url>` must reach the
    receiver verbatim: folded, the default policy encodes a long URL (RFC 2047), and Gmail's
    and Yahoo's one-click unsubscribe no longer see it."""

    max_count: ClassVar[Literal[1]] = 1

    def fold(self, *, policy: Policy) -> str:
        line = f"{self.name}: {self}"
        if line.isascii() and len(line) <= _LINE_LIMIT:
            return line + policy.linesep
        return super().fold(policy=policy)  # still a valid header, if not a usable one


class _Registry(HeaderRegistry):
    """The standard registry, made cheaper for a worker that composes many messages: each
    header's class is built once (the standard registry builds one for every header it
    makes, a cycle left to the garbage collector each time), and the headers that describe
    the MIME structure, the same few values in every message but for a multipart's
    boundary, are parsed once. The email package never changes a header object once made
    (setting a parameter makes a new one), so messages can share them; and these carry no
    personal data, as long as no part is given a file name or a description."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._structure = functools.lru_cache(maxsize=64)(super().__call__)

    def __call__(self, name: str, value: str) -> BaseHeader:
        if name.lower().startswith(("content-", "mime-")):
            return self._structure(name, value)
        return super().__call__(name, value)

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._classes.clear()
        self._structure.cache_clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if (cls := self._classes.get(key)) is None:
            cls = self._classes[key] = super().__getitem__(key)
        return cls


_HEADERS = _Registry()
_HEADERS.map_to_type("list-unsubscribe", _OneLine)
_POLICY = SMTP.clone(header_factory=_HEADERS)


def mime_email(
    rendered: RenderedEmail,
    sender: str,
    to: str,
    message_id: str,
    unsubscribe_url: str | None = None,
) -> MimeMessage:
    """A multipart (text + HTML document) message whose Message-ID is the delivery's message
    id under the sender's domain, with RFC 8058 one-click unsubscribe headers when it is
    commercial."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "journeys.local"
    mime = MimeMessage(policy=_POLICY)
    mime["From"] = sender
    mime["To"] = to
    mime["Subject"] = rendered.subject
    mime["Date"] = datetime.now(UTC)  # `+0000`: `-0000` would say the zone is unknown
    mime["Message-ID"] = f"<{message_id}@{domain}>"
    mime[MESSAGE_ID_HEADER] = message_id
    if unsubscribe_url is not None:
        mime["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(rendered.text)
    if rendered.html is not None:
        mime.add_alternative(html_document(rendered.html, rendered.subject), subtype="html")
    return mime


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def shorten_links(text: str, shorten: Callable[[str], str], template: str) -> str:
    """Every http(s) link the author wrote in `template`, rendered in `text`, replaced by its
    short tracked form. A link that came from the data (a producer's attribute) is left as
    it is: a branded short link must never lead where the author did not point it."""
    written = [urlsplit(match.group(0).split("{", 1)[0]) for match in _URL.finditer(template)]
    # A written link may end in template values (`/offer?for={{ contact.email }}`): its
    # scheme, host and the path written before the first value must be the author's.
    prefixes = [
        (link.netloc, f"{link.scheme}://{link.netloc}{link.path}")
        for link in written
        if link.netloc
    ]

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        host = urlsplit(url).netloc
        if any(host == netloc and url.startswith(prefix) for netloc, prefix in prefixes):
            return shorten(url)
        return url

    return _URL.sub(replace, text)
