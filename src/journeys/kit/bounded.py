"""Bounds on free-form JSON values (event attributes, a contact's attributes): how many,
how long a text, how deeply nested, and numbers finite. Checked without recursion, as the
values come from producers and may be nested past Python's own limit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def bounded(count: int, text: int, depth: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A pydantic validator for a dict of named values: at most `count` of them, texts of at
    most `text` characters, lists and objects nested at most `depth` levels (the dict is
    the first)."""

    def check(values: dict[str, Any]) -> dict[str, Any]:
        if len(values) > count:
            raise ValueError(f"at most {count} attributes, got {len(values)}")
        pending = [(value, str(name), 1) for name, value in values.items()]
        while pending:
            value, where, level = pending.pop()
            if isinstance(value, str) and len(value) > text:
                raise ValueError(f"{where}: text longer than {text} characters")
            if isinstance(value, float) and not math.isfinite(value):
                # JSON has no NaN or infinity (1e999 parses to one): stored, they became null.
                raise ValueError(f"{where}: not a finite number")
            if isinstance(value, dict | list):
                if level >= depth:
                    raise ValueError(f"{where}: nested deeper than {depth} levels")
                items = value.items() if isinstance(value, dict) else enumerate(value)
                pending += [(item, f"{where}.{key}", level + 1) for key, item in items]
        return values

    return check
