"""A journey draft's revision over HTTP: GET answers it as an ETag, PUT takes it back as
If-Match, and a draft saved meanwhile is refused (412) with what changed. Two browser tabs
editing one journey cannot silently overwrite each other."""

from __future__ import annotations

import re

from pydantic import BaseModel

from journeys.authoring.diff import Diff
from journeys.kit.problems import Problem, ProblemsError

_TAG = re.compile(r'"draft-(\d+)"')


class DraftConflictBody(BaseModel):
    """A draft save refused: the draft was saved by someone else since it was read."""

    detail: str
    journey_id: str
    expected_revision: int
    current_revision: int
    changes: list[str]  # how the stored draft differs from the refused one, in words
    diff: Diff  # the same, step by step and as a text diff (from the refused one)


def draft_etag(revision: int) -> str:
    return f'"draft-{revision}"'


def expected_revision(if_match: str | None) -> int | None:
    """The revision an If-Match names (None: no header, or `*`, so no check)."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _TAG.fullmatch(if_match.strip())
    if found is None:
        message = 'must be one ETag of this journey\'s draft, as GET gave it: "draft-<revision>"'
        raise ProblemsError([Problem(path="If-Match", message=message)])
    return int(found.group(1))
