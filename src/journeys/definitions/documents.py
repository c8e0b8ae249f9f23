"""Definition documents: YAML or JSON files holding triggers and journeys, parsed and checked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.journeys import JourneyDefinition
from journeys.definitions.salvage import salvage
from journeys.definitions.triggers import TriggerDefinition
from journeys.definitions.validation import validate_journey, validate_trigger
from journeys.kit import jsontext
from journeys.kit.problems import Problem, problems_from_validation_error

Definition = TriggerDefinition | JourneyDefinition
KINDS: dict[str, type[BaseModel]] = {"Trigger": TriggerDefinition, "Journey": JourneyDefinition}
SUFFIXES = (".yaml", ".yml", ".json")
READ_ERRORS = (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError)


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. In YAML 1.1 `yes`, `no`, `on` and `off` are
    booleans too, which turns a step id `no` or a country code NO into false."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


# More values than any journey needs. YAML aliases let a few hundred bytes stand for
# billions of values (each `*alias` repeats its anchor): they are counted as repeated.
MAX_VALUES = 100_000


class DocumentTooLarge(yaml.YAMLError):
    """A YAML text nested too deeply to read, or that expands to too many values."""


def parse_text(text: str) -> list[Any]:
    """The documents in a YAML (one or more, `---` separated) or JSON text."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        value = jsontext.loads(text)
        return value if isinstance(value, list) else [value]
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except RecursionError:
        raise DocumentTooLarge("nested too deeply") from None
    if _more_values_than(documents, MAX_VALUES):
        raise DocumentTooLarge(f"more than {MAX_VALUES} values, counting each alias in full")
    return documents


def _more_values_than(value: Any, limit: int) -> bool:
    """Whether the value holds more than `limit` values as it would be read, not as stored:
    an aliased list counts once per alias. Stops counting at the limit."""
    count, pending = 0, [value]
    while pending:
        item = pending.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_definition(
    document: Any, expect: str | None = None
) -> tuple[Definition | None, list[Problem]]:
    """One document to its model, or every structural problem found in it."""
    if not isinstance(document, dict):
        return None, [Problem(path="", message="a definition is a mapping with a 'kind'")]
    kind = document.get("kind", expect)
    if expect is not None and kind != expect:
        return None, [Problem(path="kind", message=f"must be {expect!r}")]
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        return None, [Problem(path="kind", message="must be 'Trigger' or 'Journey'")]
    try:
        definition = model.model_validate(document)
    except ValidationError as error:
        return None, problems_from_validation_error(error)
    assert isinstance(definition, TriggerDefinition | JourneyDefinition)
    return definition, []


def check_definition(definition: Definition, catalog: TriggerCatalog) -> list[Problem]:
    if isinstance(definition, TriggerDefinition):
        return validate_trigger(definition)
    return validate_journey(definition, catalog)


@dataclass
class Bundle:
    """Definitions read from files, with every problem found in them."""

    triggers: list[TriggerDefinition] = field(default_factory=list)
    journeys: list[JourneyDefinition] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    beside: list[Path] = field(default_factory=list)  # folders read for their triggers only
    catalog: TriggerCatalog = field(default_factory=TriggerCatalog)  # the journeys' triggers

    @property
    def ok(self) -> bool:
        return not self.problems


def definition_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES))
        else:
            files.append(path)
    return files


def load_bundle(paths: Sequence[Path], catalog: TriggerCatalog | None = None) -> Bundle:
    """Read every file, then check journeys against the catalog plus the triggers read.

    A trigger defined in one file may be used by a journey in another, so references
    are checked only once every file has been read.
    """
    bundle = Bundle()
    located: list[tuple[str, str, Definition]] = []
    # Journeys with structural problems, mended to have their references checked too.
    mended: list[tuple[str, JourneyDefinition, set[str]]] = []
    for file in definition_files(paths):
        name = str(file)
        try:
            documents = parse_text(file.read_text(encoding="utf-8"))
        except READ_ERRORS as error:
            bundle.problems.append(Problem(file=name, path="", message=parse_error_message(error)))
            continue
        for index, document in enumerate(documents):
            where = name if len(documents) == 1 else f"{name}#{index + 1}"
            definition, problems = parse_definition(document)
            bundle.problems.extend(p.model_copy(update={"file": where}) for p in problems)
            if definition is not None:
                located.append((where, _key(definition)[1], definition))
            elif _is_journey(document) and (salvaged := salvage(document)) is not None:
                mended.append((where, *salvaged))
    for where, key, definition in located:
        kind = definition.kind
        if (kind, key) in bundle.sources:
            bundle.problems.append(
                Problem(
                    file=where,
                    path="id" if kind == "Journey" else "name",
                    message=f"{kind} {key!r} is also defined in {bundle.sources[(kind, key)]}",
                )
            )
            continue
        bundle.sources[(kind, key)] = where
        if isinstance(definition, TriggerDefinition):
            bundle.triggers.append(definition)
        else:
            bundle.journeys.append(definition)
    full = bundle.catalog = (catalog or TriggerCatalog()).with_definitions(bundle.triggers)
    checked: list[Definition] = [*bundle.triggers, *bundle.journeys]
    for item in checked:
        where = bundle.sources[_key(item)]
        bundle.problems.extend(
            p.model_copy(update={"file": where}) for p in check_definition(item, full)
        )
    for where, journey, caused in mended:
        bundle.problems.extend(
            p.model_copy(update={"file": where}) for p in _mended_problems(journey, caused, full)
        )
    return bundle


def journey_problems(
    document: Any, catalog: TriggerCatalog
) -> tuple[JourneyDefinition | None, list[Problem]]:
    """A journey document checked as PUT /v1/journeys/{id} checks it: the journey (None when
    its structure is broken) and every problem, its references included where they can be."""
    definition, problems = parse_definition(document, expect="Journey")
    if definition is None:
        return None, problems + reference_problems(document, catalog)
    assert isinstance(definition, JourneyDefinition)
    return definition, validate_journey(definition, catalog)


def reference_problems(document: Any, catalog: TriggerCatalog) -> list[Problem]:
    """For a journey with structural problems: the reference problems (triggers, steps,
    paths) found once its broken parts are stood in for (`salvage`), so that one answer
    lists them all. Nothing when it cannot be mended."""
    salvaged = salvage(document) if _is_journey(document) else None
    return _mended_problems(*salvaged, catalog) if salvaged is not None else []


def _mended_problems(
    journey: JourneyDefinition, caused: set[str], catalog: TriggerCatalog
) -> list[Problem]:
    # Problems the stand-ins themselves cause are not the author's.
    return [p for p in validate_journey(journey, catalog) if p.path not in caused]


def load_beside(paths: Sequence[Path]) -> Bundle:
    """As `load_bundle`, but a file given alone may use the triggers defined in the files
    beside it (as the journeys in workflows/ do); those files are read for nothing else."""
    given = {file.resolve() for file in definition_files(paths)}
    folders = sorted({path.parent for path in paths if not path.is_dir()})
    context: list[TriggerDefinition] = []
    for folder in folders:
        beside = sorted(f for f in folder.iterdir() if f.suffix in SUFFIXES and f.is_file())
        for file in (f for f in beside if f.resolve() not in given):
            try:
                documents = parse_text(file.read_text(encoding="utf-8"))
            except READ_ERRORS:
                continue  # its own problems are for when it is validated
            for document in documents:
                if isinstance(document, dict) and document.get("kind") == "Trigger":
                    definition, _ = parse_definition(document)
                    if isinstance(definition, TriggerDefinition):
                        context.append(definition)
    bundle = load_bundle(paths, TriggerCatalog(context))
    bundle.beside = folders
    return bundle


def _is_journey(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == "Journey"


def _key(definition: Definition) -> tuple[str, str]:
    if isinstance(definition, TriggerDefinition):
        return "Trigger", definition.name
    return "Journey", definition.id


def parse_error_message(error: Exception) -> str:
    """What went wrong reading a file or body, with the line and column when known."""
    if isinstance(error, DocumentTooLarge):
        return f"not accepted as YAML: {error}"
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}): {error.problem}"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
    return f"cannot be read: {error}"


def to_document(definition: Definition) -> dict[str, Any]:
    """The definition as plain JSON data that parses back to the same model."""
    return definition.model_dump(mode="json", by_alias=True)
