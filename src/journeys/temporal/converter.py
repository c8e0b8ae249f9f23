"""The data converter of every Journeys client, worker and replayer: temporalio's pydantic
JSON, with one cache of pydantic type adapters for the whole process.

temporalio gives every workflow run a payload converter of its own (`payload_converter_class`
is instantiated per run, and again per activation), and its pydantic JSON converter caches
type adapters per instance: each run built the adapters of its input, of its signals and
of each activity's result anew, about half a millisecond of the worker's CPU per run
(BENCHMARKS.md). Here every payload converter holds the same JSON converter, so an adapter
is built once per type and process. The payloads are the same bytes: recorded histories
replay unchanged.

Sharing it is safe: the JSON converter keeps nothing of a run, pydantic's adapters are
immutable and its cache is an `lru_cache`, which threads may share. It relies on one rule
of the workflow modules: every type a run's payloads decode to (its input, its signals'
arguments, its activities' results) is imported passed through the sandbox (from
`journeys.*` or `worker.contracts`), so it is the same object in every run. A type defined
in a sandboxed module would be a new class in each run, and each would take a place in the
cache, holding its run's copy of the module (tests/worker/test_converter.py checks that
later runs build no adapter).
"""

from __future__ import annotations

from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

_JSON = PydanticJSONPlainPayloadConverter()


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """temporalio's default encodings, JSON through pydantic (as `PydanticPayloadConverter`),
    with the process's one JSON converter."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _JSON if isinstance(converter, JSONPlainPayloadConverter) else converter
                for converter in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)
