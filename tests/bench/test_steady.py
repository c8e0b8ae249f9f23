"""The steady benchmark's pure parts: how the rate is searched, when a phase is steady, and
the figures and ratios made of a phase (no timing here: the figures are given)."""

from __future__ import annotations

import pytest

from bench.figures import percentiles_ms
from bench.openloop import due
from bench.report import steady as steady_section
from bench.report import targets
from bench.steady import FULL, QUICK, Ladder, backlog, cpu_ms_per_run, is_steady, ratios


def search(ladder: Ladder, capacity: float) -> tuple[float | None, list[float]]:
    """The highest steady rate the ladder finds on a system steady up to `capacity`."""
    tried: dict[float, bool] = {}
    while (rate := ladder.next(tried)) is not None:
        assert rate not in tried, f"{rate} tried twice: {tried}"
        tried[rate] = rate <= capacity
    steady = [rate for rate, ok in tried.items() if ok]
    return max(steady, default=None), list(tried)


@pytest.mark.parametrize("capacity", [12, 25, 46, 64, 150])
def test_the_search_ends_within_its_resolution_below_the_capacity(capacity: float) -> None:
    best, tried = search(FULL, capacity)
    assert best is not None and best <= capacity
    assert (capacity - best) / best <= FULL.resolution * 1.5
    assert len(tried) <= 12


def test_the_search_climbs_by_its_factor_then_halves_the_gap() -> None:
    best, tried = search(Ladder(start=10, factor=2, resolution=0.1), capacity=50)
    assert tried[:4] == [10, 20, 40, 80]
    assert tried[4] == 60  # between 40 (steady) and 80 (not)
    assert best is not None and 45 <= best <= 50


def test_the_search_steps_down_when_the_first_rate_is_not_steady() -> None:
    best, tried = search(Ladder(start=10, factor=2, resolution=0.5), capacity=3)
    assert tried[:3] == [10, 5, 2.5]
    assert best is not None and 2.5 <= best <= 3


def test_the_search_stops_at_its_ceiling_and_its_floor() -> None:
    assert search(QUICK, capacity=1000) == (40, [5, 10, 20, 40])
    best, tried = search(Ladder(start=4, factor=2, resolution=0.1), capacity=0.5)
    assert best is None and tried == [4, 2, 1]


def test_a_phase_is_steady_only_if_every_condition_holds() -> None:
    assert is_steady(rate=20, sent=400, refused=0, delivered=400, p99_ms=900, backlog_at_end=20)
    assert not is_steady(20, 400, refused=1, delivered=400, p99_ms=900, backlog_at_end=0)
    assert not is_steady(20, 400, refused=0, delivered=399, p99_ms=900, backlog_at_end=0)
    assert not is_steady(20, 400, refused=0, delivered=400, p99_ms=1000, backlog_at_end=0)
    assert not is_steady(20, 400, refused=0, delivered=400, p99_ms=900, backlog_at_end=21)


def test_the_backlog_is_what_was_sent_and_not_yet_delivered() -> None:
    sent = [0.0, 0.1, 0.2, 0.3]
    arrived = [0.05, 0.35, 0.5]
    assert backlog(0.0, sent, arrived) == 1
    assert backlog(0.3, sent, arrived) == 3
    assert backlog(0.4, sent, arrived) == 2
    assert backlog(1.0, sent, arrived) == 1  # one never came


def test_events_are_due_on_their_schedule() -> None:
    assert [due(seq, rate=4) for seq in range(5)] == [0, 0.25, 0.5, 0.75, 1]


def test_cpu_per_run_sums_the_workers_and_leaves_out_the_load_generator() -> None:
    cpu = {"api": 10.0, "worker": 40.0, "worker-2": 20.0, "temporal": 50.0, "bench": 30.0}
    assert cpu_ms_per_run(cpu, seconds=10, runs=100) == {
        "api": 10.0,
        "worker": 60.0,
        "temporal": 50.0,
        "total": 120.0,
    }
    assert cpu_ms_per_run(cpu, seconds=10, runs=0) == {}


def test_ratios_are_journeys_over_the_baseline_or_none_without_a_figure() -> None:
    journeys = {"highest_steady": 25.0, "cpu_ms_per_run": {"total": 57.0}}
    baseline = {"highest_steady": 46.0, "cpu_ms_per_run": {"total": 37.0}}
    assert ratios(journeys, baseline) == {"rate": 0.543, "cpu_per_run": 1.541}
    none_steady = {"highest_steady": None, "cpu_ms_per_run": {}}
    assert ratios(none_steady, baseline) == {"rate": None, "cpu_per_run": None}


def test_percentiles_are_read_from_every_latency() -> None:
    figures = percentiles_ms([n / 1000 for n in range(1, 101)])
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p99_ms"] == 99.0  # rounded to 0.1 ms
    assert figures["max_ms"] == 100


def test_the_targets_say_met_missed_or_not_measured() -> None:
    results = {
        "steady": {"workers": {"1": {"ratio": {"rate": 0.95, "cpu_per_run": 1.5}}}},
        "capacity": {"ratio": {"continue": 0.72}},
    }
    table = "\n".join(targets(results))
    assert "| highest steady rate, 1 worker(s) | 0.95 | >= 0.9 | met |" in table
    assert "| CPU per run, 1 worker(s) | 1.50 | <= 1.25 | **missed** |" in table
    assert "| gateway / SDK, start | not measured in this run | >= 0.95 |  |" in table
    assert "| continue with runs waiting / empty | 0.72 | >= 0.9 | **missed** |" in table


def test_the_section_shows_both_apps_side_by_side_with_their_phases() -> None:
    def system(best: float | None, total: float) -> dict[str, object]:
        cpu = {"api": 1.5, "worker": 12.0, "temporal": 23.5, "total": total} if best else {}
        phases = [
            {"rate": 10.0, "p99_ms": 80.0, "backlog_at_end": 0, "steady": best is not None},
            {"rate": 15.0, "p99_ms": 4200.0, "backlog_at_end": 40, "steady": False},
        ]
        return {"highest_steady": best, "p99_ms": 80.0, "cpu_ms_per_run": cpu, "phases": phases}

    result = {
        "quick": False,
        "phase_seconds": 20,
        "workers": {"1": {"baseline": system(10.0, 37.0), "journeys": system(None, 0)}},
    }
    text = "\n".join(steady_section(result))
    assert "| 1 | hand-written app | 10.0 | 80.0 | 1.5 | 12.0 | 23.5 | 37.0 | 2 |" in text
    assert "| 1 | Journeys | none steady |  |  |  |  |  | 2 |" in text
    assert "- 1 worker(s), Journeys: 10.0: 80.0, 0 (not steady); 15.0: 4,200, 40 (not" in text
    assert "--quick" not in text
