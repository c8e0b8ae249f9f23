"""A custom trigger's page gives a curl, a Python and a JavaScript call; each one, pasted as
shown into its own interpreter (bash, Python, Node), fires the trigger."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

import pytest
from playwright.async_api import Page

from tests.api.test_authoring import contact
from tests.ui.conftest import Dashboard

TRIGGER = {
    "name": "quote.requested",
    "attributes": [
        {"name": "product", "type": "text", "required": True},
        {"name": "seats", "type": "number", "required": True},
        {"name": "annual", "type": "boolean"},
        {"name": "wanted_by", "type": "datetime"},
    ],
}
RUN = {
    "curl": lambda code: [
        "bash",
        "-c",
        "set -euo pipefail\n" + code.replace("curl ", "curl -sf ", 1),
    ],
    "Python": lambda code: [sys.executable, "-c", code],
    "JavaScript": lambda code: ["node", "--input-type=module", "-e", code],
}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the JavaScript example")
async def test_each_example_fires_the_trigger_as_pasted(dashboard: Dashboard, page: Page) -> None:
    stack = dashboard.stack
    assert (await stack.api.put("/v1/triggers/quote.requested", json=TRIGGER)).is_success
    key = await stack.api.post("/v1/api-keys", json={"name": "backend", "scopes": ["events:write"]})
    someone = await contact(stack)

    await dashboard.sign_in(page)
    await page.goto(f"{dashboard.url}/ui/triggers/quote.requested")
    shown = {
        await block.get_attribute("data-language"): await block.locator("code").inner_text()
        for block in await page.locator("#examples .example").all()
    }
    assert list(shown) == ["curl", "Python", "JavaScript"]
    public = stack.harness.settings.public_url.rstrip("/")
    for language, code in shown.items():
        assert f"{public}/v1/triggers/quote.requested/events" in code
        # The page names the public URL; this test's API listens elsewhere.
        pasted = code.replace(public, dashboard.url).replace("CONTACT_ID", someone)
        env = {**os.environ, "JOURNEYS_API_KEY": key.json()["secret"]}
        ran = await asyncio.to_thread(
            subprocess.run,
            RUN[language](pasted),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, (language, ran.stderr, pasted)
        # curl prints the body; the others the status, then the body.
        start = ran.stdout.index("{")
        assert ran.stdout[:start].strip() in ("", "202"), (language, ran.stdout)
        answer = json.loads(ran.stdout[start:])
        assert answer["trigger"] == "quote.requested", (language, ran.stdout)
        assert answer["duplicate"] is False
