"""Temporal names in one place: workflow type and ids, signals, queries, search attributes,
and the summary a run is listed under."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

JOURNEY_WORKFLOW = "JourneyWorkflow"
TEST_SEND_WORKFLOW = "TestSendWorkflow"
TRIGGER_SIGNAL = "trigger"  # a continue-, exit- or repeated start-trigger event
STOP_SIGNAL = "stop"  # the journey was stopped: end the run
PAUSE_SIGNAL = "pause"  # the journey was paused: freeze the run
RESUME_SIGNAL = "resume"  # the journey was resumed: go on
STATE_QUERY = "state"

JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
CONTACT_ID = SearchAttributeKey.for_keyword("ContactId")
JOURNEY_VERSION = SearchAttributeKey.for_int("JourneyVersion")
JOURNEY_STEP = SearchAttributeKey.for_keyword("JourneyStep")
JOURNEY_STATUS = SearchAttributeKey.for_keyword("JourneyStatus")
SEARCH_ATTRIBUTES = (JOURNEY_ID, CONTACT_ID, JOURNEY_VERSION, JOURNEY_STEP, JOURNEY_STATUS)

MEMO_JOURNEY_NAME = "journey_name"
MEMO_INSTANCE = "instance_id"  # the entry a run was started for (the ledger's)


def workflow_id(
    journey_id: str, contact_id: str, binding_id: str | None = None, run: int | None = None
) -> str:
    """The run's business key: `journey/{journey}/{contact}[/{binding}]`, and for a
    journey whose contacts may hold several runs (`parallel`), `/run-{n}` after it."""
    key = f"journey/{journey_id}/{contact_id}"
    key += f"/{binding_id}" if binding_id else ""
    return key + (f"/run-{run}" if run is not None else "")


def run_summary(
    journey_name: str, version: int, contact_id: str, binding_id: str | None = None
) -> str:
    """A run as the Temporal Web UI lists it (its static summary): `Welcome new contacts v3,
    contact ada`; the journey id, contact id and version are its search attributes too."""
    summary = f"{journey_name} v{version}, contact {contact_id}"
    return summary + (f", binding {binding_id}" if binding_id else "")
