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

from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import Bundle, load_bundle, to_document
from journeys.definitions.triggers import TriggerDefinition
from journeys.kit.problems import Problem


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
        self._keyless = not api_key
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
        if response.status_code == 401 and self._keyless:
            raise ApiError(
                f"{self._http.base_url} wants an API key: set JOURNEYS_API_KEY or pass --api-key"
                " (`journeys dev` keeps its admin key in .journeys/api-key)"
            )
        if response.is_error:
            raise ApiError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def custom_triggers(self) -> list[TriggerDefinition]:
        triggers = self.call("GET", "/v1/triggers")
        return [
            TriggerDefinition.model_validate(t["definition"]) for t in triggers if t["definition"]
        ]


@dataclass(frozen=True)
class Change:
    sign: str  # + create, ~ change, = unchanged, - stop
    kind: str  # trigger or journey
    name: str
    note: str = ""

    def __str__(self) -> str:
        return f"{self.sign} {self.kind} {self.name}" + (f" ({self.note})" if self.note else "")


def plan(bundle: Bundle, client: ApiClient, prune: bool) -> list[Change]:
    """What applying the bundle would change on the server."""
    server_triggers = {t.name: t for t in client.custom_triggers()}
    server_journeys = {j["id"]: j for j in client.call("GET", "/v1/journeys")}
    changes = []
    for trigger in bundle.triggers:
        current = server_triggers.get(trigger.name)
        sign = "+" if current is None else "=" if current == trigger else "~"
        changes.append(Change(sign, "trigger", trigger.name))
    for journey in bundle.journeys:
        current = server_journeys.get(journey.id)
        live = current["live_version"] if current else None
        if current is None or not live:
            changes.append(Change("+", "journey", journey.id, "publish"))
            continue
        published = client.call("GET", f"/v1/journeys/{journey.id}/versions/{live}")
        if published == to_document(journey) and current["status"] != "stopped":
            changes.append(Change("=", "journey", journey.id, f"version {live}"))
        else:
            changes.append(Change("~", "journey", journey.id, f"publish a version after {live}"))
    if prune:
        kept = {j.id for j in bundle.journeys}
        for journey_id, journey in sorted(server_journeys.items()):
            if journey_id not in kept and journey["status"] in ("published", "paused"):
                changes.append(Change("-", "journey", journey_id, "stop: its file is gone"))
    return changes


def apply(
    paths: Sequence[Path], client: ApiClient, *, prune: bool = False, dry_run: bool = False
) -> ApplyReport:
    """Check every file against the server's catalog, print the plan, then carry it out.

    Applying is idempotent: unchanged files make no new version."""
    server = {t.name: t for t in client.custom_triggers()}
    bundle: Bundle = load_bundle(paths, TriggerCatalog(server.values()))
    report = ApplyReport(problems=list(bundle.problems))
    if not report.ok:
        return report
    changes = plan(bundle, client, prune)
    report.lines = [str(change) for change in changes]
    if dry_run:
        return report
    for change in changes:
        if change.sign == "=":
            continue
        if not _carry_out(change, bundle, client, report):
            return report
    return report


def _carry_out(change: Change, bundle: Bundle, client: ApiClient, report: ApplyReport) -> bool:
    if change.sign == "-":
        client.call("POST", f"/v1/journeys/{change.name}/stop")
        return True
    where = bundle.sources[(change.kind.title(), change.name)]
    if change.kind == "trigger":
        trigger = next(t for t in bundle.triggers if t.name == change.name)
        answer = client.call("PUT", f"/v1/triggers/{trigger.name}", json=to_document(trigger))
        return not _problems(answer, where, report)
    journey = next(j for j in bundle.journeys if j.id == change.name)
    answer = client.call("PUT", f"/v1/journeys/{journey.id}", json=to_document(journey))
    if _problems(answer, where, report):
        return False
    published = client.call("POST", f"/v1/journeys/{journey.id}/publish")
    return not _problems(published, where, report)


def _problems(answer: Any, where: str, report: ApplyReport) -> bool:
    if isinstance(answer, dict) and "problems" in answer:
        report.problems.extend(Problem(file=where, **p) for p in answer["problems"])
        return True
    return False
