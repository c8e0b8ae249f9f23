"""The editor's form fields: which fields each step kind and the journey settings have,
how a value of the document is shown in one, and how what was typed goes back.

A field posts under `f:<path>` (a duration's unit under `u:<path>`; an entry of a mapping
under `f:<path>:<index>:<part>`). A posted value is put back only when it differs from what
the field showed, so fields left alone never change the document: a definition written by
hand is saved as it was opened. Buttons beside fields (kind "actions") post `op` instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from journeys.authoring.editing import (
    Path,
    condition_kind,
    path_text,
    problem_path,
    regroup,
    set_entry,
    set_value,
    value_at,
)
from journeys.definitions.common import Audience
from journeys.definitions.conditions import Operator
from journeys.definitions.journeys import Cardinality, Purpose, Weekday

# Durations the form offers as number + unit; any other ISO 8601 duration is shown as text.
UNITS = {"M": "minutes", "H": "hours", "D": "days", "W": "weeks"}
_DURATION = re.compile(r"P(?:(\d+)([DW])|T(\d+)([HM]))")

STEP_KINDS = (
    "email",
    "sms",
    "push",
    "wait",
    "wait_for",
    "branch",
    "split",
    "activate",
    "webhook",
    "exit",
)
# What the "add a step" list offers (a date wait is a wait until a date of the data).
ADDABLE = {
    "email": "Email",
    "sms": "SMS",
    "push": "Push",
    "wait": "Wait (a duration)",
    "wait_until": "Wait until a date of the run",
    "wait_moment": "Wait until a fixed moment",
    "wait_time": "Wait until a time of day",
    "wait_for": "Wait for an event (then / else)",
    "branch": "Branch on conditions",
    "split": "Split (A/B)",
    "activate": "Activate a trigger",
    "webhook": "Webhook",
    "exit": "Exit",
}
OPERATORS = [op.value for op in Operator]
YES_NO = [("", "default"), ("true", "yes"), ("false", "no")]


@dataclass
class FormField:
    label: str
    path: Path
    # text, textarea, select, number, duration, yaml, scalar, attribute, time; moment (a
    # date-time and its UTC offset in `unit`), days (checkboxes, posted as "mon,tue");
    # combine (all or any: the group at `path`), actions (buttons: `options` are (op, text))
    kind: str
    optional: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    readonly: bool = False
    hint: str = ""
    problems: list[str] = field(default_factory=list)
    shown: str = ""
    unit: str = ""  # for a duration; a moment's UTC offset
    # An entry of the mapping at `path`: its number, and "key", "value", "from" (the path
    # a value is copied from) or "source" (whether it is a value or copied).
    entry: int | None = None
    part: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # what a select's option stores
    depth: int = 0  # of a condition inside groups: how far it is indented
    nullable: bool = False  # emptied, it holds null instead of going

    @property
    def name(self) -> str:
        return f"f:{self._place}"

    @property
    def unit_name(self) -> str:
        return f"u:{self._place}"

    @property
    def id(self) -> str:
        return "field-" + self._place.replace(".", "-").replace(":", "-")

    @property
    def _place(self) -> str:
        entry = "" if self.entry is None else f":{self.entry}:{self.part}"
        return path_text(self.path) + entry

    @property
    def where(self) -> str:
        return problem_path(self.path)


@dataclass
class Catalog:
    """What pickers offer: trigger names, and attribute paths for conditions."""

    triggers: list[str]
    attributes: list[str]
    start_attributes: list[str] = field(default_factory=list)


def show(form_field: FormField, value: Any) -> FormField:
    """The field with `value` shown in it (a duration the form cannot show becomes text)."""
    if form_field.entry is not None:
        value = _entry_part(form_field, value)
    if form_field.kind == "duration":
        found = _DURATION.fullmatch(value) if isinstance(value, str) else None
        form_field.unit = "D"  # what an empty duration offers first
        if found is None and value is not None:
            form_field.kind = "text"
        elif found is not None:
            days_or_weeks = found.group(1) is not None
            form_field.shown, form_field.unit = (
                found.group(1, 2) if days_or_weeks else found.group(3, 4)
            )
            return form_field
    if form_field.kind == "moment":
        form_field.shown, form_field.unit = _moment_parts(value)
        return form_field
    if form_field.kind == "days" and value is None:
        value = list(WEEKDAYS)  # what the language does without days
    form_field.shown = shown_text(form_field.kind, value)
    chosen = next((k for k, v in form_field.values.items() if _same(v, value)), None)
    if chosen is not None:
        form_field.shown = chosen
    if form_field.kind == "select" and form_field.shown not in dict(form_field.options):
        form_field.options.append((form_field.shown, f"{form_field.shown} (unknown)"))
    return form_field


WEEKDAYS = [day.value for day in Weekday]


def _moment_parts(value: Any) -> tuple[str, str]:
    """A date-time as the datetime-local input and the UTC offset beside it show it; one
    that does not read is shown whole, to be mended."""
    if not isinstance(value, str) or not value:
        return "", ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value, ""
    local = moment.replace(tzinfo=None).isoformat(timespec="seconds")
    offset = moment.isoformat(timespec="seconds").removeprefix(local)  # "+01:00", or ""
    return local.removesuffix(":00") if moment.second == 0 else local, offset


def _same(stored: Any, value: Any) -> bool:
    """Whether an option's stored value is the one shown (a mapping: by its keys alone)."""
    if isinstance(stored, dict):
        return isinstance(value, dict) and set(value) == set(stored)
    return bool(stored == value)


def _entry_part(form_field: FormField, mapping: Any) -> Any:
    items = list(mapping.items()) if isinstance(mapping, dict) else []
    if form_field.entry is None or form_field.entry >= len(items):
        return None
    key, value = items[form_field.entry]
    copied = _copied(value)
    match form_field.part:
        case "key":
            return key
        case "source":
            return "from" if copied is not None else "value"
        case "from":
            return copied
    return value


def _copied(value: Any) -> str | None:
    """The path a value `{from: <path>}` is copied from; None for any other value."""
    if isinstance(value, dict) and set(value) == {"from"}:
        return str(value["from"])
    return None


def shown_text(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "yaml":
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()
    if kind == "scalar" and not isinstance(value, str):
        return json.dumps(value)
    if kind == "days" and isinstance(value, list):
        return ",".join(str(day) for day in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Unreadable(ValueError):
    """What was typed in a field cannot be read (YAML that does not parse)."""


def typed(form_field: FormField, posted: Mapping[str, str]) -> tuple[bool, Any]:
    """(changed, value): what the field now holds, when it differs from what it showed."""
    if form_field.kind == "actions":
        return False, None
    text = posted.get(form_field.name, form_field.shown)
    if form_field.kind in ("duration", "moment"):
        unit = posted.get(form_field.unit_name, form_field.unit).strip()
        if (text, unit) == (form_field.shown, form_field.unit):
            return False, None
        if not text.strip():
            return True, None if form_field.optional else ""
        return True, _with_unit(form_field.kind, text.strip(), unit)
    if form_field.kind == "days":
        checked = [day for day in text.split(",") if day]
        if checked == [day for day in form_field.shown.split(",") if day]:
            return False, None
        return True, checked
    if text == form_field.shown or form_field.readonly:
        return False, None
    if not text.strip() and form_field.optional:
        return True, None
    if text in form_field.values:
        return True, form_field.values[text]
    match form_field.kind:
        case "number":
            return True, _number(text)
        case "yaml":
            try:
                return True, yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise Unreadable(f"this is not YAML: {error}") from None
        case "scalar":
            try:
                return True, json.loads(text)
            except ValueError:
                return True, text
        case "select" if form_field.options == YES_NO:
            return True, text == "true"
    return True, text


def put(document: dict[str, Any], form_field: FormField, value: Any) -> dict[str, Any]:
    """The document with what the field now holds (`typed`) put in its place."""
    if form_field.kind == "combine":
        return regroup(document, form_field.path, str(value))
    if form_field.entry is None:
        return set_value(document, form_field.path, value, keep_key=form_field.nullable)
    match form_field.part:
        case "key":
            return set_entry(document, form_field.path, form_field.entry, key=value or "")
        case "from":
            value = {"from": value or ""}
        case "source":
            value = {"from": ""} if value == "from" else ""
    return set_entry(document, form_field.path, form_field.entry, value=value)


def _with_unit(kind: str, text: str, unit: str) -> str:
    """A duration from its number and unit; a date-time from its input and UTC offset."""
    if kind == "moment":
        seconds = ":00" if len(text) == len("2026-03-01T09:00") else ""
        return f"{text}{seconds}{unit}"
    return f"PT{text}{unit}" if unit in "HM" else f"P{text}{unit}"


def _number(text: str) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text  # the definition's rules say what is wrong with it
    return int(number) if number.is_integer() else number


def settings_fields(document: Mapping[str, Any], catalog: Catalog, new: bool) -> list[FormField]:
    """The journey's own fields: what it is, what starts it, and its rules."""
    fields = [
        FormField("Journey id", ("id",), "text", readonly=not new, hint="letters, digits, - _"),
        FormField("Name", ("name",), "text"),
        FormField("Description", ("description",), "textarea", optional=True),
        FormField(
            "Audience",
            ("audience",),
            "select",
            optional=True,
            options=[("", "default")] + [(a.value, a.value) for a in Audience],
        ),
        FormField("Timezone", ("timezone",), "text", optional=True, hint="e.g. Europe/Paris"),
        _trigger(
            "Start trigger",
            ("start", "trigger"),
            catalog,
            hint="its attributes: " + (", ".join(catalog.start_attributes) or "none"),
        ),
        *condition_fields(("start",), document.get("start"), "Start only when", optional=True),
        FormField(
            "One run at a time per",
            ("start", "per"),
            "select",
            optional=True,
            options=[("", "default (contact)")] + [(c.value, c.value) for c in Cardinality],
            hint="binding: one run per contact and binding id (an order, a cart)",
        ),
        *_reentry(document.get("reentry")),
        FormField("Parallel runs", ("parallel",), "select", optional=True, options=YES_NO),
        FormField("Frequency caps", ("frequency_caps",), "select", optional=True, options=YES_NO),
        *_entry_rules(document.get("entry")),
    ]
    for index, exit_spec in enumerate(_listed(document.get("exit"))):
        label = f"Exit {index + 1}"
        fields.append(_trigger(f"{label}: trigger", ("exit", index, "trigger"), catalog))
        fields += condition_fields(("exit", index), exit_spec, f"{label}: only when", True)
    goal = document.get("goal")
    if isinstance(goal, dict):
        fields += [
            _trigger("Goal trigger", ("goal", "trigger"), catalog),
            FormField("Goal within", ("goal", "within"), "duration"),
            *condition_fields(("goal",), goal, "Goal only when", optional=True),
        ]
    return [show(f, value_at(document, f.path)) for f in fields]


def step_fields(step: Mapping[str, Any], at: Path, catalog: Catalog) -> list[FormField]:
    """The fields of the step at `at`, made for its kind."""
    kind = step_kind(step)
    fields = [FormField("Step id", (*at, "id"), "text")]
    match kind:
        case "email":
            fields += [
                FormField("Subject", (*at, "email", "subject"), "text"),
                FormField("HTML body", (*at, "email", "html"), "textarea", optional=True),
                FormField("Text body", (*at, "email", "text"), "textarea", optional=True),
                *_sending(at),
            ]
        case "sms":
            fields += [FormField("Text", (*at, "sms", "text"), "textarea"), *_sending(at)]
        case "push":
            fields += [
                FormField("Title", (*at, "push", "title"), "text"),
                FormField("Body", (*at, "push", "body"), "textarea"),
                *_sending(at),
            ]
        case "wait":
            fields += _wait_fields(step.get("wait"), (*at, "wait"))
        case "wait_for":
            fields += _wait_for_fields(step.get("wait_for"), (*at, "wait_for"), catalog)
        case "branch":
            for number, arm in enumerate(_listed(step.get("branch"))):
                where = (*at, "branch", number)
                fields.append(FormField(f"Arm {number + 1} name", (*where, "name"), "text", True))
                fields += condition_fields(where, arm, f"Arm {number + 1} when")
        case "split":
            for number, _ in enumerate(_listed(step.get("split"))):
                where = (*at, "split", number)
                fields += [
                    FormField(f"Arm {number + 1} name", (*where, "name"), "text"),
                    FormField(f"Arm {number + 1} percent", (*where, "percent"), "number"),
                ]
        case "activate":
            fields += [
                _trigger("Trigger to fire", (*at, "activate", "trigger"), catalog),
                *entry_fields(
                    (*at, "activate", "attributes"),
                    value_at(step, ("activate", "attributes")),
                    "Attribute",
                    copied=True,
                ),
            ]
        case "webhook":
            fields += [
                FormField("URL", (*at, "webhook", "url"), "text"),
                *entry_fields(
                    (*at, "webhook", "body"), value_at(step, ("webhook", "body")), "Body field"
                ),
                *entry_fields(
                    (*at, "webhook", "headers"),
                    value_at(step, ("webhook", "headers")),
                    "Header",
                    value_kind="text",
                ),
                FormField("Timeout", (*at, "webhook", "timeout"), "text", True, hint="PT10S"),
                FormField("Retries", (*at, "webhook", "retries"), "number", optional=True),
            ]
        case "exit":
            fields.append(FormField("Reason", (*at, "exit"), "text", True, nullable=True))
        case _:
            fields = [FormField("Step", at, "yaml", hint="a step of a kind the form lacks")]
    return [show(f, value_at(step, f.path[len(at) :])) for f in fields]


def condition_fields(at: Path, holder: Any, label: str, optional: bool = False) -> list[FormField]:
    """The condition at `(*at, "when")`: each comparison as attribute, operator and value,
    groups (all / any) and negations (not) around them, with buttons to add, group, negate
    and remove. An optional condition not set yet is a button to add one."""
    when = holder.get("when") if isinstance(holder, dict) else None
    where = (*at, "when")
    place = path_text(where)
    if when is None and optional:
        return [_actions(label, where, [(f"more:{place}", "Add a condition")])]
    return _condition(where, when, label, f"unset:{place}" if optional else "")


def _condition(
    where: Path, condition: Any, label: str, remove: str, negated: str = "", depth: int = 0
) -> list[FormField]:
    """The fields of one condition, its buttons first; `remove` is the op that removes it,
    `negated` the place of the `not` around it, `depth` how many groups hold it (its
    fields are indented so much, and numbered "when 2.1" in "when 2")."""
    place = path_text(where)
    kind = "comparison" if condition is None else condition_kind(condition)
    tools = [(f"negate:{negated}", "Remove the not") if negated else (f"negate:{place}", "Not")]
    if remove:
        tools.append((remove, "Remove"))
    fields: list[FormField] = []
    match kind:
        case "comparison":
            operators = [(op, op.replace("_", " ")) for op in OPERATORS]
            tools.insert(0, (f"more:{place}", "And another"))
            fields = [
                _actions(label, where, tools),
                FormField(f"{label}: attribute", (*where, "attr"), "attribute"),
                FormField(f"{label}: operator", (*where, "op"), "select", options=operators),
                FormField(f"{label}: value", (*where, "value"), "scalar", optional=True),
            ]
        case "all" | "any":
            groups = [("all", "all of these hold"), ("any", "any of these holds")]
            tools[:0] = [(f"more:{place}", "Add a comparison"), (f"nest:{place}", "Add a group")]
            fields = [
                FormField(f"{label}: match", where, "combine", options=groups),
                _actions(label, where, tools),
            ]
            for index, inner in enumerate(_listed(condition[kind])):
                inner_at = (*where, kind, index)
                inner_label = f"{label}{'.' if depth else ' '}{index + 1}"
                drop = f"drop:{path_text(inner_at)}"
                fields += _condition(inner_at, inner, inner_label, drop, depth=depth + 1)
        case "not":
            inner = condition["not"]
            return _condition((*where, "not"), inner, f"{label} (not)", remove, place, depth)
        case _:
            fields = [FormField(label, where, "yaml", hint="a condition the form cannot show")]
    for form_field in fields:
        form_field.depth = form_field.depth or depth
    return fields


def entry_fields(
    at: Path, mapping: Any, label: str, value_kind: str = "scalar", copied: bool = False
) -> list[FormField]:
    """A mapping as its entries, each a name and a value (with `copied`, a value may be
    `{from: <path>}`: copied from the run), with buttons to add and remove entries."""
    place = path_text(at)
    fields = []
    for index, value in enumerate((mapping if isinstance(mapping, dict) else {}).values()):
        name = f"{label} {index + 1}"
        fields.append(FormField(f"{name}: name", at, "text", entry=index, part="key"))
        if copied:
            sources = [("value", "a value"), ("from", "copied from the run")]
            fields.append(
                FormField(f"{name}: is", at, "select", options=sources, entry=index, part="source")
            )
        if copied and _copied(value) is not None:
            fields.append(
                FormField(f"{name}: copied from", at, "attribute", entry=index, part="from")
            )
        else:
            fields.append(FormField(f"{name}: value", at, value_kind, entry=index, part="value"))
        fields.append(_actions(name, at, [(f"unkey:{place}.{index}", "Remove")]))
    return [*fields, _actions(label, at, [(f"key:{place}", f"Add {label.lower()}")])]


def step_kind(step: Mapping[str, Any]) -> str:
    return next((kind for kind in STEP_KINDS if kind in step), "unknown")


def _sending(at: Path) -> list[FormField]:
    """What every message step has: its purpose, and how long quiet times may hold it."""
    purposes = [("", "default (commercial)")] + [(p.value, p.value) for p in Purpose]
    return [
        FormField("Purpose", (*at, "purpose"), "select", optional=True, options=purposes),
        FormField("Expires after", (*at, "expires_after"), "duration", optional=True),
    ]


def _wait_fields(wait: Any, at: Path) -> list[FormField]:
    offset = FormField("Offset", (*at, "offset"), "text", optional=True, hint="e.g. -P1D")
    if isinstance(wait, dict) and isinstance(wait.get("until"), dict):
        return [FormField("Until the date in", (*at, "until", "from"), "attribute"), offset]
    if isinstance(wait, dict) and "until" in wait:
        return [FormField("Until", (*at, "until"), "moment"), offset]
    if isinstance(wait, dict) and "until_time" in wait:
        return [
            FormField("Until the time", (*at, "until_time"), "time", hint="in the contact's zone"),
            FormField("On days", (*at, "days"), "days", True, [(d, d) for d in WEEKDAYS]),
        ]
    if isinstance(wait, dict):
        return [FormField("Wait", at, "yaml")]
    return [FormField("Wait for", at, "duration")]


def _wait_for_fields(wait_for: Any, at: Path, catalog: Catalog) -> list[FormField]:
    """One trigger to wait for, or several (`any`), each with its own step and condition."""
    awaited = wait_for.get("any") if isinstance(wait_for, dict) else None
    fields = []
    if not isinstance(awaited, list):
        fields = [
            _trigger("Wait for trigger", (*at, "trigger"), catalog),
            FormField("Answering step", (*at, "of"), "text", True, hint="a message step"),
            *condition_fields(at, wait_for, "Only when", optional=True),
        ]
    for index, one in enumerate(awaited if isinstance(awaited, list) else []):
        where = (*at, "any", index)
        name = f"Trigger {index + 1}"
        fields += [
            _trigger(name, (*where, "trigger"), catalog),
            _actions(name, where, [(f"drop:{path_text(where)}", "Remove")]),
            FormField(f"{name}: answering step", (*where, "of"), "text", True),
            *condition_fields(where, one, f"{name}: only when", optional=True),
        ]
    step = path_text(at[:-1])
    return [
        *fields,
        FormField("Within", (*at, "within"), "duration"),
        _actions("Wait for", at, [(f"await:{step}", "Add a trigger to wait for")]),
    ]


def _entry_rules(entry: Any) -> list[FormField]:
    periods = [("", "(no limit)"), ("hour", "an hour"), ("day", "a day")]
    return [
        FormField("Entries from", ("entry", "from"), "moment", optional=True),
        FormField("Entries until", ("entry", "until"), "moment", optional=True),
        FormField("At most (entries)", ("entry", "rate_limit", "count"), "number", True),
        FormField("Entries per", ("entry", "rate_limit", "per"), "select", True, periods),
    ]


def _trigger(label: str, at: Path, catalog: Catalog, hint: str = "") -> FormField:
    return FormField(
        label,
        at,
        "select",
        options=[("", "(pick a trigger)")] + [(name, name) for name in catalog.triggers],
        hint=hint,
    )


def _reentry(value: Any) -> list[FormField]:
    rules = [
        ("", "default (never)"),
        ("never", "never"),
        ("always", "always"),
        ("after", "again after a while"),
    ]
    choice = FormField(
        "Re-entry", ("reentry",), "select", True, rules, values={"after": {"after": "P30D"}}
    )
    if not isinstance(value, dict):
        return [choice]
    return [choice, FormField("Re-entry after", ("reentry", "after"), "duration")]


def _actions(label: str, at: Path, tools: list[tuple[str, str]]) -> FormField:
    return FormField(label, at, "actions", options=tools)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
