"""One change posted by the editor page: the fields as typed, then the button pressed.

The page holds the document it edits (as JSON in a hidden field) and posts it back with
each change, so nothing is kept on the server between changes and an expired session
loses nothing: the work is on the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from api.ui.editor.forms import Unreadable, put, settings_fields, step_fields, typed
from api.ui.editor.view import catalog_for
from journeys.authoring.editing import (
    EditError,
    add_arm,
    add_awaited,
    add_condition,
    add_entry,
    add_step,
    blank_step,
    move_into,
    move_out,
    move_step,
    negate,
    parse_path,
    remove_entry,
    remove_step,
    set_value,
    walk_steps,
)
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import READ_ERRORS, parse_text
from journeys.kit.problems import Problem


@dataclass
class Posted:
    document: dict[str, Any]
    revision: int
    new: bool
    fields: Mapping[str, str]
    tab: str = "form"  # the tab the page shows: "form", or "yaml"


def read_posted(form: FormData) -> Posted:
    """The document, its draft revision and the fields, as the page posted them."""
    try:
        document = json.loads(str(form.get("document", "{}")))
    except ValueError:
        document = {}
    revision = str(form.get("revision", "0"))
    # Checkboxes of one field (days) post a value each: "mon,tue".
    fields = {
        key: ",".join(str(v) for v in form.getlist(key) if isinstance(v, str)) for key in form
    }
    return Posted(
        document=document if isinstance(document, dict) else {},
        revision=int(revision) if revision.isdigit() else 0,
        new=form.get("new") == "true",
        fields=fields,
        tab="yaml" if (form.get("show") or form.get("tab")) == "yaml" else "form",
    )


def with_fields(posted: Posted, triggers: TriggerCatalog) -> tuple[dict[str, Any], list[Problem]]:
    """The document with what was typed in its fields; a field that cannot be read is a
    problem beside it, and leaves the document as it was."""
    document = posted.document
    catalog = catalog_for(document, triggers)
    fields = settings_fields(document, catalog, posted.new)
    for at, step in walk_steps(document):
        fields += step_fields(step, at, catalog)
    problems = []
    # A group turned from all to any (or back) moves what it holds: it goes last.
    for form_field in sorted(fields, key=lambda f: f.kind == "combine"):
        try:
            changed, value = typed(form_field, posted.fields)
            if changed:
                document = put(document, form_field, value)
        except (Unreadable, EditError) as error:
            problems.append(Problem(path=form_field.where, message=str(error)))
    return document, problems


def operate(document: dict[str, Any], op: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """Carry out a button: `add:<steps>` (the kind picked beside it), `drop:<path>` (of an
    item of a list), `up:<step>`, `down:<step>`, `out:<step>` (of its arm),
    `into:<step>.<arm number>` (of the step before it), `arm:<step>`, `exit`, `goal`; for
    conditions `more:<condition>`, `nest:<group>`, `negate:<condition>`, `unset:<path>`;
    for mappings `key:<mapping>`, `unkey:<mapping>.<index>`; `await:<wait_for step>`.
    EditError when it cannot."""
    verb, _, where = op.partition(":")
    at = parse_path(where)
    match verb:
        case "add":
            kind = fields.get(f"kind:{where}", "")
            return add_step(document, at, blank_step(kind, document))
        case "drop":
            return remove_step(document, at)
        case "up" | "down":
            return move_step(document, at, -1 if verb == "up" else 1)
        case "arm":
            return add_arm(document, at)
        case "more" | "nest":
            return add_condition(document, at, group=verb == "nest")
        case "negate":
            return negate(document, at)
        case "unset":
            return set_value(document, at, None)
        case "key":
            return add_entry(document, at)
        case "unkey" if at and isinstance(at[-1], int):
            return remove_entry(document, at[:-1], at[-1])
        case "out":
            return move_out(document, at)
        case "into" if at and isinstance(at[-1], int):
            return move_into(document, at[:-1], at[-1])
        case "await":
            return add_awaited(document, at)
        case "exit":
            exits = document.get("exit")
            listed = exits if isinstance(exits, list) else []
            return set_value(document, ("exit",), [*listed, {"trigger": ""}])
        case "goal":
            return set_value(document, ("goal",), {"trigger": "", "within": "P7D"})
        case "nogoal":
            return set_value(document, ("goal",), None)
    raise EditError(f"there is no editor action {op!r}")


def from_yaml(text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The document typed in the YAML tab; None, with what is wrong, when it is not one."""
    try:
        documents = parse_text(text)
    except READ_ERRORS as error:
        return None, [Problem(path="yaml", message=f"this is not YAML: {error}")]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return None, [Problem(path="yaml", message="the YAML must hold one journey (a mapping)")]
    return documents[0], []
