"""What a condition means: evaluated against scopes of plain data, never raising."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from journeys.definitions.conditions import (
    AllOf,
    AnyOf,
    AttributeFrom,
    Comparison,
    Condition,
    NotOf,
    Operator,
)

Scopes = Mapping[str, Mapping[str, Any]]

MISSING = object()


def evaluate(condition: Condition | None, scopes: Scopes) -> bool:
    """True when the condition holds; a missing condition always holds."""
    match condition:
        case None:
            return True
        case Comparison(value=AttributeFrom(from_=path)):
            expected = lookup(scopes, path)
            if expected is MISSING or expected is None:
                # Nothing of the run to compare with: it equals nothing, and differs from all.
                return condition.op is Operator.NE
            return _compare(condition.op, lookup(scopes, condition.attr), expected)
        case Comparison(op=op, value=value):
            return _compare(op, lookup(scopes, condition.attr), value)
        case AllOf(all=items):
            return all(evaluate(item, scopes) for item in items)
        case AnyOf(any=items):
            return any(evaluate(item, scopes) for item in items)
        case NotOf(not_=inner):
            return not evaluate(inner, scopes)
    raise AssertionError(condition)  # pragma: no cover


def lookup(scopes: Scopes, path: str) -> Any:
    root, *keys = path.split(".")
    value: Any = scopes.get(root, MISSING)
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return MISSING
        value = value[key]
    return value


def _compare(op: Operator, actual: Any, expected: Any) -> bool:
    missing = actual is MISSING or actual is None
    if op is Operator.EXISTS:
        return (not missing) == (expected is not False)
    if missing:
        # "is not X" holds for a value that is not there at all.
        return op in (Operator.NE, Operator.NOT_IN)
    match op:
        case Operator.EQ:
            return _equal(actual, expected)
        case Operator.NE:
            return not _equal(actual, expected)
        case Operator.IN:
            return any(_equal(actual, item) for item in expected)
        case Operator.NOT_IN:
            return not any(_equal(actual, item) for item in expected)
        case Operator.CONTAINS:
            if isinstance(actual, str) and isinstance(expected, str):
                return expected in actual
            if isinstance(actual, list):
                return any(_equal(item, expected) for item in actual)
            return False
        case Operator.STARTS_WITH:
            return (
                isinstance(actual, str)
                and isinstance(expected, str)
                and actual.startswith(expected)
            )
    ordered = _ordered(actual, expected)
    if ordered is None:
        return False
    left, right = ordered
    match op:
        case Operator.GT:
            return bool(left > right)
        case Operator.GTE:
            return bool(left >= right)
        case Operator.LT:
            return bool(left < right)
        case Operator.LTE:
            return bool(left <= right)
    raise AssertionError(op)  # pragma: no cover


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both values in one comparable kind (numbers, date-times or text), or None."""
    if _is_number(left) and _is_number(right):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        first, second = _datetime(left), _datetime(right)
        if first and second and (first.tzinfo is None) == (second.tzinfo is None):
            return first, second
        return left, right
    return None


def _datetime(value: str) -> datetime | None:
    if len(value) < 10 or value[4] != "-":
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
