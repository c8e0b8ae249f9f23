"""Ready-to-paste calls that fire a custom trigger from a server: curl, Python and
JavaScript, each with only what its platform ships (Python's standard library, Node's
built-in fetch), so that pasting one is all it takes. The key comes from the environment,
never the page: a server holds an `events:write` key, not a publishable one."""

from __future__ import annotations

import json
from typing import Any

from journeys.definitions.catalog import Trigger
from journeys.definitions.triggers import AttributeType

# A value of each type that the trigger accepts as it is: the site replaces it.
_SAMPLES: dict[AttributeType, Any] = {
    AttributeType.NUMBER: 0,
    AttributeType.BOOLEAN: True,
    AttributeType.DATETIME: "2026-01-01T09:00:00Z",
}


def event_body(trigger: Trigger) -> dict[str, Any]:
    attributes = {spec.name: _SAMPLES.get(spec.type, "...") for spec in trigger.attributes}
    return {"contact_id": "CONTACT_ID", "attributes": attributes}


def examples(public_url: str, trigger: Trigger) -> list[tuple[str, str]]:
    """(language, code) for curl, Python and JavaScript."""
    url = f"{public_url.rstrip('/')}/v1/triggers/{trigger.name}/events"
    body = json.dumps(event_body(trigger))
    pretty = json.dumps(event_body(trigger), indent=4)
    curl = (
        f"curl -X POST {url} \\\n"
        '  -H "Authorization: Bearer $JOURNEYS_API_KEY" -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'"
    )
    python = (
        "import json, os, urllib.request\n\n"
        f"event = {pretty.replace('true', 'True')}\n"
        "request = urllib.request.Request(\n"
        f'    "{url}",\n'
        "    data=json.dumps(event).encode(),\n"
        '    headers={"Authorization": "Bearer " + os.environ["JOURNEYS_API_KEY"],\n'
        '             "Content-Type": "application/json"},\n'
        ")\n"
        "with urllib.request.urlopen(request) as answer:\n"
        "    print(answer.status, answer.read().decode())"
    )
    javascript = (
        f'const answer = await fetch("{url}", {{\n'
        '  method: "POST",\n'
        "  headers: {Authorization: `Bearer ${process.env.JOURNEYS_API_KEY}`,\n"
        '            "Content-Type": "application/json"},\n'
        f"  body: JSON.stringify({pretty.replace(chr(10), chr(10) + '  ')}),\n"
        "});\n"
        "console.log(answer.status, await answer.text());"
    )
    return [("curl", curl), ("Python", python), ("JavaScript", javascript)]
