"""A problem found in user input: where it is and what is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from journeys.kit.suggest import did_you_mean


class Problem(BaseModel):
    path: str
    message: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.path or '(document)'}: {self.message}"


class ProblemsError(Exception):
    """Raised when input has problems; carries every one of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


# Tags of discriminated unions appear in pydantic locations; they are not part
# of the document, so paths leave them out.
TAG_PREFIX = "~"


def format_path(location: Iterable[Any]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.startswith(TAG_PREFIX):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def join_path(prefix: str, suffix: str) -> str:
    if not prefix:
        return suffix
    if not suffix:
        return prefix
    return prefix + suffix if suffix.startswith("[") else f"{prefix}.{suffix}"


def problems_from_validation_error(error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        message = item["msg"]
        context = item.get("ctx", {})
        if item["type"] == "extra_forbidden":
            message = "unknown field" + context.get("suggestion", "")
        elif item["type"] in ("enum", "literal_error") and isinstance(item["input"], str):
            choices = re.findall(r"'([^']*)'", context.get("expected", ""))
            message += did_you_mean(item["input"], choices)
        elif item["type"] == "missing":
            message = "required"
        elif item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        problems.append(Problem(path=join_path(prefix, format_path(item["loc"])), message=message))
    return problems
