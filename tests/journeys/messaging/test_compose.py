"""MIME for SMTP: the HTML part as a whole document, and the unsubscribe header's line."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP

from journeys.definitions.journeys import EmailMessage
from journeys.messaging import compose

AUTHORED = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Ma lettre</title></head>
<body><p>Bonjour {{ contact.first_name }}</p></body></html>"""


def test_an_authored_document_is_kept_whole_with_the_additions_in_its_body() -> None:
    message = EmailMessage(subject="Hello", html=AUTHORED)
    tracking = compose.Tracking(pixel_url="https://j.test/t/o/p", click_url=lambda url: url)
    rendered = compose.render_email(
        message, compose.context({"first_name": "Ada"}, {}, {}), tracking, "https://j.test/u/x"
    )
    mime = compose.mime_email(rendered, "Shop <news@shop.example.com>", "a@example.com", "m1")
    part = mime.get_body(("html",))
    assert part is not None
    html = part.get_content()
    assert html.lower().count("<!doctype") == 1 and html.count("<html") == 1
    assert html.count("<title>") == 1 and "<title>Ma lettre</title>" in html
    body = html[html.index("<body>") : html.index("</body>")]
    assert "Bonjour Ada" in body and "/t/o/p" in body and "https://j.test/u/x" in body
    assert html.rstrip().endswith("</body></html>")
    # The text alternative made from it shows the body, not the head's title.
    assert rendered.text.startswith("Bonjour Ada\n\n--\nUnsubscribe: https://j.test/u/x")


def test_a_url_too_long_for_one_line_still_makes_a_valid_header() -> None:
    """Past RFC 5322's 998 characters a line may not go: the header is then folded as the
    standard policy does, which a parser still reads back to the same URL."""
    url = "https://j.test/u/" + "x" * 1000
    rendered = compose.RenderedEmail(subject="Hi", text="Hello")
    raw = compose.mime_email(rendered, "news@shop.example.com", "a@example.com", "m1", url)
    wire = raw.as_bytes()
    assert max(len(line) for line in wire.split(b"\r\n")) <= 998
    parsed = message_from_bytes(wire, policy=SMTP)
    assert isinstance(parsed, MimeMessage) and parsed["List-Unsubscribe"] == f"<{url}>"


def test_messages_composed_one_after_another_keep_their_own_headers_and_parts() -> None:
    """The structure headers are parsed once and shared between messages: each message must
    still read back with its own recipient, subject, encodings and boundary."""
    plain = compose.RenderedEmail(subject="Hi Ada", text="Hello Ada", html="<p>Hello Ada</p>")
    accented = compose.RenderedEmail(subject="Salut Zoé", text="Bonjour Zoé ✓", html=None)
    first = compose.mime_email(plain, "news@shop.example.com", "ada@example.com", "m1")
    second = compose.mime_email(accented, "news@shop.example.com", "zoe@example.com", "m2")
    third = compose.mime_email(plain, "news@shop.example.com", "bob@example.com", "m3")
    read = [message_from_bytes(m.as_bytes(), policy=SMTP) for m in (first, second, third)]
    assert all(isinstance(m, MimeMessage) for m in read)
    a, z, b = (m for m in read if isinstance(m, MimeMessage))
    assert [m["To"] for m in (a, z, b)] == ["ada@example.com", "zoe@example.com", "bob@example.com"]
    assert (a["Subject"], z["Subject"]) == ("Hi Ada", "Salut Zoé")
    assert a.get_content_type() == "multipart/alternative" == b.get_content_type()
    assert a.get_boundary() != b.get_boundary()
    assert z.get_content_type() == "text/plain" and z.get_content().strip() == "Bonjour Zoé ✓"
    for message in (a, b):
        text, html = message.get_body(("plain",)), message.get_body(("html",))
        assert text is not None and text.get_content().strip() == "Hello Ada"
        assert html is not None and "<p>Hello Ada</p>" in html.get_content()
