"""`journeys apply`: check definition files against a running API's catalog, then publish them.

Nothing is applied unless every file is valid: a half-applied set of journeys that
reference each other's triggers is worse than none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from journeys.catalog import TriggerCatalog
from journeys.definitions.documents import Bundle, load_bundle, to_document
from journeys.definitions.triggers import TriggerDefinition
from journeys.problems import Problem


@dataclass
class ApplyReport:
    problems: list[Problem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ApiError(Exception):
    pass


class ApiClient:
    """The few calls `apply` makes, with errors that say what the server answered."""

    def __init__(self, url: str, api_key: str | None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(f"cannot reach {self._http.base_url}: {error}") from error
        if response.status_code == 422:
            return response.json()
        if response.is_error:
            raise ApiError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def custom_triggers(self) -> list[TriggerDefinition]:
        triggers = self.call("GET", "/v1/triggers")
        return [
            TriggerDefinition.model_validate(t["definition"]) for t in triggers if t["definition"]
        ]


def apply(paths: Sequence[Path], client: ApiClient) -> ApplyReport:
    server = {t.name: t for t in client.custom_triggers()}
    bundle: Bundle = load_bundle(paths, TriggerCatalog(server.values()))
    report = ApplyReport(problems=list(bundle.problems))
    if not report.ok:
        return report
    for trigger in bundle.triggers:
        if server.get(trigger.name) == trigger:
            report.lines.append(f"trigger {trigger.name}: unchanged")
            continue
        answer = client.call("PUT", f"/v1/triggers/{trigger.name}", json=to_document(trigger))
        if _problems(answer, bundle.sources[("Trigger", trigger.name)], report):
            return report
        report.lines.append(
            f"trigger {trigger.name}: {'updated' if trigger.name in server else 'created'}"
        )
    for journey in bundle.journeys:
        where = bundle.sources[("Journey", journey.id)]
        answer = client.call("PUT", f"/v1/journeys/{journey.id}", json=to_document(journey))
        if _problems(answer, where, report):
            return report
        published = client.call("POST", f"/v1/journeys/{journey.id}/publish")
        if _problems(published, where, report):
            return report
        state = "published" if published["new_version"] else "unchanged"
        report.lines.append(f"journey {journey.id}: {state}, live version {published['version']}")
    return report


def _problems(answer: Any, where: str, report: ApplyReport) -> bool:
    if isinstance(answer, dict) and "problems" in answer:
        report.problems.extend(Problem(file=where, **p) for p in answer["problems"])
        return True
    return False
