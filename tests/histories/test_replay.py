"""Replay stored JourneyWorkflow histories against the workflow code as it is now.

Why: a run of JourneyWorkflow can wait for days, so when a worker with new code picks it
up, it replays the run's history through the new code, which must issue the same commands
(activities, timers, search attribute upserts, continue-as-new) in the same order. If it
does not, the run fails with a non-determinism error and is stuck until a fix ships.
Replaying a history produced by the same code cannot catch that (tests/worker does that
already); these files were recorded by an earlier version of the code and are committed,
so every later change is checked against runs that started before it.

What they cover: each file is one run of a scenario in record.py (its docstrings say which
step kinds and code paths each drives: email, SMS and push sends, wait_for matched by a
signal or timed out, waits by duration, until a moment and until a time of day, branch,
split, activate, webhooks answered and unanswered, a goal reached by a signal, an exit
trigger, pause and resume, stop, a refused entry (runs that decided their own entry), a quiet
time, continue-as-new).

Histories come in generations: each directory here was recorded by one version of the
workflow code (1-store-activities: the store-only activities as activities; 2-local-store-
activities: as local activities, behind `workflow.patched`; 3-gateway-entries: runs the
entry ledger admitted before they began, which therefore ask it nothing, with a wait until
a date of the data and a blocked email raised to the run itself; 4-fewer-commands: sends as
local activities first, the run's end stored in one call, no upsert of search attributes
the start set already, behind the patch of that name). Every generation replays
on the current code, so every version of a run that may still be in flight is covered.

When this test fails, the change breaks runs in flight. Either make the change
deterministic, or, when it is meant to change what runs do, guard it for runs already
started: `workflow.patched("some-id")` (old histories take the old path, new runs the
new one) or a new worker deployment version. Then the stored histories must still replay,
and a new generation is recorded *next to* them, not over them:

    .venv/bin/python -m tests.histories.record 3-some-change

Delete a generation only once no run of the code that recorded it can still be running
(every such run finished, or its journeys were stopped), for instance when its patch is
removed with `workflow.deprecate_patch`. Re-recording just to make this test pass hides
the breakage it exists to catch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from journeys.temporal.converter import data_converter
from worker.sandbox import sandbox_for
from worker.workflows.journey import JourneyWorkflow

HERE = Path(__file__).parent
# Named like record.py names them: 1-store-activities, 2-local-store-activities, ...
GENERATIONS = sorted(path for path in HERE.iterdir() if re.fullmatch(r"\d+-[a-z0-9-]+", path.name))
HISTORIES = [path for generation in GENERATIONS for path in sorted(generation.glob("*.json"))]
# How many histories record.py writes in a generation: fewer files means some were lost,
# and a suite that replays nothing would pass.
RECORDED = 13


def load(path: Path) -> WorkflowHistory:
    document = json.loads(path.read_text())
    started = document["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started.get("workflowId", path.stem), document)


@pytest.mark.parametrize(
    "path", HISTORIES, ids=[f"{path.parent.name}/{path.stem}" for path in HISTORIES]
)
async def test_a_stored_history_replays_on_the_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[JourneyWorkflow],
        data_converter=data_converter,
        workflow_runner=sandbox_for(data_converter),  # the worker's own
    )
    # Raises on non-determinism, or on any failure of a workflow task.
    await replayer.replay_workflow(load(path))


def test_every_generation_holds_every_scenario() -> None:
    assert len(GENERATIONS) >= 2, GENERATIONS
    for generation in GENERATIONS:
        recorded = sorted(path.stem for path in generation.glob("*.json"))
        assert len(recorded) >= RECORDED, (generation.name, recorded)
