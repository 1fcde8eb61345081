"""The fold over many runs: every run's state kept up to date as the store's events arrive,
and which of each run's cells a batch changed (what a live view repaints)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from console import events as ev
from console.state import Gate, RunState, apply

if TYPE_CHECKING:
    from console.store.base import StoredEvent

Cell = tuple[str, str, str]
"""(stage, step, host) of a step on a host; host `*` for a gate or a stage."""


class RunBook:
    """Every run's state, folded from the stored events of all runs, each event once."""

    def __init__(self) -> None:
        self.runs: dict[str, RunState] = {}
        self._applied: dict[str, int] = {}

    def apply(self, events: Iterable[StoredEvent]) -> dict[str, set[Cell]]:
        """Fold new events into their runs; the cells each run's events changed."""
        changed: dict[str, set[Cell]] = {}
        for stored in events:
            event = stored.event
            if stored.id <= self._applied.get(event.run_id, 0):
                continue  # read again after a reconnect: folded once already
            self._applied[event.run_id] = stored.id
            state = self.runs.setdefault(event.run_id, RunState.empty())
            apply(state, event)
            cells = changed.setdefault(event.run_id, set())
            stage, step, host = (getattr(event, k, None) for k in ("stage", "step", "host"))
            if isinstance(stage, str) and isinstance(step, str):
                cells.add((stage, step, host if isinstance(host, str) else "*"))
            if isinstance(event, ev.RunFinished):
                cells.update(state.cells)
        return changed

    def open_gates(self) -> list[tuple[RunState, Gate]]:
        """Every gate waiting for decisions in a run that has not ended, oldest first."""
        found = [(s, g) for s in self.runs.values() if not s.is_final for g in s.open_gates()]
        return sorted(found, key=lambda sg: sg[1].opened_at or 0)

    def decided_gates(self, limit: int = 100) -> list[tuple[RunState, Gate]]:
        """Gates that have closed (approved, rejected, expired, cancelled), newest first."""
        found = [(s, g) for s in self.runs.values() for g in s.gates.values() if g.closed_at]
        return sorted(found, key=lambda sg: sg[1].closed_at or 0, reverse=True)[:limit]


def touching(runs: dict[str, RunState], host: str, first: str | None) -> RunState | None:
    """The run `first` if it touches the host, else the newest run that does."""
    newest = sorted(runs.values(), key=lambda s: s.created_at or 0, reverse=True)
    if first in runs:
        newest.insert(0, runs[first])
    return next((s for s in newest if host in s.targets), None)
