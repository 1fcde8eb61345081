"""The fold over many runs: every run's state kept up to date as the store's events arrive,
and which of each run's cells a batch changed (what a live view repaints)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console import events as ev
from console.state import Cell as CellState
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


@dataclass(frozen=True)
class HostStep:
    """A step's last result on one host: what it came to, when, in which run."""

    run: RunState
    cell: CellState

    @property
    def at(self) -> float:
        """When the result was known (or the step began, while it runs; or the run began)."""
        return self.cell.finished_at or self.cell.started_at or self.run.created_at or 0


def host_history(runs: Iterable[RunState], host: str) -> list[HostStep]:
    """Each step's last result on a host across runs (a step is a pipeline's stage and step),
    newest first; a step skipped or cut off before it began there is no result."""
    last: dict[tuple[str, str, str], HostStep] = {}
    for state in runs:
        for (stage, step, name), cell in state.cells.items():
            if name != host or cell.started_at is None:  # never ran there: no result
                continue
            found = HostStep(state, cell)
            key = (state.pipeline, stage, step)
            if key not in last or found.at >= last[key].at:
                last[key] = found
    return sorted(last.values(), key=lambda h: h.at, reverse=True)


def chains(runs: Iterable[RunState]) -> list[list[RunState]]:
    """Runs grouped by the chain they belong to (a run and those launched after it, by
    `follows`), each chain in launch order, the chains newest first by their first run."""
    known = {s.id: s for s in runs}
    groups: dict[str, list[RunState]] = {}
    for state in known.values():
        groups.setdefault(_root(state, known), []).append(state)
    ordered = [sorted(g, key=lambda s: s.created_at or 0) for g in groups.values()]
    return sorted(ordered, key=lambda g: g[0].created_at or 0, reverse=True)


def _root(state: RunState, known: dict[str, RunState]) -> str:
    """The first run of a run's chain among the runs known (itself, when it follows none)."""
    seen = {state.id}
    while state.launched is not None and state.launched.follows in known:
        state = known[state.launched.follows]
        if state.id in seen:
            break  # a loop written by hand: stop where it closes
        seen.add(state.id)
    return state.id
