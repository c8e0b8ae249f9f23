"""The dashboard driven in a real browser: sign in, the journeys, one journey's figures
(checked against the stats API), its runs (linked to Temporal), its graph and refusals."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment

from tests.api.test_authoring import YAML, contact, publish
from tests.sinks import eventually, outcome_of
from tests.ui.conftest import Dashboard, follow

TRIGGERS: list[dict[str, Any]] = [
    {"name": "trial.started", "attributes": [{"name": "plan", "type": "text", "required": True}]},
    {"name": "app.opened", "attributes": []},
    {"name": "plan.upgraded", "attributes": []},
]

TRIAL = """
kind: Journey
id: trial
name: Trial onboarding
start: {trigger: trial.started, when: {attr: trigger.plan, op: eq, value: pro}}
reentry: never
goal: {trigger: plan.upgraded, within: P7D}
steps:
  - {id: welcome, email: {subject: "Welcome {{ contact.first_name }}", text: "Glad you are here."}}
  - id: first-use
    wait_for: {trigger: app.opened, within: P2D}
    else: [{id: nudge, email: {subject: "Need a hand?", text: "Reply to this email."}}]
"""


async def figures(page: Page, selector: str) -> dict[str, int]:
    """The numbers in the `data-figure` cells under `selector`, by figure name."""
    cells = page.locator(f"{selector} [data-figure]")
    found = {}
    for index in range(await cells.count()):
        cell = cells.nth(index)
        name = await cell.get_attribute("data-figure")
        value = await cell.locator(".kpi-value").all_inner_texts() or [await cell.inner_text()]
        assert name is not None
        found[name] = int(value[0].strip())
    return found


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_an_admin_follows_a_journey_in_the_dashboard(
    dashboard: Dashboard, temporal_env: WorkflowEnvironment, page: Page, tmp_path: Path
) -> None:
    stack, client = dashboard.stack, temporal_env.client
    for trigger in TRIGGERS:
        assert (await stack.api.put(f"/v1/triggers/{trigger['name']}", json=trigger)).is_success
    await publish(stack, TRIAL)

    # Runs stay where they are (waiting) while the page is read: no time skipping here.
    with temporal_env.with_time_skipping_disabled():
        ada, bea, cleo, dan = [await contact(stack) for _ in range(4)]
        for someone in (ada, bea, cleo):
            await stack.fire("trial.started", contact_id=someone, attributes={"plan": "pro"})
        await stack.fire("trial.started", contact_id=dan, attributes={"plan": "free"})

        async def stats() -> dict[str, Any]:
            answer = await dashboard.http.get("/v1/journeys/trial/stats")
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()
            return result

        async def all_waiting() -> bool:
            return bool((await stats())["steps"][1]["inflow"] == 3)

        await eventually(all_waiting)
        await stack.fire("plan.upgraded", contact_id=ada)  # her goal
        await stack.fire("app.opened", contact_id=ada)
        ended = await outcome_of(client.get_workflow_handle(f"journey/trial/{ada}"))
        assert ended["status"] == "completed"
        await stack.fire("trial.started", contact_id=ada, attributes={"plan": "pro"})  # again

        async def settled() -> bool:
            now = await stats()
            return bool(sum(now["refused"].values()) == 2 and now["goal_reached"] == 1)

        await eventually(settled)
        expected = await stats()
        assert (expected["entered"], expected["active"], expected["completed"]) == (3, 2, 1)
        assert expected["refused"] == {"condition_false": 1, "reentry_blocked": 1}

        # Signing in: the dashboard sends a stranger to the form, then back where they were.
        await page.goto(f"{dashboard.url}/ui/journeys/trial")
        assert urlsplit(page.url).path == "/ui/login"
        await page.screenshot(path=tmp_path / "login.png")
        assert png_size(tmp_path / "login.png") == (1280, 800)
        await page.fill("#api_key", "test-admin-key")
        await follow(page, "button[type=submit]")
        assert urlsplit(page.url).path == "/ui/journeys/trial"

        # The journeys list.
        await follow(page, "a.brand")
        row = page.locator("tr[data-journey=trial]")
        assert await row.locator("a.title").inner_text() == "Trial onboarding"
        assert await row.locator(".badge").inner_text() == "published"
        assert await figures(page, "tr[data-journey=trial]") == {"entered": 3, "active": 2}
        await page.screenshot(path=tmp_path / "journeys.png")
        assert png_size(tmp_path / "journeys.png") == (1280, 800)

        # One journey: the totals and the funnel are the stats API's.
        await follow(page, "tr[data-journey=trial] a.title")
        assert urlsplit(page.url).path == "/ui/journeys/trial"
        totals = await figures(page, ".kpis")
        assert totals == {
            "entered": expected["entered"],
            "active": expected["active"],
            "completed": expected["completed"],
            "exited": sum(expected["exited"].values()),
            "goal_reached": expected["goal_reached"],
            "refused": sum(expected["refused"].values()),
        }
        for step in expected["steps"]:
            shown = await figures(page, f"#funnel tr[data-step='{step['step']}']")
            assert shown == {
                "inflow": step["inflow"],
                "processed": step["processed"],
                "postponed": step["postponed"],
                "blocked": sum(step["blocked"].values()),
                "failed": step["failed"],
            }, step["step"]
        steps = await page.locator("#funnel tr[data-step]").evaluate_all(
            "rows => rows.map(row => row.dataset.step)"
        )
        assert steps == ["welcome", "first-use", "nudge"]
        email = await figures(page, "#channels tr[data-channel=email]")
        assert email["sent"] == expected["channels"]["email"]["sent"] == 3

        # Recent runs link to their very run in the Temporal Web UI.
        links = await page.locator("#runs a.temporal").evaluate_all(
            "links => links.map(link => link.href)"
        )
        assert len(links) == 3
        base = f"{stack.harness.settings.temporal_ui_url}/namespaces/default/workflows/"
        runs = set()
        for link in links:
            assert link.startswith(base) and link.endswith("/history"), link
            workflow_id, run_id = unquote(link.removeprefix(base)).rsplit("/", 2)[:2]
            description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
            runs.add((workflow_id, description.run_id))
        assert {workflow_id for workflow_id, _ in runs} == {
            f"journey/trial/{someone}" for someone in (ada, bea, cleo)
        }

        # Taking one contact out of the journey, from its run's row.
        await follow(page, f"#runs tr.run:has-text('{bea}') button.remove")
        assert urlsplit(page.url).path == "/ui/journeys/trial"
        removed = await outcome_of(client.get_workflow_handle(f"journey/trial/{bea}"))
        assert removed["reason"] == "removed"

        # Refusals, with their reasons.
        assert await page.locator("#refusals tr.refusal").count() == 2
        reasons = await page.locator("#refusals tr.refusal td:last-child").all_inner_texts()
        assert sorted(reasons) == ["condition_false", "reentry_blocked"]

        # The graph: the journey's SVG, drawn.
        picture = page.locator("#graph img")
        assert await picture.evaluate("img => img.complete && img.naturalWidth") > 0
        source = await picture.get_attribute("src")
        assert source is not None
        drawn = await page.request.get(f"{dashboard.url}{source}")
        assert drawn.headers["content-type"] == "image/svg+xml"
        reference = await dashboard.http.get(
            "/v1/journeys/trial/graph", params={"version": 1}, headers={"Accept": "image/svg+xml"}
        )
        assert await drawn.text() == reference.text

        # The first screen shows the figures, the funnel and the graph, without sideways scroll.
        shot = tmp_path / "journey.png"
        await page.screenshot(path=shot)
        assert png_size(shot) == (1280, 800)
        for part in (".kpis", "#funnel table", "#graph img"):
            box = await page.locator(part).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 40, part
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, part
            assert box["y"] < 800, part
        assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
        whole = tmp_path / "journey-full.png"
        await page.screenshot(path=whole, full_page=True)
        width, height = png_size(whole)
        assert width == 1280 and height > 800  # the runs and refusals follow below

        # Counting one version: its tab, its figures.
        await follow(page, ".tabs >> text=v1")
        assert parse_qs(urlsplit(page.url).query) == {"version": ["1"]}
        assert await page.locator(".tabs a.active").inner_text() == "v1"
        first = (await dashboard.http.get("/v1/journeys/trial/stats?version=1")).json()
        assert (await figures(page, ".kpis"))["entered"] == first["entered"] == 3
        missing = await page.goto(f"{dashboard.url}/ui/journeys/trial?version=9")
        assert missing is not None and missing.status == 404
        assert await page.locator("main").inner_text() == (
            "Not found\n\njourney trial has no version 9\n\nBack to the journeys"
        )


ATTACK = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"

MARKUP = f"""
kind: Journey
id: markup
name: {json.dumps("Spring <sale> " + ATTACK)}
start: {{trigger: app.opened}}
steps:
  - {{id: bye, exit: {json.dumps("<b>" + ATTACK + "</b>")}}}
"""


async def test_names_and_reasons_are_shown_as_text_never_as_markup(
    dashboard: Dashboard, page: Page
) -> None:
    stack = dashboard.stack
    for trigger in TRIGGERS:
        assert (await stack.api.put(f"/v1/triggers/{trigger['name']}", json=trigger)).is_success
    await publish(stack, MARKUP)
    someone = await contact(stack)
    await stack.fire("app.opened", contact_id=someone)

    async def exited() -> bool:
        answer = await dashboard.http.get("/v1/journeys/markup/stats")
        return bool(answer.json()["exited"])

    await eventually(exited)
    await dashboard.sign_in(page)
    name = "Spring <sale> " + ATTACK

    assert await page.locator("tr[data-journey=markup] a.title").inner_text() == name
    await follow(page, "tr[data-journey=markup] a.title")
    assert await page.locator("h1 .name").inner_text() == name
    assert await page.title() == f"{name} · Journeys"
    assert await page.locator("#runs .run .sub").inner_text() == f"<b>{ATTACK}</b>"
    # Nothing the names carried became an element, nor ran.
    assert await page.locator("script, main img:not(#graph img), main b").count() == 0
    html = await (await page.request.get(page.url)).text()
    assert "&lt;script&gt;" in html and "<script>" not in html


async def test_every_sample_journey_has_a_page_that_fits(
    dashboard: Dashboard, page: Page, tmp_path: Path
) -> None:
    await dashboard.stack.apply_workflows()
    await dashboard.sign_in(page)
    journeys = await page.locator("tr[data-journey]").evaluate_all(
        "rows => rows.map(row => row.dataset.journey)"
    )
    assert journeys == sorted(["welcome", "cart-recovery", "order-followup", "loyalty-points"])
    for journey in journeys:
        await page.goto(f"{dashboard.url}/ui/journeys/{journey}")
        picture = page.locator("#graph img")
        assert await picture.evaluate("img => img.complete && img.naturalWidth") > 0, journey
        assert await page.evaluate("document.documentElement.scrollWidth") <= 1280, journey
        steps = await page.locator("#funnel tr[data-step]").count()
        stats = await dashboard.http.get(f"/v1/journeys/{journey}/stats")
        assert steps == len(stats.json()["steps"]) > 0, journey
        await page.screenshot(path=tmp_path / f"{journey}.png", full_page=True)


async def test_a_journey_never_published_shows_its_draft(dashboard: Dashboard, page: Page) -> None:
    stack = dashboard.stack
    for trigger in TRIGGERS:
        assert (await stack.api.put(f"/v1/triggers/{trigger['name']}", json=trigger)).is_success
    saved = await stack.api.put("/v1/journeys/trial", content=TRIAL, headers=YAML)
    assert saved.status_code == 201, saved.text
    await dashboard.sign_in(page)
    row = page.locator("tr[data-journey=trial]")
    assert await row.locator(".badge").inner_text() == "draft"
    await follow(page, "tr[data-journey=trial] a.title")
    assert await page.locator("#graph .card-head .muted").inner_text() == "the draft"
    assert await page.locator("#graph img").evaluate("img => img.naturalWidth") > 0
    assert await page.locator("#versions .empty").inner_text() == (
        "Never published: nobody can enter yet."
    )
    assert await figures(page, ".kpis") == dict.fromkeys(
        ["entered", "active", "completed", "exited", "goal_reached", "refused"], 0
    )
