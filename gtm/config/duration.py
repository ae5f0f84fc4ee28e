"""Durations as people write them, in zone files and on the command line: `500ms`, `2s`,
`1.5s`, `.5s`, `5m`, `1h`, or a bare number of seconds. Each caller checks the range it allows
(zone files take 0, command-line flags do not). Pure."""

from __future__ import annotations

import re

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(\s*)(ms|s|m|h)?")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
EXAMPLES = "500ms, 2s, 1.5s, 5m or 1h"


def parse_duration(text: str, *, spaced: bool = False) -> float | None:
    """Seconds, or None when `text` is not a duration. `spaced` also takes a space before the
    unit (`5 m`), as the command line always has; zone files never have."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or (match[2] and not spaced):
        return None
    return float(match[1]) * _UNIT[match[3]]


def format_seconds(seconds: float) -> str:
    """A duration as a user would write it."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
