"""Parse human durations such as "10s", "2m", "1h30m" and "250ms", and moments in ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Return seconds for a duration string; a bare number means seconds.

    Raises ValueError with a sentence naming the accepted forms.
    """
    if isinstance(text, bool):
        raise ValueError("a duration must be text such as '30s', '2m' or '4h'")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError("a duration cannot be empty; write e.g. '30s', '2m' or '4h'")
    pos, total = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(compact):
        raise ValueError(
            f"'{text}' is not a duration; write a number and a unit (ms, s, m, h, d), "
            "e.g. '30s', '2m' or '1h30m'"
        )
    return total


def format_duration(seconds: float | None) -> str:
    """Format seconds compactly for tables: 0.4s, 12s, 3m05s, 2h10m."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def ago(seconds: float) -> str:
    """How long ago, as a person says it: just now, 5 minutes ago, 3 hours ago, 2 days ago."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def utc_moment(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 date or time (UTC unless it says otherwise).

    Raises ValueError when the text is not one.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
