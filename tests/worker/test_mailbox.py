"""What mailbox providers receive: the bytes of a journey's email as they reached the SMTP
sink, read as Gmail's or Yahoo's intake would (the standard library's parser, strict), and
the header lines one-click unsubscribe depends on, byte for byte."""

from __future__ import annotations

import re
from datetime import timedelta
from email.headerregistry import DateHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP

from temporalio.testing import WorkflowEnvironment

from journeys.messaging.compose import MESSAGE_ID_HEADER
from tests.sinks import SmtpSink, eventually
from tests.worker.harness import Harness, unique
from tests.worker.test_workflow import WELCOME

STRICT = SMTP.clone(raise_on_defect=True)


async def test_a_journey_email_is_what_mailbox_providers_read(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    contact = unique("ada")
    address = f"{contact}@example.com"
    h.contact(contact, email=address, first_name="Ada & <Lovelace>", consent={"email": True})
    with temporal_env.with_time_skipping_disabled():
        await h.start(WELCOME, contact)
        await eventually(lambda: smtp_sink.raw_to(address))
    raw = smtp_sink.raw_to(address)[0]
    head = raw.partition(b"\r\n\r\n")[0] + b"\r\n"

    # RFC 2369 on one line (no folding, no RFC 2047 word), and RFC 8058's companion.
    unsubscribe = re.search(
        rb"^List-Unsubscribe: <(http://journeys\.test/u/[!-~]+)>\r\n", head, re.M
    )
    assert unsubscribe is not None, head
    assert b"=?" not in unsubscribe.group(0)
    assert not re.search(rb"^List-Unsubscribe: [^\r]*\r\n[ \t]", head, re.M)  # no continuation
    assert re.search(rb"^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", head, re.M)
    assert re.search(rb"^Date: [^\r]+ \+0000\r\n", head, re.M)

    mail = BytesParser(policy=STRICT).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    assert [d for part in mail.walk() for d in part.defects] == []
    assert [d for part in mail.walk() for h_ in part.values() for d in h_.defects] == []
    assert mail["List-Unsubscribe"] == f"<{unsubscribe.group(1).decode()}>"
    date = mail["Date"]
    assert isinstance(date, DateHeader) and date.datetime.utcoffset() == timedelta(0)
    assert mail["Message-ID"] == f"<{mail[MESSAGE_ID_HEADER]}@shop.example.com>"

    part = mail.get_body(("html",))
    assert part is not None and part.get_content_charset() == "utf-8"
    html = part.get_content().replace("\r\n", "\n")
    assert html.startswith("<!DOCTYPE html>\n<html>\n<head>\n")
    head_end = html.index("</head>")
    assert '<meta charset="utf-8">' in html[:head_end]
    assert "<title>Bienvenue Ada &amp; &lt;Lovelace&gt; !</title>" in html[:head_end]
    # The author's content, the open pixel and the unsubscribe link, all inside the body.
    body = html[html.index("<body>") : html.index("</body>")]
    assert "Merci de nous avoir rejoints." in body and "/t/o/" in body and "/u/" in body
    assert html.count("<html") == 1 and html.rstrip().endswith("</html>")
