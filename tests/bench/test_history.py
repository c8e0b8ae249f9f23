from bench.report import history


def _level(pings: int, median: float, longest: int, rate: float, worker_ms: float) -> dict:
    return {
        "pings_before": pings,
        "history_events_median": median,
        "history_events_max": longest,
        "continue": {"per_second": rate, "cpu_ms_per_operation": {"worker": worker_ms}},
    }


def test_each_level_shows_its_history_length_and_its_rate_against_the_first() -> None:
    result = {
        "waiting_runs": 300,
        "worker_cache": 100,
        "levels": [_level(0, 9, 12, 150.0, 4.3), _level(250, 294, 309, 120.0, 6.0)],
    }
    text = "\n".join(history(result))
    assert "| 0 | 9 (12) | 150 | 1.00 | 4.3 | 0.0 |" in text
    assert "| 250 | 294 (309) | 120 | 0.80 | 6.0 | 0.0 |" in text
    assert "300 runs waiting, pinged in turn, the worker caching 100" in text
