"""One contact in the dashboard, found by email: their runs, the entries refused and why,
their messages with what became of each; and taking them out of a journey from there."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment

from tests.api.test_authoring import YAML, contact
from tests.sinks import SmtpSink, eventually, outcome_of
from tests.ui.conftest import Dashboard, follow

HELLO = """
kind: Journey
id: hello
name: Hello
start: {trigger: contact.created}
reentry: never
steps:
  - {id: greet, email: {subject: "Hello {{ contact.first_name }}", html: "<p>Hi.</p>"}}
  - {id: later, wait: P1D}
"""


async def test_an_admin_finds_a_contact_and_sees_what_happened_to_them(
    dashboard: Dashboard, temporal_env: WorkflowEnvironment, page: Page, smtp_sink: SmtpSink
) -> None:
    stack = dashboard.stack
    assert (await stack.api.put("/v1/journeys/hello", content=HELLO, headers=YAML)).is_success
    assert (await stack.api.post("/v1/journeys/hello/publish")).is_success

    with temporal_env.with_time_skipping_disabled():
        ada = await contact(stack, phone="+33612345678")
        email = f"{ada}@example.com"
        await stack.fire("contact.created", contact_id=ada)
        await eventually(lambda: smtp_sink.to(email))
        html = smtp_sink.to(email)[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
        pixel = re.search(r'src="http://journeys.test(/t/o/[^"]+)"', html)
        assert pixel is not None
        assert (await dashboard.http.get(pixel.group(1))).status_code == 200  # opened
        again = await stack.fire("contact.created", contact_id=ada)
        assert again.json()["refused"] == [{"journey": "hello", "reason": "already_in_journey"}]

        async def opened() -> bool:
            messages = (await stack.api.get(f"/v1/contacts/{ada}/messages")).json()
            return bool(messages and messages[0]["opened_at"])

        await eventually(opened)

        # Found by email, typed in upper case as people do: one match opens its page.
        await dashboard.sign_in(page)
        await follow(page, "nav.nav >> text=Contacts")
        await page.fill("#q", email.upper())
        await follow(page, "form.search button")
        assert urlsplit(page.url).path == f"/ui/contacts/{ada}"
        assert await page.locator("[data-consent=email] dd").inner_text() == "yes"

        run = page.locator("#runs tr.run[data-journey=hello]")
        assert await run.locator(".badge").inner_text() == "active"
        assert await page.locator("#refusals tr.refusal td:last-child").all_inner_texts() == [
            "already_in_journey"
        ]
        message = page.locator("#messages tr.message[data-step=greet]")
        assert await message.locator(".badge").inner_text() == "sent"
        receipts = await message.locator("[data-receipt]").evaluate_all(
            "items => items.map(item => item.dataset.receipt)"
        )
        assert receipts == ["sent", "opened"]

        # Taken out from here: back on this page, the run has ended.
        await follow(page, "#runs tr.run[data-journey=hello] button.remove")
        assert urlsplit(page.url).path == f"/ui/contacts/{ada}"
        ended = await outcome_of(temporal_env.client.get_workflow_handle(f"journey/hello/{ada}"))
        assert ended["reason"] == "removed"

        # An unknown id or email says so; an unknown contact's page is a 404 page.
        await page.goto(f"{dashboard.url}/ui/contacts?q=nobody%40example.com")
        assert "No contact has the id or email" in await page.locator(".empty").inner_text()
        missing = await page.goto(f"{dashboard.url}/ui/contacts/nobody")
        assert missing is not None and missing.status == 404


async def test_the_contact_pages_need_a_session(dashboard: Dashboard) -> None:
    async with httpx.AsyncClient(base_url=dashboard.url) as anonymous:
        answer = await anonymous.get("/ui/contacts?q=ada")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login")
