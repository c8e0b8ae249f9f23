"""The journey editor in a real headless Chromium, over real HTTP, against the real stack:
a journey built by clicking and typing only, published and run; every sample journey opened
and saved unchanged; problems beside their fields; the simulate panel; two tabs."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from playwright.async_api import ConsoleMessage, Page, expect
from temporalio.testing import WorkflowEnvironment

from journeys.definitions.documents import load_bundle, to_document
from tests.api.stack import WORKFLOWS
from tests.sinks import SmtpSink, eventually
from tests.ui.conftest import ADMIN_KEY, Dashboard, follow

DOCS = Path(__file__).parents[2] / "docs"
BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"


async def posting(page: Page, action: Awaitable[Any]) -> None:
    """Do something that posts a change, and wait until the form it answers is in place."""
    async with page.expect_response(lambda r: "/ui/editor/" in r.url):
        await action
    await expect(page.locator(BUSY)).to_have_count(0)


async def type_in(page: Page, label: str, text: str, within: str = "#editor") -> None:
    """Type in a field as a person would, then leave it (Tab). A text field posts its change
    on leaving; a time or date-time field as soon as it holds a whole value (Playwright
    fires its `change` within `fill`), so the wait for the answer starts before the typing."""
    field = page.locator(within).get_by_label(label, exact=True)

    async def type_and_leave() -> None:
        await field.fill(text)
        await field.press("Tab")

    await posting(page, type_and_leave())


async def pick(page: Page, label: str, value: str) -> None:
    await posting(page, page.get_by_label(label, exact=True).select_option(value))


async def add_step(page: Page, steps: str, kind: str) -> None:
    """Add a step of `kind` to the list of steps at `steps` (steps, steps.1.then, ...)."""
    await page.select_option(f"[name='kind:{steps}']", kind)
    await posting(page, page.click(f"[data-add='{steps}']"))


def sample(journey_id: str) -> dict[str, Any]:
    """A sample journey as `journeys apply workflows/` stores it."""
    found = [j for j in load_bundle([WORKFLOWS]).journeys if j.id == journey_id]
    return to_document(found[0])


async def open_sample(dashboard: Dashboard, page: Page, journey_id: str) -> None:
    """Sign in and open a new journey made from a sample, unsaved."""
    await dashboard.stack.put_triggers()
    await dashboard.sign_in(page)
    await page.goto(f"{dashboard.url}/ui/journeys/new?start={journey_id}")


async def saved_as_its_file(dashboard: Dashboard, page: Page, journey_id: str) -> bool:
    """Save the draft: is the stored definition the sample's file?"""
    await posting(page, page.click("[data-action=save]"))
    stored = (await dashboard.http.get(f"/v1/journeys/{journey_id}")).json()
    return bool(stored["definition"] == sample(journey_id))


def csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        # Chromium asks every site for a favicon; the dashboard has none.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def test_the_welcome_journey_is_built_by_clicking_and_typing_then_runs(
    dashboard: Dashboard, temporal_env: WorkflowEnvironment, page: Page, smtp_sink: SmtpSink
) -> None:
    errors = csp_errors(page)
    await dashboard.stack.put_triggers()
    await dashboard.sign_in(page)
    await follow(page, "#new-journey")
    await follow(page, "[data-start='']")
    assert page.url.endswith("/ui/journeys/new?start=")

    await type_in(page, "Journey id", "welcome")
    await type_in(page, "Name", "Welcome new contacts")
    await pick(page, "Audience", "contact")
    await type_in(page, "Timezone", "Europe/Paris")
    await pick(page, "Start trigger", "contact.created")
    await pick(page, "Re-entry", "never")
    await posting(page, page.get_by_role("button", name="Add an exit trigger").click())
    await pick(page, "Exit 1: trigger", "order.placed")

    await add_step(page, "steps", "email")
    await type_in(page, "Step id", "welcome")
    await type_in(page, "Subject", "Bienvenue {{ contact.first_name }} !")
    html = (
        "<p>Bonjour {{ contact.first_name }},</p>\n<p>Merci de nous avoir rejoints. "
        '<a href="https://shop.example.com/new">Voir les nouveautés</a></p>\n'
    )
    await type_in(page, "HTML body", html)
    await type_in(
        page, "Text body", "Bonjour {{ contact.first_name }}, merci de nous avoir rejoints."
    )

    await add_step(page, "steps", "wait_for")
    await type_in(page, "Step id", "opened", within="[data-step=wait_for_1]")
    await pick(page, "Wait for trigger", "email.opened")
    await type_in(page, "Answering step", "welcome")
    await type_in(page, "Within", "3")

    await add_step(page, "steps.1.then", "sms")
    then = "[data-list='steps.1.then'] [data-kind=sms]"
    await type_in(page, "Step id", "welcome", within=then)  # a mistake: the id is taken
    taken = page.locator("[data-field='steps[1].then[0].id'] .problems")
    assert "welcome" in await taken.inner_text()
    await type_in(page, "Step id", "thanks", within=then)
    await type_in(page, "Text", "Merci {{ contact.first_name }}, à très vite !")

    await add_step(page, "steps.1.else", "email")
    reminder = "[data-list='steps.1.else'] [data-kind=email]"
    await type_in(page, "Step id", "reminder", within=reminder)
    subject = "{{ contact.first_name }}, votre cadeau de bienvenue vous attend"
    await type_in(page, "Subject", subject, within=reminder)
    text = "Un petit rappel : votre cadeau de bienvenue vous attend."
    await type_in(page, "Text body", text, within=reminder)

    assert await page.locator("[data-problem-count]").count() == 0
    assert await page.locator("#graph img").evaluate("img => img.complete && img.naturalWidth") > 0
    preview = page.locator("[data-preview=welcome]")
    assert "Bienvenue Ada !" in await preview.inner_text()

    DOCS.mkdir(exist_ok=True)
    await page.locator(".crumbs").scroll_into_view_if_needed()
    await page.screenshot(path=DOCS / "editor.png")

    await posting(page, page.click("[data-action=publish]"))
    assert await page.locator("#notice").inner_text() == "Published as version 1."
    assert page.url.endswith("/ui/journeys/welcome/edit")
    stored = (await dashboard.http.get("/v1/journeys/welcome")).json()
    assert stored["definition"] == sample("welcome")
    assert stored["live_version"] == 1
    await type_in(page, "Name", "Welcome back")
    await posting(page, page.click("[data-action=diff]"))
    changed = await page.locator("#diff pre").inner_text()
    assert "-name: Welcome new contacts\n+name: Welcome back" in changed

    with temporal_env.with_time_skipping_disabled():
        contact = await dashboard.stack.contact(first_name="Ada")
        fired = await dashboard.stack.fire("contact.created", contact_id=contact)
        assert fired.status_code == 202, fired.text
        await eventually(lambda: smtp_sink.to(f"{contact}@example.com"))
    assert smtp_sink.to(f"{contact}@example.com")[0]["Subject"] == "Bienvenue Ada !"
    assert errors == [], errors[:6]


async def test_every_sample_journey_opens_and_saves_unchanged(
    dashboard: Dashboard, page: Page
) -> None:
    errors = csp_errors(page)
    await dashboard.stack.put_triggers()
    await dashboard.sign_in(page)
    journeys = [journey.id for journey in load_bundle([WORKFLOWS]).journeys]
    assert len(journeys) == 4
    for journey_id in journeys:
        await page.goto(f"{dashboard.url}/ui/journeys/new")
        await follow(page, f"[data-start='{journey_id}']")
        assert await saved_as_its_file(dashboard, page, journey_id), journey_id
        assert await page.locator("#notice").inner_text() == "Draft saved (revision 1)."
        # Opened again from what was saved, and saved unchanged: nothing changes.
        await page.goto(f"{dashboard.url}/ui/journeys/{journey_id}/edit")
        await posting(page, page.click("[data-action=save]"))
        assert await page.locator("#notice").inner_text() == "Draft saved (revision 1)."
    assert errors == [], errors[:6]


async def test_a_problem_shows_beside_its_field_and_saves_but_does_not_publish(
    dashboard: Dashboard, page: Page
) -> None:
    await open_sample(dashboard, page, "welcome")
    await type_in(page, "Subject", "", within="[data-step=welcome]")
    subject = page.locator("[data-field='steps[0].email.subject']")
    assert "at least 1 character" in await subject.locator(".problems").inner_text()
    assert await subject.locator("input").get_attribute("aria-invalid") == "true"
    # Enter in a field checks the journey, and presses no other button.
    exits = page.locator("[name$='.trigger'][name^='f:exit.']")
    assert await exits.count() == 1
    await posting(page, page.get_by_label("Name", exact=True).press("Enter"))
    assert await exits.count() == 1
    await posting(page, page.click("[data-action=publish]"))
    assert "fix its problems" in await page.locator("#notice").inner_text()
    stored = (await dashboard.http.get("/v1/journeys/welcome")).json()
    assert stored["status"] == "draft" and stored["live_version"] is None


async def test_the_simulate_panel_shows_the_path(dashboard: Dashboard, page: Page) -> None:
    await open_sample(dashboard, page, "welcome")
    await posting(page, page.click("[data-action=simulate]"))
    assert await page.locator("#sim-path").inner_text() == "welcome → opened → reminder"
    await page.fill("#sim_events", "+2h email.opened of welcome")
    await posting(page, page.click("[data-action=simulate]"))
    assert await page.locator("#sim-path").inner_text() == "welcome → opened → thanks"
    messages = page.locator("#simulation [data-message]")
    assert await messages.evaluate_all("ms => ms.map(m => m.dataset.message)") == [
        "welcome",
        "thanks",
    ]
    assert "Bienvenue Ada !" in await messages.first.inner_text()


async def test_a_second_tab_cannot_overwrite_the_first(dashboard: Dashboard, page: Page) -> None:
    await open_sample(dashboard, page, "welcome")
    await posting(page, page.click("[data-action=save]"))
    other = await page.context.new_page()
    for tab in (page, other):
        await tab.goto(f"{dashboard.url}/ui/journeys/welcome/edit")
    # Typed, then saved at once: the save carries what was typed.
    await other.get_by_label("Name", exact=True).fill("Welcome, from the other tab")
    await posting(other, other.click("[data-action=save]"))
    assert await other.locator("#notice").inner_text() == "Draft saved (revision 2)."

    await type_in(page, "Name", "Welcome, from this tab")
    await posting(page, page.click("[data-action=save]"))
    assert "saved elsewhere (revision 2)" in await page.locator("#notice").inner_text()
    assert "name" in await page.locator("#conflict").inner_text()
    assert await page.get_by_label("Name", exact=True).input_value() == "Welcome, from this tab"
    stored = (await dashboard.http.get("/v1/journeys/welcome")).json()
    assert stored["definition"]["name"] == "Welcome, from the other tab"


async def test_an_expired_session_keeps_the_work_and_asks_to_sign_in(
    dashboard: Dashboard, page: Page
) -> None:
    await open_sample(dashboard, page, "welcome")
    await posting(page, page.click("[data-action=save]"))  # the address becomes /edit
    assert page.url.endswith("/ui/journeys/welcome/edit")
    assert await page.locator("#signed-out").is_hidden()
    await page.context.clear_cookies()
    name = page.get_by_label("Name", exact=True)
    await name.fill("Unsaved work")
    async with page.expect_response(lambda r: r.status == 401):
        await name.press("Tab")
    await page.locator("#signed-out").wait_for(state="visible")
    assert await name.input_value() == "Unsaved work"
    # Signed in again in a new tab, which then shows the editor page this one is.
    async with page.context.expect_page() as opened:
        await page.click("#sign-in-again")
    login = await opened.value
    await login.fill("#api_key", ADMIN_KEY)
    await follow(login, "button[type=submit]")
    assert login.url == page.url
    assert await login.get_by_label("Name", exact=True).input_value() == "Welcome new contacts"
    await posting(page, name.press("Enter"))  # this tab carries on, signed in
    assert await page.locator("#signed-out").is_hidden()
    assert await name.input_value() == "Unsaved work"


async def test_the_yaml_tab_replaces_the_document(dashboard: Dashboard, page: Page) -> None:
    errors = csp_errors(page)
    await open_sample(dashboard, page, "welcome")
    assert await page.locator("#yaml-tab").is_hidden()
    await posting(page, page.get_by_role("tab", name="YAML").click())
    assert await page.locator("#form-tab").is_hidden()

    async def type_yaml(text: str) -> None:
        await page.locator("#yaml-tab .CodeMirror").click()
        await page.keyboard.press("Control+A")
        await page.keyboard.insert_text(text)

    name = page.get_by_label("Name", exact=True)
    await type_yaml("kind: Journey\nid: welcome\nname: Typed\n")
    await posting(page, page.click("[data-action=yaml]"))
    assert await name.input_value() == "Typed"
    assert await page.locator("[data-step]").count() == 0
    assert "steps" in await page.locator("#problems").inner_text()  # a journey needs one
    # What is not a journey is refused, and the document stays as it was.
    await type_yaml("name: [unclosed")
    await posting(page, page.click("[data-action=yaml]"))
    assert "this is not YAML" in await page.locator("#problems").inner_text()
    assert await name.input_value() == "Typed"
    await posting(page, page.get_by_role("tab", name="Form").click())
    assert await page.locator("#form-tab").is_hidden()  # the text is kept, to be mended
    assert "[unclosed" in await page.locator("#yaml-tab .CodeMirror").inner_text()
    # Going back to the form applies what was typed: one truth.
    await type_yaml("kind: Journey\nid: welcome\nname: Typed again\n")
    await posting(page, page.get_by_role("tab", name="Form").click())
    assert await page.locator("#yaml-tab").is_hidden()
    assert await name.input_value() == "Typed again"
    assert errors == [], errors[:6]


async def click(page: Page, button: str, within: str = "#editor") -> None:
    await posting(page, page.locator(within).get_by_role("button", name=button, exact=True).click())


async def test_order_followup_is_edited_in_forms_and_saved_as_its_file(
    dashboard: Dashboard, page: Page
) -> None:
    """Its parts once typed as YAML in a field: activate attributes copied from the run, a
    wait for any of two triggers with a condition, a webhook body; removed, then made again
    by clicking and typing."""
    errors = csp_errors(page)
    await open_sample(dashboard, page, "order-followup")
    assert await page.locator("#form-tab textarea.mono").count() == 0  # no YAML in a field

    morning = "[data-step=next-morning]"
    await type_in(page, "Until the time", "10:30", morning)
    await type_in(page, "Until the time", "09:00", morning)
    for day in ("sat", "fri", "sat", "fri"):  # checked, then unchecked; fri the other way
        await posting(page, page.locator(morning).get_by_label(day, exact=True).click())
    assert await page.locator(morning).get_by_label("fri", exact=True).is_checked()

    await pick(page, "One run at a time per", "")
    await pick(page, "One run at a time per", "binding")

    reward = "[data-step=reward]"
    await click(page, "Attribute 2: Remove", reward)
    await click(page, "Attribute: Add attribute", reward)
    await type_in(page, "Attribute 2: name", "order_id", reward)
    await pick(page, "Attribute 2: is", "from")
    await type_in(page, "Attribute 2: copied from", "trigger.order_id", reward)

    reviewed = "[data-step=reviewed]"
    await click(page, "Trigger 2: Remove", reviewed)
    await click(page, "Wait for: Add a trigger to wait for", reviewed)
    await pick(page, "Trigger 2", "review.posted")
    await click(page, "Trigger 2: only when: Add a condition", reviewed)
    await click(page, "Trigger 2: only when: And another", reviewed)  # all of two
    await pick(page, "Trigger 2: only when: match", "any")
    await click(page, "Trigger 2: only when 2: Remove", reviewed)
    await click(page, "Trigger 2: only when: Remove", reviewed)
    await click(page, "Trigger 2: only when: Add a condition", reviewed)
    await type_in(page, "Trigger 2: only when: attribute", "event.stars", reviewed)
    await pick(page, "Trigger 2: only when: operator", "gte")
    await type_in(page, "Trigger 2: only when: value", "1", reviewed)

    crm = "[data-step=tell-crm]"
    for _ in range(3):
        await click(page, "Body field 1: Remove", crm)
    for number, (name, value) in enumerate(
        [
            ("contact", "{{ contact.id }}"),
            ("order", "{{ trigger.order_id }}"),
            ("reviewed", "{{ event.stars }}"),
        ],
        start=1,
    ):
        await click(page, "Body field: Add body field", crm)
        await type_in(page, f"Body field {number}: name", name, crm)
        await type_in(page, f"Body field {number}: value", value, crm)

    # Into the else arm of the wait_for before it, and out again: after that step.
    await click(page, "Move step tell-crm into else (it did not) of the step before")
    last_call = page.locator("[data-list='steps.3.else'] > li")
    assert await last_call.evaluate_all("ss => ss.map(s => s.dataset.step)") == [
        "last-call",
        "tell-crm",
    ]
    await click(page, "Move step tell-crm out of its arm")
    assert await last_call.count() == 1

    assert await page.locator("[data-problem-count]").count() == 0
    assert await saved_as_its_file(dashboard, page, "order-followup")
    assert errors == [], errors[:6]


async def test_loyalty_points_entry_rules_and_reentry_are_set_in_forms(
    dashboard: Dashboard, page: Page
) -> None:
    errors = csp_errors(page)
    await open_sample(dashboard, page, "loyalty-points")
    await type_in(page, "At most (entries)", "")
    await pick(page, "Entries per", "")
    assert '"entry":' not in await page.locator("#editor [name=document]").input_value()
    await type_in(page, "At most (entries)", "500")
    await pick(page, "Entries per", "day")
    await pick(page, "Re-entry", "always")
    assert await page.get_by_label("Re-entry after", exact=True).count() == 0
    await pick(page, "Re-entry", "after")
    await type_in(page, "Re-entry after", "1")

    await type_in(page, "Entries from", "2026-03-01T09:00")
    await type_in(page, "Entries from: UTC offset", "+01:00")
    assert await page.locator("[data-field='entry.from'] .problems").count() == 0
    assert (
        '"from": "2026-03-01T09:00:00+01:00"'
        in await page.locator("#editor [name=document]").input_value()
    )
    await type_in(page, "Entries from", "")

    await add_step(page, "steps", "wait_moment")
    moment = "[data-step=wait_moment_1]"
    await type_in(page, "Until", "2026-04-01T08:30", moment)
    await type_in(page, "Until: UTC offset", "Z", moment)
    assert await page.locator(f"{moment} .problems").count() == 0
    await click(page, "Remove step wait_moment_1")

    await click(page, "Start only when: Remove")
    await click(page, "Start only when: Add a condition")
    await type_in(page, "Start only when: attribute", "trigger.points")
    await pick(page, "Start only when: operator", "gt")
    await type_in(page, "Start only when: value", "0")

    assert await page.locator("[data-problem-count]").count() == 0
    assert await saved_as_its_file(dashboard, page, "loyalty-points")
    assert errors == [], errors[:6]
