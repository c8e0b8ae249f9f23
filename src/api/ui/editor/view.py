"""What the editor page shows for a document: its fields with the problems beside them, the
steps as a tree, the graph the API draws, its YAML, and a preview of its messages."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from api.ui.editor.forms import (
    ADDABLE,
    UNITS,
    Catalog,
    FormField,
    settings_fields,
    step_fields,
    step_kind,
)
from api.ui.editor.preview import Preview, previews
from api.ui.editor.simulation import SimulationForm
from journeys.authoring.editing import Path, path_text, step_arms, value_at, walk_steps
from journeys.authoring.graph import svg
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import journey_problems
from journeys.definitions.journeys import JourneyDefinition
from journeys.kit.problems import Problem

CONTACT_FIELDS = ("email", "phone", "first_name", "last_name", "timezone")
_ARM_LABELS = {"then": "then (it came)", "else": "else (it did not)", "otherwise": "otherwise"}


@dataclass
class ArmView:
    label: str
    path: Path  # the list of steps
    steps: list[StepView]
    drop: str = ""  # the path of the arm, for a branch or split arm that can be removed

    @property
    def id(self) -> str:
        return path_text(self.path)


@dataclass
class StepView:
    path: Path
    kind: str
    fields: list[FormField]
    arms: list[ArmView]
    preview: Preview | None = None
    first: bool = False
    last: bool = False
    nested: bool = False  # in an arm: it may move out
    into: list[tuple[str, str]] = field(default_factory=list)  # (op, arm) of the step before

    @property
    def id(self) -> str:
        return path_text(self.path)


@dataclass
class EditorView:
    document: dict[str, Any]
    revision: int
    new: bool
    settings: list[FormField]
    steps: ArmView
    problems: list[Problem]  # those no field shows
    problem_count: int
    catalog: Catalog
    graph: str | None  # a data: URL of the SVG
    yaml: str
    addable: dict[str, str] = field(default_factory=lambda: dict(ADDABLE))
    notice: str = ""
    conflict: list[str] = field(default_factory=list)
    diff: str | None = None
    simulation: SimulationForm = field(default_factory=SimulationForm)
    tab: str = "form"  # or "yaml"
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))

    @property
    def title(self) -> str:
        name = self.document.get("name")
        if isinstance(name, str) and name.strip():
            return name
        return "New journey" if self.new else self.journey_id

    @property
    def json(self) -> str:
        return json.dumps(self.document, ensure_ascii=False)

    @property
    def journey_id(self) -> str:
        value = self.document.get("id")
        return value if isinstance(value, str) else ""

    @property
    def exits(self) -> int:
        exits = self.document.get("exit")
        return len(exits) if isinstance(exits, list) else 0

    @property
    def has_goal(self) -> bool:
        return isinstance(self.document.get("goal"), dict)


def catalog_for(document: dict[str, Any], triggers: TriggerCatalog) -> Catalog:
    """Pickers' choices: every trigger; for conditions, the contact's fields, the start
    trigger's attributes (`trigger.*`) and those of the triggers waited for (`event.*`)."""
    attributes = [f"contact.{name}" for name in CONTACT_FIELDS]
    start = value_at(document, ("start", "trigger"))
    start_attributes: list[str] = []
    if isinstance(start, str) and start in triggers:
        start_attributes = [spec.name for spec in triggers[start].attributes]
        attributes += [f"trigger.{name}" for name in start_attributes]
    awaited = {value_at(step, ("wait_for", "trigger")) for _, step in walk_steps(document)}
    for name in sorted(n for n in awaited if isinstance(n, str) and n in triggers):
        attributes += [f"event.{spec.name}" for spec in triggers[name].attributes]
    return Catalog(
        triggers=sorted(triggers),
        attributes=list(dict.fromkeys(attributes)),
        start_attributes=start_attributes,
    )


def editor_view(
    document: dict[str, Any],
    revision: int,
    new: bool,
    triggers: TriggerCatalog,
    extra_problems: list[Problem] | None = None,
    simulation: SimulationForm | None = None,
) -> EditorView:
    simulation = simulation or SimulationForm()
    catalog = catalog_for(document, triggers)
    definition, problems = journey_problems(document, triggers)
    problems = [*(extra_problems or []), *problems]
    settings = settings_fields(document, catalog, new)
    steps = _arm("Steps", ("steps",), document.get("steps"), catalog)
    shown: dict[str, Preview] = {}
    if definition is not None and not problems:
        shown = previews(definition, simulation.sample_contact(), simulation.start_attributes())
    fields = settings + [f for step in _all_steps(steps) for f in step.fields]
    for step in _all_steps(steps):
        step.preview = shown.get(str(step.fields[0].shown))
    unclaimed = [p for p in problems if not _claim(p, fields)]
    return EditorView(
        document=document,
        revision=revision,
        new=new,
        settings=settings,
        steps=steps,
        problems=unclaimed,
        problem_count=len(problems),
        catalog=catalog,
        graph=_graph(definition) if definition is not None else None,
        yaml=_yaml(document),
        simulation=simulation,
    )


def _arm(label: str, at: Path, listed: Any, catalog: Catalog, drop: str = "") -> ArmView:
    steps: list[StepView] = []
    items = listed if isinstance(listed, list) else []
    for index, step in enumerate(items):
        if not isinstance(step, dict):
            continue
        here = (*at, index)
        before = index > 0 and isinstance(items[index - 1], dict) and bool(steps)
        arms = []
        for arm in step_arms(step):
            inner = value_at(step, arm)
            match arm:
                case (str(kind), int(number), _):
                    name = step[kind][number].get("name") or f"arm {number + 1}"
                    dropped = path_text((*here, kind, number))
                    arms.append(_arm(f"{kind}: {name}", (*here, *arm), inner, catalog, dropped))
                case _:
                    arms.append(_arm(_ARM_LABELS[str(arm[0])], (*here, *arm), inner, catalog))
        steps.append(
            StepView(
                path=here,
                kind=step_kind(step),
                fields=step_fields(step, here, catalog),
                arms=arms,
                first=index == 0,
                last=index == len(items) - 1,
                nested=at != ("steps",),
                into=[
                    (f"into:{path_text(here)}.{number}", arm.label)
                    for number, arm in enumerate(steps[-1].arms if before else [])
                ],
            )
        )
    return ArmView(label, at, steps, drop)


def _all_steps(arm: ArmView) -> list[StepView]:
    found = []
    for step in arm.steps:
        found.append(step)
        for inner in step.arms:
            found += _all_steps(inner)
    return found


def _claim(problem: Problem, fields: list[FormField]) -> bool:
    """Put the problem beside the field it is about (the most specific one); False when no
    field is about it."""
    about = [
        f
        for f in fields
        if problem.path == f.where or problem.path.startswith((f.where + ".", f.where + "["))
    ]
    if not about:
        return False
    max(about, key=lambda f: len(f.where)).problems.append(problem.message)
    return True


def _graph(definition: JourneyDefinition) -> str:
    picture = base64.b64encode(svg(definition).encode()).decode()
    return f"data:image/svg+xml;base64,{picture}"


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
