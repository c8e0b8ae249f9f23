"""Every run decodes its payloads with the process's one cache of pydantic type adapters
(journeys.temporal.converter): once a run of the benchmark's journey has built the
adapters of its input and of its activities' results, the runs after it build none. (A
signal's argument goes through the same converter; no run here receives one.)

The cache is emptied first, so that the first run must build its adapters: the count sees
them, and the test cannot pass on a converter that stopped going through pydantic."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from journeys.temporal import converter
from tests.sinks import SmtpSink
from tests.worker.harness import Harness
from tests.worker.run_shape import run_one_email


async def test_runs_after_the_first_build_no_type_adapter(
    h: Harness, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    build = TypeAdapter.__init__

    def counted(adapter: TypeAdapter[Any], type: Any, *args: Any, **kwargs: Any) -> None:
        built.append(type)
        build(adapter, type, *args, **kwargs)

    monkeypatch.setattr(TypeAdapter, "__init__", counted)
    converter._JSON._type_adapter.cache_clear()
    await run_one_email(h, 1)
    assert built, "the first run decoded nothing through pydantic"

    built.clear()
    for seq in (2, 3):
        await run_one_email(h, seq)
    assert built == []
