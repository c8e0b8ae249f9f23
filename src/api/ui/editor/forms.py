"""The editor's form fields: which fields each step kind and the journey settings have,
how a value of the document is shown in one, and how what was typed goes back.

A field posts under `f:<path>` (a duration's unit under `u:<path>`). A posted value is put
back only when it differs from what the field showed, so fields left alone never change
the document: a definition written by hand is saved as it was opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from journeys.authoring.editing import Path, path_text, problem_path, value_at
from journeys.definitions.common import Audience
from journeys.definitions.conditions import Operator
from journeys.definitions.journeys import Purpose

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
    "wait_until": "Wait until a date",
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
    kind: str  # text, textarea, select, number, duration, yaml, scalar, attribute
    optional: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    readonly: bool = False
    hint: str = ""
    problems: list[str] = field(default_factory=list)
    shown: str = ""
    unit: str = ""  # for a duration

    @property
    def name(self) -> str:
        return f"f:{path_text(self.path)}"

    @property
    def unit_name(self) -> str:
        return f"u:{path_text(self.path)}"

    @property
    def id(self) -> str:
        return "field-" + path_text(self.path).replace(".", "-")

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
    form_field.shown = shown_text(form_field.kind, value)
    if form_field.kind == "select" and form_field.shown not in dict(form_field.options):
        form_field.options.append((form_field.shown, f"{form_field.shown} (unknown)"))
    return form_field


def shown_text(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "yaml":
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()
    if kind == "scalar" and not isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Unreadable(ValueError):
    """What was typed in a field cannot be read (YAML that does not parse)."""


def typed(form_field: FormField, posted: Mapping[str, str]) -> tuple[bool, Any]:
    """(changed, value): what the field now holds, when it differs from what it showed."""
    text = posted.get(form_field.name, form_field.shown)
    if form_field.kind == "duration":
        unit = posted.get(form_field.unit_name, form_field.unit)
        if (text, unit) == (form_field.shown, form_field.unit):
            return False, None
        if not text.strip():
            return True, None if form_field.optional else ""
        return True, f"PT{text.strip()}{unit}" if unit in "HM" else f"P{text.strip()}{unit}"
    if text == form_field.shown or form_field.readonly:
        return False, None
    if not text.strip() and form_field.optional:
        return True, None
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
        _reentry(document.get("reentry")),
        FormField("Parallel runs", ("parallel",), "select", optional=True, options=YES_NO),
        FormField("Frequency caps", ("frequency_caps",), "select", optional=True, options=YES_NO),
        FormField(
            "Entry rules",
            ("entry",),
            "yaml",
            optional=True,
            hint="from, until, rate_limit: {count, per}",
        ),
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
            fields += [
                _trigger("Wait for trigger", (*at, "wait_for", "trigger"), catalog),
                FormField(
                    "Answering step", (*at, "wait_for", "of"), "text", True, hint="a message step"
                ),
                FormField("Within", (*at, "wait_for", "within"), "duration"),
                *condition_fields(
                    (*at, "wait_for"), step.get("wait_for"), "Only when", optional=True
                ),
            ]
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
                FormField("Attributes", (*at, "activate", "attributes"), "yaml", True),
            ]
        case "webhook":
            fields += [
                FormField("URL", (*at, "webhook", "url"), "text"),
                FormField("Body", (*at, "webhook", "body"), "yaml", optional=True),
                FormField("Headers", (*at, "webhook", "headers"), "yaml", optional=True),
                FormField("Timeout", (*at, "webhook", "timeout"), "text", True, hint="PT10S"),
                FormField("Retries", (*at, "webhook", "retries"), "number", optional=True),
            ]
        case "exit":
            fields.append(FormField("Reason", (*at, "exit"), "text", optional=True))
        case _:
            fields = [FormField("Step", at, "yaml", hint="a step of a kind the form lacks")]
    return [show(f, value_at(step, f.path[len(at) :])) for f in fields]


def condition_fields(at: Path, holder: Any, label: str, optional: bool = False) -> list[FormField]:
    """A condition at `(*at, "when")`: attribute, operator and value for one comparison;
    a combination (all / any / not) as YAML."""
    when = holder.get("when") if isinstance(holder, dict) else None
    where = (*at, "when")
    if when is not None and not (isinstance(when, dict) and "attr" in when):
        return [FormField(label, where, "yaml", optional=optional)]
    if when is None and optional:
        return [FormField(label, where, "yaml", optional=True, hint="e.g. attr, op, value")]
    operators = [(op, op.replace("_", " ")) for op in OPERATORS]
    return [
        FormField(f"{label}: attribute", (*where, "attr"), "attribute"),
        FormField(f"{label}: operator", (*where, "op"), "select", options=operators),
        FormField(f"{label}: value", (*where, "value"), "scalar", optional=True),
    ]


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
    if isinstance(wait, dict) and isinstance(wait.get("until"), dict):
        return [
            FormField("Until the date in", (*at, "until", "from"), "attribute"),
            FormField("Offset", (*at, "offset"), "text", optional=True, hint="e.g. -P1D"),
        ]
    if isinstance(wait, dict) and "until_time" in wait:
        return [
            FormField("Until the time", (*at, "until_time"), "text", hint="HH:MM"),
            FormField("On days", (*at, "days"), "yaml", optional=True, hint="[mon, tue]"),
        ]
    if isinstance(wait, dict):
        return [FormField("Wait", at, "yaml")]
    return [FormField("Wait for", at, "duration")]


def _trigger(label: str, at: Path, catalog: Catalog, hint: str = "") -> FormField:
    return FormField(
        label,
        at,
        "select",
        options=[("", "(pick a trigger)")] + [(name, name) for name in catalog.triggers],
        hint=hint,
    )


def _reentry(value: Any) -> FormField:
    if isinstance(value, dict):
        return FormField("Re-entry", ("reentry",), "yaml", hint="{after: P30D}")
    rules = [("", "default (never)"), ("never", "never"), ("always", "always")]
    return FormField("Re-entry", ("reentry",), "select", optional=True, options=rules)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
