"""Decided gates, newest first: how each closed, who decided and why, and how long it held
the run (the gates pane shows them under the open ones)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from console.durations import format_duration
from console.render.runtext import short_time
from console.sanitize import printable
from console.state import Gate, RunState
from console.ui.widgets.literal import literal

COLUMNS = (
    "run",
    "pipeline",
    "environment",
    "gate",
    "outcome",
    "decided by",
    "when",
    "why",
    "waited",
)
OUTCOME_STYLE = {
    "approved": ("✓", "green"),
    "rejected": ("✗", "bold red"),
    "expired": ("⌛", "bold yellow"),
    "voided": ("✗", "bold red"),
    "cancelled": ("⊘", "bold dark_orange"),
}


def decided_row(state: RunState, gate: Gate) -> tuple[object, ...]:
    """A closed gate on a line."""
    mark, style = OUTCOME_STYLE.get(gate.outcome or "", ("?", ""))
    deciders = ", ".join(f"{d.actor} ({d.decision})" for d in gate.decisions) or "-"
    why = "; ".join(
        printable(" ".join(p for p in (d.ticket, d.reason) if p)) for d in gate.decisions
    )
    held = gate.closed_at - gate.opened_at if gate.closed_at and gate.opened_at else None
    return literal(
        state.id,
        printable(state.pipeline),
        ", ".join(state.environments) or "-",
        printable(gate.step),
        Text(f"{mark} {gate.outcome}", style=style),
        printable(deciders),
        short_time(gate.closed_at),
        why or "-",
        format_duration(held),
    )


class GateHistory(DataTable[object]):
    """The decided gates table, refilled when a gate closes."""

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    def fill(self, decided: list[tuple[RunState, Gate]]) -> None:
        """Show these closed gates (newest first), adding only the ones not shown yet."""
        keys = [f"{s.id}\x1f{g.stage}\x1f{g.step}\x1f{g.closed_at}" for s, g in decided]
        if list(k.value for k in self.rows) == keys:
            return
        self.clear()
        for key, (state, gate) in zip(keys, decided, strict=True):
            self.add_row(*decided_row(state, gate), key=key)
