"""Change-freeze windows: weekly (`Fri 18:00-Mon 06:00`) or dated (`2026-12-24T00:00/2026-12-27T00:00`).

Times without a zone are the console machine's local time, as a change calendar reads them.
"""

from __future__ import annotations

import re
from datetime import datetime

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKLY = re.compile(r"^(\w{3}) (\d{1,2}):(\d{2})\s*-\s*(\w{3}) (\d{1,2}):(\d{2})$")


def check_window(text: str) -> str:
    """Return the window unchanged, or raise ValueError saying how to write it."""
    if "/" in text:
        start, end = _dated(text)
        if end <= start:
            raise ValueError(f"freeze window '{text}' ends before it starts")
        return text
    _weekly(text)
    return text


def _weekly(text: str) -> tuple[int, int]:
    match = _WEEKLY.match(text.strip())
    if not match or match[1] not in DAYS or match[4] not in DAYS:
        raise ValueError(
            f"freeze window '{text}' is neither weekly like \"Fri 18:00-Mon 06:00\" nor dated "
            'like "2026-12-24T00:00/2026-12-27T00:00"'
        )
    minutes = []
    for day, hour, minute in ((match[1], match[2], match[3]), (match[4], match[5], match[6])):
        if int(hour) > 23 or int(minute) > 59:
            raise ValueError(f"freeze window '{text}' has a time that is not on a clock")
        minutes.append(DAYS.index(day) * 1440 + int(hour) * 60 + int(minute))
    return minutes[0], minutes[1]


def _dated(text: str) -> tuple[float, float]:
    try:
        start, end = (datetime.fromisoformat(part.strip()) for part in text.split("/", 1))
    except ValueError:
        raise ValueError(
            f"freeze window '{text}' is not two ISO dates like \"2026-12-24T00:00/2026-12-27T00:00\""
        ) from None
    return start.timestamp(), end.timestamp()


def in_force(text: str, now: float) -> bool:
    """Whether the window covers the moment `now` (seconds since the epoch)."""
    if "/" in text:
        start, end = _dated(text)
        return start <= now < end
    first, last = _weekly(text)
    moment = datetime.fromtimestamp(now)
    minute = moment.weekday() * 1440 + moment.hour * 60 + moment.minute
    if first <= last:
        return first <= minute < last
    return minute >= first or minute < last  # the window wraps over the week's end


def active(windows: list[str] | tuple[str, ...], now: float) -> str | None:
    """The first of the windows in force at `now`, if any."""
    return next((w for w in windows if in_force(w, now)), None)
