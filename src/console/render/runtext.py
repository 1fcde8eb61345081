"""Short texts that describe runs in tables and titles: status marks, times, durations.

Kept apart from the reports so the console's first frame can use them without importing
the engine's state and events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.state import RunState

STATUS_MARK = {
    "pending": "·",
    "running": "▶",
    "ok": "✓",
    "failed": "✗",
    "unreachable": "⚡",
    "skipped": "-",
    "timed_out": "⌛",
    "waiting": "⏸",
    "queued": "·",
    "succeeded": "✓",
    "cancelled": "⊘",
    "rejected": "✗",
    "expired": "⌛",
    "interrupted": "!",
    "unknown": "?",
}


def iso(ts: float | None) -> str | None:
    """A UTC timestamp in ISO 8601, or None."""
    return (
        datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if ts
        else None
    )


def short_time(ts: float | None) -> str:
    """Local date and time to the second, for tables."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def duration(state: RunState) -> float | None:
    """Seconds from start to end (or to the last event while running)."""
    start = state.started_at or state.created_at
    end = state.finished_at or state.last_event_at
    return end - start if start and end else None
