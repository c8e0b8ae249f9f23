"""The editor's simulate panel: a sample contact, the start trigger's attributes and
scripted events, run through `journeys.authoring.simulate` before anything is published."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from journeys.authoring.simulate import (
    SampleContact,
    Simulation,
    SimulationResult,
    blocked_because,
    script_problems,
    simulate,
)
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import journey_problems
from journeys.kit.problems import Problem, problems_from_validation_error

SAMPLE_CONTACT = (
    "email: ada@example.com\nphone: '+33612345678'\nfirst_name: Ada\nconsent: {sms: true}"
)


@dataclass
class SimulationForm:
    contact: str = SAMPLE_CONTACT
    attributes: str = ""
    events: str = ""  # one a line: +2h email.opened of welcome

    def sample_contact(self) -> SampleContact:
        """The contact messages are previewed for: the panel's, or while that one cannot
        be read, the default sample."""
        try:
            return SampleContact.model_validate(_mapping(self.contact, "sim_contact"))
        except (_Unreadable, ValidationError):
            return SampleContact.model_validate(yaml.safe_load(SAMPLE_CONTACT))

    def start_attributes(self) -> dict[str, Any]:
        """The panel's start trigger attributes, or none while they cannot be read."""
        try:
            return _mapping(self.attributes, "sim_attributes")
        except _Unreadable:
            return {}

    @classmethod
    def from_posted(cls, fields: Mapping[str, str]) -> SimulationForm:
        """The panel as posted (as it starts, on a page that has not posted it yet)."""
        return cls(
            contact=fields.get("sim_contact", SAMPLE_CONTACT),
            attributes=fields.get("sim_attributes", ""),
            events=fields.get("sim_events", ""),
        )


@dataclass
class SimulationView:
    problems: list[Problem]
    result: SimulationResult | None = None

    def why(self, message: Any) -> str:
        return blocked_because(message)


def run_simulation(
    document: dict[str, Any], form: SimulationForm, catalog: TriggerCatalog
) -> SimulationView:
    definition, problems = journey_problems(document, catalog)
    if definition is None or problems:
        return SimulationView([Problem(path="", message="fix the journey's problems first")])
    try:
        simulation = Simulation.model_validate(
            {
                "contact": _mapping(form.contact, "sim_contact"),
                "attributes": _mapping(form.attributes, "sim_attributes"),
                "events": [line for line in form.events.splitlines() if line.strip()],
            }
        )
    except _Unreadable as error:
        return SimulationView([Problem(path=error.args[0], message=error.args[1])])
    except ValidationError as error:
        return SimulationView(problems_from_validation_error(error))
    found = script_problems(definition, simulation, catalog)
    if found:
        return SimulationView(found)
    return SimulationView([], simulate(definition, simulation))


class _Unreadable(ValueError):
    pass


def _mapping(text: str, where: str) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        raise _Unreadable(where, f"this is not YAML: {error}") from None
    if not isinstance(value, dict):
        raise _Unreadable(where, "write name: value pairs, one a line")
    return value
