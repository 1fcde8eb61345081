"""Short texts that describe runs in tables and titles: status marks, times, durations.

Kept apart from the reports so the console's first frame can use them without importing
the engine's state and events.
"""

from __future__ import annotations

from collections.abc import Sequence
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


STEP_FAILED = ("failed", "unreachable", "timed_out")
"""Step statuses of a step that ran and did not succeed: its reason is shown with it."""
RAN = ("ok", *STEP_FAILED)
"""Step statuses of a step that ran to an outcome."""
NOT_RUN = ("skipped", "cancelled", "unknown")
"""Step statuses of a step that ended without running (or without our knowing whether it did)."""


def step_counts(statuses: Sequence[str]) -> str:
    """How many of these steps ran, and how many did not and why: `3/9 ran · 6 skipped`."""
    ran = sum(1 for s in statuses if s in RAN)
    words = [f"{ran}/{len(statuses)} ran"]
    for status in ("waiting", *NOT_RUN):
        count = statuses.count(status)
        if count:
            words.append(f"{count} {status}")
    return " · ".join(words)


LIVE = ("queued", "running", "waiting")
"""Statuses whose clock is still going: their time runs to now, events or not."""


def duration(state: RunState, now: float | None = None) -> float | None:
    """Seconds from start to end; a live run's run to `now` (or the moment the state was read
    as of), so that a run waiting at a gate keeps counting."""
    start = state.started_at or state.created_at
    end = state.finished_at
    if end is None and state.status in LIVE:
        end = now or state.as_of
    end = end or state.last_event_at
    return max(0.0, end - start) if start and end else None
