"""The dashboard acts: an admin publishes a draft, pauses, resumes and stops a journey by
clicking, in a real browser, and each click does what the API's call of the same name does."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment

from tests.api.test_authoring import YAML, contact
from tests.sinks import eventually, outcome_of
from tests.ui.conftest import Dashboard, follow

PING = """
kind: Journey
id: ping
name: Ping
start: {trigger: contact.created}
steps:
  - {id: hello, email: {subject: "Hello {{ contact.first_name }}", text: "Hi."}}
  - {id: later, wait: P1D}
"""


async def test_an_admin_publishes_pauses_resumes_and_stops_a_journey(
    dashboard: Dashboard, temporal_env: WorkflowEnvironment, page: Page
) -> None:
    stack = dashboard.stack
    saved = await stack.api.put("/v1/journeys/ping", content=PING, headers=YAML)
    assert saved.status_code == 201, saved.text
    await dashboard.sign_in(page)
    await page.goto(f"{dashboard.url}/ui/journeys/ping")

    async def status() -> str:
        return str((await stack.api.get("/v1/journeys/ping")).json()["status"])

    # A draft offers only "Publish draft".
    buttons = page.locator(".actions [data-action]")
    assert await buttons.evaluate_all("bs => bs.map(b => b.dataset.action)") == ["publish"]
    await follow(page, "[data-action=publish]")
    assert urlsplit(page.url).path == "/ui/journeys/ping"
    assert await page.locator(".alert.done").inner_text() == "The draft is published."
    assert await status() == "published"
    # A journey without a goal shows no conversion.
    assert await page.locator("[data-figure=goal_reached]").count() == 0

    with temporal_env.with_time_skipping_disabled():
        # A contact who withheld email consent: blocked, the reason beside the number.
        blocked = await contact(stack, consent={"email": False})
        await stack.fire("contact.created", contact_id=blocked)
        running = await contact(stack)
        await stack.fire("contact.created", contact_id=running)

        async def both_waiting() -> bool:
            stats = (await stack.api.get("/v1/journeys/ping/stats")).json()
            hello = stats["steps"][0]
            return bool(
                stats["active"] == 2 and hello["processed"] + sum(hello["blocked"].values()) == 2
            )

        await eventually(both_waiting)
        await page.reload()
        hello = page.locator("#funnel tr[data-step=hello]")
        assert await hello.locator("[data-figure=blocked]").inner_text() == "1"
        assert await hello.locator(".why li").all_inner_texts() == ["no consent 1"]
        # Today's bar in the 30-day trends: two entries, one message sent (one blocked).
        totals = {
            figure: await page.locator(f"[data-trend={figure}] svg").get_attribute("data-total")
            for figure in ("entered", "sent", "opened")
        }
        assert totals == {"entered": "2", "sent": "1", "opened": "0"}
        assert await page.locator("[data-trend=goals]").count() == 0  # no goal, no goals
        assert await page.locator("[data-trend=entered] rect").count() == 30

        await follow(page, "[data-action=pause]")
        assert "paused" in await page.locator(".alert.done").inner_text()
        assert await status() == "paused"
        refused = await stack.fire("contact.created", contact_id=await contact(stack))
        assert refused.json()["refused"] == [{"journey": "ping", "reason": "journey_paused"}]

        await follow(page, "[data-action=resume]")
        assert await status() == "published"

        # Stopping asks for a second click (the pages run no script).
        assert not await page.locator("[data-action=stop]").is_visible()
        await page.click(".confirm summary")
        await follow(page, "[data-action=stop]")
        assert await status() == "stopped"
        ended = await outcome_of(temporal_env.client.get_workflow_handle(f"journey/ping/{running}"))
        assert ended["reason"] == "journey_stopped"
        # A stopped journey can go live again, and nothing else.
        actions = await buttons.evaluate_all("bs => bs.map(b => b.dataset.action)")
        assert actions == ["publish"]


async def test_a_refused_action_says_why_and_one_from_another_site_does_nothing(
    dashboard: Dashboard, page: Page
) -> None:
    stack = dashboard.stack
    assert (await stack.api.put("/v1/journeys/ping", content=PING, headers=YAML)).is_success
    await dashboard.sign_in(page)
    # The page offers no "Resume" for a draft; a form sent anyway is refused, saying why.
    refused = await page.request.post(f"{dashboard.url}/ui/journeys/ping/resume")
    assert refused.status == 409
    assert "Not done:" in await refused.text()
    assert (await stack.api.get("/v1/journeys/ping")).json()["status"] == "draft"
    # Signed in, but the form comes from another site: refused before anything is done.
    forged = await page.request.post(
        f"{dashboard.url}/ui/journeys/ping/publish", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status == 403
    assert (await stack.api.get("/v1/journeys/ping")).json()["status"] == "draft"
