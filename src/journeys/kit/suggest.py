"""Suggestions for a misspelt name: the closest known one, if any is close."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name most like `word` (difflib's ratio of at least 0.6), or None."""
    found = difflib.get_close_matches(word, list(known), n=1)
    return found[0] if found else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`; did you mean 'email'?` to add to a message, or nothing if no name is close."""
    match = closest(word, known)
    return f"; did you mean {match!r}?" if match is not None and match != word else ""
