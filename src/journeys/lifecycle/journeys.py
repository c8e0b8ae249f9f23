"""A journey's lifecycle: drafts, versions, pause and resume, stop, and test sends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from temporalio.client import Client

from journeys.definitions.common import JourneyId
from journeys.definitions.documents import journey_problems, to_document
from journeys.definitions.journeys import EmailStep, JourneyDefinition, PushStep, SmsStep
from journeys.definitions.validation import validate_journey
from journeys.engine.commands import SendSettled
from journeys.engine.state import RunStatus
from journeys.ingest.catalog_cache import CatalogCache
from journeys.kit.problems import Problem, ProblemsError, problems_from_validation_error
from journeys.store import journeys as store
from journeys.store.db import transaction
from journeys.store.entries import Run, end_runs, running
from journeys.temporal import names
from journeys.temporal.errors import reaching_temporal
from journeys.temporal.messages import TestSendInput
from journeys.temporal.runs import signal_runs, stop_run, stop_runs

TEST_SEND_TIMEOUT = timedelta(seconds=60)


class NoMessageStep(LookupError):
    def __init__(self, journey_id: str, step_id: str) -> None:
        super().__init__(f"no message step {step_id!r} in {journey_id}")


class NotInJourney(LookupError):
    def __init__(self, journey_id: str, contact_id: str, binding_id: str | None) -> None:
        bound = f" (binding {binding_id})" if binding_id else ""
        super().__init__(f"{contact_id}{bound} is in no run of {journey_id}")


REMOVED = "removed"

_JOURNEY_ID: TypeAdapter[str] = TypeAdapter(JourneyId)


@dataclass(frozen=True)
class SavedDraft:
    """A draft saved as it was given: its revision, and what keeps it from being published
    (the problems PUT /v1/journeys/{id} would refuse it for; empty when it is valid)."""

    journey_id: str
    revision: int
    problems: list[Problem]
    created: bool = False  # the journey is new


class JourneyLifecycle:
    def __init__(
        self, engine: Engine, catalog: CatalogCache, temporal: Client, task_queue: str
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._temporal = temporal
        self._task_queue = task_queue

    def save_draft(
        self, definition: JourneyDefinition, *, expected_revision: int | None = None
    ) -> bool:
        """Check the draft against the catalog and save it; True when the journey is new.
        With `expected_revision`, a draft saved meanwhile raises store.DraftConflict."""
        problems = validate_journey(definition, self._catalog.snapshot.catalog)
        if problems:
            raise ProblemsError(problems)
        return self._write(to_document(definition), expected_revision)[0]

    def save_draft_document(
        self, document: dict[str, Any], *, expected_revision: int | None
    ) -> SavedDraft:
        """Save a draft even when it has problems (the editor saves work in progress): the
        problems are returned, not raised, and publishing refuses it until they are gone.
        A valid draft is stored as PUT stores it; one with problems as it was given. Only a
        document that is not a mapping with a valid `id` is refused (ProblemsError). With
        `expected_revision` (0: a new journey), a draft saved meanwhile raises
        store.DraftConflict; None saves whatever is there."""
        journey_id = _journey_id(document)
        definition, problems = journey_problems(document, self._catalog.snapshot.catalog)
        stored = to_document(definition) if definition is not None else document
        created, revision = self._write(stored, expected_revision)
        return SavedDraft(journey_id, revision, problems, created)

    def draft_document(self, journey_id: str) -> tuple[dict[str, Any], int]:
        """A journey's draft as saved (valid or not) and its revision; JourneyNotFound."""
        with transaction(self._engine) as session:
            return store.draft_document(session, journey_id)

    def _write(self, document: dict[str, Any], expected_revision: int | None) -> tuple[bool, int]:
        with transaction(self._engine) as session:
            written = store.write_draft(session, document, expected_revision)
        self._catalog.reload()  # a draft journey's triggers answer `drafts`
        return written

    def publish(self, journey_id: str, by: str) -> tuple[int, bool]:
        """Publish the draft: (its version, whether that version is new)."""
        with transaction(self._engine) as session:
            published = store.publish(session, journey_id, by, self._catalog.snapshot.catalog)
        self._catalog.reload()
        return published

    async def stop(self, journey_id: str) -> int:
        """No new entries, and every running instance ends; how many were asked to."""
        await asyncio.to_thread(self._change, store.stop, journey_id)
        with reaching_temporal():
            return await stop_runs(
                self._temporal, self._task_queue, "journey_stopped", journey_id=journey_id
            )

    async def pause(self, journey_id: str) -> int:
        """No new entries (each refusal recorded as journey_paused); running instances freeze.
        How many were told (raises store.NotLive unless the journey is published)."""
        await asyncio.to_thread(self._change, store.set_paused, journey_id, True)
        return await self._signal(names.PAUSE_SIGNAL, journey_id)

    async def resume(self, journey_id: str) -> int:
        """New entries again; running instances go on where they were."""
        await asyncio.to_thread(self._change, store.set_paused, journey_id, False)
        return await self._signal(names.RESUME_SIGNAL, journey_id)

    async def remove(self, journey_id: str, contact_id: str, binding_id: str | None) -> int:
        """Take the contact out of the journey: each of its runs (of that binding, if one is
        given) ends now with the reason `removed`. A run the ledger holds but Temporal no
        longer has is ended in the ledger. How many runs were asked to end."""
        runs = await asyncio.to_thread(self._running, journey_id, contact_id, binding_id)
        if not runs:
            raise NotInJourney(journey_id, contact_id, binding_id)
        with reaching_temporal():
            reached = await asyncio.gather(
                *(stop_run(self._temporal, run.workflow_id, REMOVED) for run in runs)
            )
        gone = [run.workflow_id for run, got in zip(runs, reached, strict=True) if not got]
        if gone:
            await asyncio.to_thread(self._end, gone)
        return sum(reached)

    def _running(self, journey_id: str, contact_id: str, binding_id: str | None) -> list[Run]:
        with transaction(self._engine) as session:
            store.get_journey(session, journey_id)  # JourneyNotFound for an unknown journey
            runs = running(session, journey_id, contact_id)
        return [r for r in runs if binding_id is None or r.binding_id == binding_id]

    def _end(self, workflow_ids: list[str]) -> None:
        with transaction(self._engine) as session:
            end_runs(session, workflow_ids, RunStatus.EXITED, REMOVED, datetime.now(UTC))

    async def send_test(
        self,
        journey_id: str,
        step_id: str,
        version: store.VersionRef,
        contact_id: str,
        attributes: dict[str, Any],
    ) -> SendSettled:
        """One step's message to one contact, marked as a test, outside any run."""
        definition, number = await asyncio.to_thread(self._definition, journey_id, version)
        step = next((s for _, s in definition.walk() if s.id == step_id), None)
        match step:
            case EmailStep(email=message) | SmsStep(sms=message) | PushStep(push=message):
                pass
            case _:
                raise NoMessageStep(journey_id, step_id)
        request = TestSendInput(
            journey_id=journey_id,
            journey_name=definition.name,
            version=number,
            step=step_id,
            contact_id=contact_id,
            message=message,
            trigger=attributes,
        )
        shown = f"v{number}" if number else "draft"
        with reaching_temporal():
            result: SendSettled = await self._temporal.execute_workflow(
                names.TEST_SEND_WORKFLOW,
                request,
                id=f"test-send/{journey_id}/{step_id}/{contact_id}/{uuid.uuid4().hex[:8]}",
                task_queue=self._task_queue,
                execution_timeout=TEST_SEND_TIMEOUT,
                static_summary=f"test send of {step_id}: {definition.name} {shown}, "
                f"contact {contact_id}",
                result_type=SendSettled,
            )
        return result

    def _change(self, change: Callable[..., object], journey_id: str, *args: Any) -> None:
        with transaction(self._engine) as session:
            change(session, journey_id, *args)
        self._catalog.reload()

    def _definition(
        self, journey_id: str, version: store.VersionRef
    ) -> tuple[JourneyDefinition, int]:
        with transaction(self._engine) as session:
            return store.definition_at(session, journey_id, version)

    async def _signal(self, signal: str, journey_id: str) -> int:
        with reaching_temporal():
            return await signal_runs(
                self._temporal, self._task_queue, signal, journey_id=journey_id
            )


def _journey_id(document: Any) -> str:
    """The id of a document that is to be saved as a draft, whatever else is wrong in it."""
    if not isinstance(document, dict):
        raise ProblemsError([Problem(path="", message="a journey is a mapping with an 'id'")])
    if "id" not in document:
        raise ProblemsError([Problem(path="id", message="required")])
    try:
        return _JOURNEY_ID.validate_python(document.get("id"))
    except ValidationError as error:
        raise ProblemsError(problems_from_validation_error(error, "id")) from None
