"""Replay: a stored run as it stood at any moment, read from the store through its index.

A run's state depends only on its non-output events (see `state.py`): a few thousand even
for a run of a million output lines. `Timeline` keeps those in memory and leaves the output
in the store, where the logs pane reads a window of it up to the cursor. The cursor is an
event id; moving it by time bisects the run's ids with one indexed lookup per probe.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from console import events as ev
from console.state import RunState, apply
from console.store.base import Store, StoredEvent

FAILED = ("failed", "unreachable", "timed_out", "unknown")
BOUNDARIES = (
    ev.StageStarted,
    ev.StageFinished,
    ev.StepStarted,
    ev.StepFinished,
    ev.GateOpened,
    ev.GateClosed,
    ev.RunFinished,
)
"""Events that `]` and `[` stop at: where a step or stage begins or ends."""

SPEEDS = (1.0, 2.0, 4.0, 16.0, float("inf"))
"""Replay speeds; the last plays the whole run in about ten seconds, never slower than 64×."""


@dataclass(frozen=True)
class Landmark:
    """Something the timeline bar shows: a stage start, a gate or a failure, at a time."""

    at: float
    kind: str
    """`stage`, `gate` or `failure`."""
    label: str


class Timeline:
    """One stored run, seekable by event and by time; the state at a cursor is a fold."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.marks: list[StoredEvent] = store.read(run_id, exclude=(ev.Output.kind,))
        if not self.marks:
            raise LookupError(f"run {run_id} has no events")
        self._ids = [m.id for m in self.marks]
        newest = store.read(run_id, before=1 << 62, limit=1)
        self.first, self.last = self.marks[0].id, newest[0].id
        self.start_at = self.marks[0].event.at
        self.end_at = max(newest[0].event.at, self.marks[-1].event.at)
        self._state = RunState.empty()
        self._folded = 0  # how many marks `_state` has applied
        self._records: list[tuple[int, tuple[float, str, str, str]]] | None = None

    @property
    def length(self) -> float:
        """Seconds from the launch to the last event."""
        return max(self.end_at - self.start_at, 0.0)

    def state(self, cursor: int) -> RunState:
        """The run's state once the event `cursor` (and every one before it) had happened.

        The state is shared and changed by the next call: copy what must outlive it.
        """
        upto = bisect.bisect_right(self._ids, cursor)
        if upto < self._folded:
            self._state, self._folded = RunState.empty(), 0
        for stored in self.marks[self._folded : upto]:
            apply(self._state, stored.event)
        self._folded = upto
        self._state.last_event_at = self.moment(cursor)
        return self._state

    def moment(self, cursor: int) -> float:
        """The time of the event `cursor`."""
        index = bisect.bisect_right(self._ids, cursor) - 1
        if index >= 0 and self._ids[index] == cursor:
            return self.marks[index].event.at
        found = self.store.read(self.run_id, after=cursor - 1, limit=1)
        return found[0].event.at if found else self.end_at

    def next_event(self, cursor: int) -> int:
        """The id of the run's event after `cursor` (the last one stays put)."""
        found = self.store.read(self.run_id, after=cursor, limit=1)
        return found[0].id if found else cursor

    def previous_event(self, cursor: int) -> int:
        """The id of the run's event before `cursor` (the first one stays put)."""
        found = self.store.read(self.run_id, before=cursor, limit=1)
        return found[0].id if found else cursor

    def next_boundary(self, cursor: int) -> int:
        """The next step or stage start or end, gate or run end after `cursor`."""
        start = bisect.bisect_right(self._ids, cursor)
        found = next((m.id for m in self.marks[start:] if isinstance(m.event, BOUNDARIES)), None)
        return found if found is not None else self.last

    def previous_boundary(self, cursor: int) -> int:
        """The step or stage boundary before `cursor` (the launch when there is none)."""
        stop = bisect.bisect_left(self._ids, cursor)
        earlier = (m.id for m in reversed(self.marks[:stop]) if isinstance(m.event, BOUNDARIES))
        return next(earlier, self.first)

    def first_failure(self) -> int | None:
        """The first step that failed, was unreachable or timed out, or a gate not approved."""
        for stored in self.marks:
            event = stored.event
            if isinstance(event, ev.StepFinished) and event.status in FAILED:
                return stored.id
            if isinstance(event, ev.GateClosed) and event.outcome != "approved":
                return stored.id
        return None

    def at_time(self, moment: float) -> int:
        """The last event at or before `moment` (the launch when `moment` is before it)."""
        low, high = self.first, self.last
        while low < high:  # ids grow with time within a run; bisect them through the index
            middle = (low + high + 1) // 2
            found = self.store.read(self.run_id, after=middle - 1, limit=1)[0]
            if found.event.at <= moment:
                low = found.id
            else:
                high = middle - 1
        return low

    def landmarks(self) -> list[Landmark]:
        """Stage starts, gates and failures, for the timeline bar."""
        found: list[Landmark] = []
        for stored in self.marks:
            event = stored.event
            if isinstance(event, ev.StageStarted):
                found.append(Landmark(event.at, "stage", event.stage))
            elif isinstance(event, ev.GateOpened):
                found.append(Landmark(event.at, "gate", event.step))
            elif isinstance(event, ev.StepFinished) and event.status in FAILED:
                found.append(Landmark(event.at, "failure", f"{event.host} {event.step}"))
        return found

    def records(self, cursor: int, last: int | None = None) -> list[tuple[float, str, str, str]]:
        """The audit records of this run up to `cursor` (the `last` of them when given):
        (time, actor, action, subject)."""
        if self._records is None:
            from console.audit import entry_for

            self._records = []
            for stored in self.marks:
                entry = entry_for(stored.event, "")
                if entry is not None:
                    row = (entry.at, entry.actor, entry.action, entry.subject)
                    self._records.append((stored.id, row))
        upto = bisect.bisect_right(self._records, cursor, key=lambda record: record[0])
        start = 0 if last is None else max(0, upto - last)
        return [row for _, row in self._records[start:upto]]
