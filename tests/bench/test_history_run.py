"""The history-length benchmark's run path, on a small stack of its own: runs wait, are
pinged, and each level's continue phase goes through the gateway with the history length
the server reports. Figures are not checked, only that each level measured what it says."""

from __future__ import annotations

import shutil

import pytest

from bench.context import Options
from bench.history import history

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk drives the gateway's phases"),
]


async def test_each_level_replays_runs_with_the_history_it_was_given() -> None:
    options = Options(seconds=1, connections=2, history_runs=4, history_pings=(0, 3))
    result = await history(options)
    assert result["all_waiting"] and result["waiting_runs"] == 4
    first, second = result["levels"]
    assert (first["pings_before"], second["pings_before"]) == (0, 3)
    # Each signal adds an event at least: the three setup pings of each run, and the
    # first level's measured phase before them.
    assert second["history_events_median"] >= first["history_events_median"] + 3
    for level in (first, second):
        assert level["continue"]["operations"] > 0 and level["continue"]["failures"] == 0
