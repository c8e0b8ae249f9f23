"""JSON from untrusted text: nesting too deep to parse is a decoding error like any other.

`json.loads` raises RecursionError, not JSONDecodeError, on a body such as a hundred
thousand `[`; callers that answer decoding errors with a 4xx would answer that one with a
500.
"""

from __future__ import annotations

import json
from typing import Any


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nested too deeply", document, 0) from None
