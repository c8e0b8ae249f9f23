"""JourneyWorkflow: one run per (journey, contact[, binding]), a thin driver of the interpreter.

The interpreter decides; this class makes its decisions durable. It carries out each
command (an activity, a durable timer), feeds events from signals to the interpreter,
keeps search attributes current, answers the state query, and continues as new when
the history grows long, carrying the interpreter's state over whole.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, TypedDict, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from journeys.engine.commands import (
        Activate,
        Activated,
        CallWebhook,
        Command,
        ContactLoaded,
        Enter,
        EntryDecided,
        Finish,
        LoadContact,
        Observation,
        Send,
        SendSettled,
        SendStatus,
        Wait,
        WebhookAnswered,
        Woke,
    )
    from journeys.engine.entry import EntryRequest
    from journeys.engine.events import TriggerEvent
    from journeys.engine.interpreter import Interpreter
    from journeys.engine.program import compile_journey
    from journeys.engine.state import Outcome
    from journeys.temporal import names
    from journeys.temporal.messages import JourneyInput, RunView, StopRequest
    from worker.contracts import (
        ACTIVATE_TRIGGER,
        CALL_WEBHOOK,
        ENTER_JOURNEY,
        LOAD_CONTACT,
        RECORD_END,
        RECORD_OUTCOME,
        RECORD_RUN_EVENTS,
        SEND_ATTEMPT,
        SENDS,
        ActivateRequest,
        Activity,
        ContactRequest,
        OutcomeRequest,
        RunEndRequest,
        RunEventsRequest,
        SendRequest,
        StepRef,
        WebhookRequest,
    )
    from worker.workflows.summaries import activity_summary, timer_summary


class ActivityOptions(TypedDict, total=False):
    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy


# The store comes back: retry without end, at least once a minute.
STORE_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
    ),
}
# Providers may be down for hours: back off up to 10 minutes, give up after a day and
# record the message as failed (the journey goes on).
SEND_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": SEND_ATTEMPT,
    "schedule_to_close_timeout": timedelta(days=1),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=10),
    ),
}
# Activating a trigger waits for Temporal itself: retry as long as the store would be.
ACTIVATE_ACTIVITY: ActivityOptions = STORE_ACTIVITY
# Store-only activities (load the contact, record the entry, the run's events, its outcome)
# are short, idempotent and need nothing but the store: as local activities they leave a
# marker in the history instead of a task-queue round trip and three events. The patch keeps
# histories recorded without it replaying as they ran.
LOCAL_STORE_ACTIVITIES = "store-activities-local"
# A local activity's retries keep its workflow task open, adding three events every few
# seconds: after five attempts the call becomes an ordinary activity, which the server
# retries (STORE_ACTIVITY) without growing the history.
STORE_LOCAL_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_attempts=5,
    ),
}
# Runs started since this patch issue fewer commands, so fewer history events and workflow
# tasks: no search attribute upsert for what the start set already (the gateway sets the
# first step), a send as a local activity first (the delivery ledger answers any retry of it
# with what an earlier attempt settled), and the run's end (its last entries and its outcome)
# stored in one local activity. A run of one email takes one workflow task instead of two.
FEWER_COMMANDS = "fewer-commands"
# A send's local attempts: each with the whole start-to-close of SEND_ACTIVITY, which the send
# budgets for (the provider's timeout, then settling the ledger). They are counted rather than
# bounded by a schedule-to-close, which would cut the last one short while it may still be
# sending. Then the send becomes an ordinary activity: a provider down for hours is retried by
# the server, not by a workflow task held open.
SEND_LOCAL_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": SEND_ACTIVITY["start_to_close_timeout"],
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_attempts=3,
    ),
}
_Request = TypeVar("_Request")
_Result = TypeVar("_Result")


@workflow.defn(name=names.JOURNEY_WORKFLOW)
class JourneyWorkflow:
    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        program = compile_journey(input.definition)
        if input.resume is not None:
            self._run = Interpreter(program, input.resume)
        else:
            self._run = Interpreter.begin(
                program,
                version=input.version,
                # The ledger's entry, or for a run that asks the ledger itself its first run
                # id: stable across continue-as-new, it names the run in tracking tokens.
                instance_id=input.instance_id or workflow.info().run_id,
                start=input.start,
                admitted=input.instance_id is not None,
            )
        self._input = input
        self._published: tuple[str, str] | None = None
        self._fewer_commands = False

    @workflow.run
    async def run(self, input: JourneyInput) -> Outcome:
        self._fewer_commands = workflow.patched(FEWER_COMMANDS)
        if self._fewer_commands:
            self._published = _progress_set_at_start()
        command: Command = self._run.resume(workflow.now())
        while True:
            self._publish_progress()
            match command:
                case Finish(outcome=outcome):
                    await self._record_end(outcome)
                    return outcome
                case LoadContact():
                    observation: Observation = await self._load_contact()
                case Enter(refusal=refusal):
                    observation = await self._enter(refusal)
                case Send():
                    observation = await self._send(command)
                case Activate():
                    observation = await self._activate(command)
                case CallWebhook():
                    observation = await self._call_webhook(command)
                case Wait(until=until):
                    await self._record_events()  # what happened so far, before a pause
                    if workflow.info().is_continue_as_new_suggested():
                        await self._continue_as_new()
                    observation = await self._sleep(until)
            command = self._run.resume(workflow.now(), observation)

    @workflow.signal(name=names.TRIGGER_SIGNAL)
    def trigger(self, event: TriggerEvent) -> None:
        self._run.receive(event, workflow.now())

    @workflow.signal(name=names.STOP_SIGNAL)
    def stop(self, request: StopRequest) -> None:
        self._run.stop(request.reason, workflow.now())

    @workflow.signal(name=names.PAUSE_SIGNAL)
    def pause(self) -> None:
        self._run.pause(workflow.now())

    @workflow.signal(name=names.RESUME_SIGNAL)
    def unpause(self) -> None:
        self._run.unpause(workflow.now())

    @workflow.query(name=names.STATE_QUERY)
    def state(self) -> RunView:
        return RunView.of(self._run.state)

    # -- commands -----------------------------------------------------------------------

    async def _load_contact(self) -> ContactLoaded:
        fields = sorted(self._run.program.contact_fields)
        request = ContactRequest(contact_id=self._run.state.contact_id, fields=fields)
        contact = await self._store(LOAD_CONTACT, request)
        return ContactLoaded(contact)

    async def _enter(self, refusal: str | None) -> EntryDecided:
        state = self._run.state
        return await self._store(
            ENTER_JOURNEY,
            EntryRequest(
                journey_id=state.journey_id,
                version=state.version,
                contact_id=state.contact_id,
                binding_id=state.binding_id,
                instance_id=state.instance_id,
                event_id=state.start.event_id,
                reentry=self._input.definition.reentry,
                rate_limit=entry.rate_limit if (entry := self._input.definition.entry) else None,
                refusal=refusal,
                at=workflow.now(),
            ),
        )

    async def _send(self, command: Send) -> SendSettled:
        state = self._run.state
        request = SendRequest(
            **self._step_ref(command.step, command.iteration),
            workflow_id=workflow.info().workflow_id,
            message=command.message,
            trigger=state.start.attributes,
            purpose=command.purpose,
            expires_after=command.expires_after,
            capped=self._input.definition.frequency_caps,
            timezone=self._input.definition.timezone,
            at=workflow.now(),
        )
        try:
            if self._fewer_commands:
                return await _local_first(
                    SENDS[command.channel], request, SEND_LOCAL_ACTIVITY, SEND_ACTIVITY
                )
            return await _call(SENDS[command.channel], request, **SEND_ACTIVITY)
        except ActivityError as error:
            # Retries ran out: the message is lost for this run, the journey goes on.
            return SendSettled(SendStatus.FAILED, None, f"gave up: {error.cause or error}")

    async def _activate(self, command: Activate) -> Activated:
        state = self._run.state
        request = ActivateRequest(
            instance_id=state.instance_id,
            step=command.step,
            iteration=command.iteration,
            contact_id=state.contact_id,
            binding_id=state.binding_id,
            trigger=command.trigger,
            attributes=command.attributes,
        )
        return await _call(ACTIVATE_TRIGGER, request, **ACTIVATE_ACTIVITY)

    async def _call_webhook(self, command: CallWebhook) -> WebhookAnswered:
        state = self._run.state
        request = WebhookRequest(
            **self._step_ref(command.step, command.iteration),
            call=command.call,
            trigger=state.start.attributes,
            event=state.event,
            response=state.response,
        )
        try:
            return await _call(
                CALL_WEBHOOK,
                request,
                start_to_close_timeout=command.call.timeout + timedelta(seconds=5),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_attempts=command.call.retries + 1,
                ),
            )
        except ActivityError as error:
            return WebhookAnswered(None, {}, f"no answer: {error.cause or error}")

    def _step_ref(self, step: str, iteration: int) -> dict[str, Any]:
        """The fields that say which step of this run asks (`StepRef`)."""
        state = self._run.state
        return StepRef(
            instance_id=state.instance_id,
            journey_id=state.journey_id,
            journey_name=self._input.definition.name,
            version=state.version,
            contact_id=state.contact_id,
            step=step,
            iteration=iteration,
        ).model_dump()

    async def _record_events(self) -> None:
        """Store the history entries not stored yet, for analytics. Batched: once before each
        wait and at the end, not once per step."""
        events = self._unrecorded_events()
        if events is not None:
            await self._store(RECORD_RUN_EVENTS, events)
            self._run.state.recorded = events.first_seq + len(events.entries)

    async def _record_end(self, outcome: Outcome) -> None:
        """Store the last history entries and how the run ended: in one call for runs started
        since FEWER_COMMANDS, in two before."""
        if not self._fewer_commands:
            await self._record_events()
            if (ending := self._outcome_request(outcome)) is not None:
                await self._store(RECORD_OUTCOME, ending)
            return
        end = RunEndRequest(
            events=self._unrecorded_events(), outcome=self._outcome_request(outcome)
        )
        if end.events is None and end.outcome is None:
            return
        await self._store(RECORD_END, end)
        if end.events is not None:
            self._run.state.recorded = end.events.first_seq + len(end.events.entries)

    def _unrecorded_events(self) -> RunEventsRequest | None:
        state = self._run.state
        first, entries = state.unrecorded()
        if not entries:
            return None
        return RunEventsRequest(
            instance_id=state.instance_id,
            journey_id=state.journey_id,
            version=state.version,
            contact_id=state.contact_id,
            first_seq=first,
            entries=entries,
        )

    def _outcome_request(self, outcome: Outcome) -> OutcomeRequest | None:
        state = self._run.state
        if not state.entered:
            return None  # the ledger recorded the refusal when it made it
        return OutcomeRequest(
            instance_id=state.instance_id,
            status=outcome.status.value,
            reason=outcome.reason,
            at=outcome.at,
            goal_reached_at=state.goal_reached_at,
        )

    async def _store(self, activity: Activity[_Request, _Result], request: _Request) -> _Result:
        """Run a store-only activity: local for runs started since LOCAL_STORE_ACTIVITIES (or
        FEWER_COMMANDS, which implies it), and an ordinary activity if that has not succeeded
        in five attempts."""
        if self._fewer_commands or workflow.patched(LOCAL_STORE_ACTIVITIES):
            return await _local_first(activity, request, STORE_LOCAL_ACTIVITY, STORE_ACTIVITY)
        return await _call(activity, request, **STORE_ACTIVITY)

    async def _sleep(self, until: datetime | None) -> Woke:
        """Sleep until `until` (or without end), until the interpreter can act, until a signal
        left something to record for analytics (a goal reached, a pause: counted at once, not
        when the wait ends), or until the history grows long enough to continue as new."""
        timeout = None if until is None else until - workflow.now()
        if timeout is None or timeout > timedelta(0):
            with suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: (
                        self._run.can_resume()
                        or bool(self._run.state.unrecorded()[1])
                        or workflow.info().is_continue_as_new_suggested()
                    ),
                    timeout=timeout,
                    timeout_summary=timer_summary(self._run) if timeout else None,
                )
        return Woke()

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._input.model_copy(update={"resume": self._run.state}))

    def _publish_progress(self) -> None:
        """Keep the run findable by where it is: JourneyStep and JourneyStatus."""
        state = self._run.state
        # A run that completes leaves its steps (`step` is None then): JourneyStep keeps the
        # last one it reached, so that ended runs are found by where they ended.
        last = self._published[0] if self._published else ""
        progress = (state.step or last, state.status.value)
        if progress == self._published:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            names.JOURNEY_STEP.value_set(progress[0]),
            names.JOURNEY_STATUS.value_set(progress[1]),
        ]
        if self._published is None:
            updates += [
                names.JOURNEY_ID.value_set(state.journey_id),
                names.CONTACT_ID.value_set(state.contact_id),
                names.JOURNEY_VERSION.value_set(state.version),
            ]
        workflow.upsert_search_attributes(updates)
        self._published = progress


def _progress_set_at_start() -> tuple[str, str] | None:
    """The (JourneyStep, JourneyStatus) the run was started with, when the start set every
    search attribute of the run (the gateway does; so does continue-as-new, which carries
    them over): what the first workflow task need not upsert again."""
    found = workflow.info().typed_search_attributes
    if any(found.get(key) is None for key in names.SEARCH_ATTRIBUTES):
        return None
    return found[names.JOURNEY_STEP], found[names.JOURNEY_STATUS]


async def _local_first(
    activity: Activity[_Request, _Result],
    request: _Request,
    local: ActivityOptions,
    durable: ActivityOptions,
) -> _Result:
    """Run an activity as a local activity (a marker in the history, no task-queue round trip),
    and as an ordinary one with `durable` options if the local attempts all failed."""
    try:
        result: _Result = await workflow.execute_local_activity(
            activity.name,
            request,
            result_type=activity.result_type,
            summary=activity_summary(activity, request),
            **local,
        )
        return result
    except FailureError as error:  # a local activity's failure is not an ActivityError
        workflow.logger.warning("%s handed to the server's retries: %s", activity.name, error)
    return await _call(activity, request, **durable)


async def _call(
    activity: Activity[_Request, _Result], request: _Request, **options: Any
) -> _Result:
    """Run an activity by its name, its result decoded as the type the contract gives."""
    result: _Result = await workflow.execute_activity(
        activity.name,
        request,
        result_type=activity.result_type,
        summary=activity_summary(activity, request),
        **options,
    )
    return result
