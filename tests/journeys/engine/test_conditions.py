from typing import Any

import pytest
from pydantic import TypeAdapter

from journeys.definitions.conditions import Condition
from journeys.engine.conditions import evaluate

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)
SCOPES = {
    "contact": {"country": "FR", "age": 31, "tags": ["vip", "b2b"], "vip": True, "nothing": None},
    "trigger": {"total": 50.0, "when": "2026-03-01T10:00:00+00:00", "code": "SUMMER-24"},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"attr": "contact.country", "op": "eq", "value": "FR"}, True),
        ({"attr": "contact.country", "op": "ne", "value": "FR"}, False),
        ({"attr": "trigger.total", "op": "gte", "value": 50}, True),
        ({"attr": "trigger.total", "op": "gt", "value": 50}, False),
        ({"attr": "contact.age", "op": "lt", "value": "40"}, False),  # no number/text mixing
        ({"attr": "trigger.when", "op": "gt", "value": "2026-03-01T09:00:00Z"}, True),
        ({"attr": "contact.country", "op": "in", "value": ["FR", "BE"]}, True),
        ({"attr": "contact.country", "op": "not_in", "value": ["FR", "BE"]}, False),
        ({"attr": "contact.tags", "op": "contains", "value": "vip"}, True),
        ({"attr": "trigger.code", "op": "contains", "value": "MER"}, True),
        ({"attr": "trigger.code", "op": "starts_with", "value": "SUMMER"}, True),
        ({"attr": "contact.vip", "op": "eq", "value": 1}, False),  # true is not 1
        ({"attr": "contact.email", "op": "exists"}, False),
        ({"attr": "contact.nothing", "op": "exists"}, False),
        ({"attr": "contact.email", "op": "exists", "value": False}, True),
        ({"attr": "contact.email", "op": "eq", "value": "x"}, False),
        ({"attr": "contact.email", "op": "ne", "value": "x"}, True),
        ({"attr": "contact.email", "op": "not_in", "value": ["x"]}, True),
        ({"attr": "contact.country.code", "op": "eq", "value": "x"}, False),
        (
            {
                "all": [
                    {"attr": "contact.country", "op": "eq", "value": "FR"},
                    {"not": {"attr": "contact.age", "op": "lt", "value": 18}},
                ]
            },
            True,
        ),
        (
            {
                "any": [
                    {"attr": "contact.country", "op": "eq", "value": "DE"},
                    {"attr": "trigger.total", "op": "eq", "value": 50},
                ]
            },
            True,
        ),
    ],
)
def test_evaluate(condition: dict[str, Any], expected: bool) -> None:
    assert evaluate(CONDITION.validate_python(condition), SCOPES) is expected
