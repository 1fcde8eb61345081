"""The run view's stage strip: each stage's progress bar, count, status and elapsed time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from console.durations import format_duration
from console.sanitize import printable
from console.ui.widgets.steady import Steady

if TYPE_CHECKING:
    from console.state import RunState, Stage

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_SECONDS = 0.5
"""Between spinner frames: each turn redraws the visible matrix, which a 200-host flood feels."""
BAR = 10
_UNDONE = ("pending", "running", "waiting")
_MARK = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "ok": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "rejected": ("✗", "bold red"),
    "expired": ("⌛", "bold yellow"),
    "cancelled": ("■", "bold yellow"),
}


def spinner(now: float) -> str:
    """The spinner's frame at a moment (one frame every SPIN_SECONDS)."""
    return SPINNER[int(now / SPIN_SECONDS) % len(SPINNER)]


def stage_text(state: RunState, stage: Stage, now: float) -> Text:
    """One stage as `✓ name ██████░░░░ 12/20 0:42`."""
    cells = [c for c in state.cells.values() if c.stage == stage.name]
    total = len(cells)
    done = sum(1 for c in cells if c.status not in _UNDONE)
    status = stage.status
    if status == "pending" and any(c.status != "pending" for c in cells):
        failed = any(c.status in ("failed", "unreachable", "timed_out") for c in cells)
        status = "running" if done < total else ("failed" if failed else "ok")
    mark, style = _MARK.get(status, ("?", ""))
    if status == "running":
        mark = spinner(now)
    waiting = any(c.status == "waiting" for c in cells)
    if waiting:
        mark, style = "⏸", "bold yellow"
    filled = round(BAR * done / total) if total else 0
    end = stage.finished_at or (now if stage.started_at else None)
    elapsed = format_duration(end - stage.started_at) if end and stage.started_at else "-"
    return Text.assemble(
        (f"{mark} ", style),
        (printable(stage.name), "bold"),
        " ",
        ("█" * filled, style or "green"),
        ("░" * (BAR - filled), "dim"),
        f" {done}/{len(cells)} {elapsed}",
    )


class StageStrip(Steady):
    """Every stage of the open run on a line or two, updated with the run."""

    def show(self, state: RunState, now: float) -> None:
        """Draw the stages as they stand at `now`."""
        parts = [stage_text(state, stage, now) for stage in state.stages]
        self.update(Text("   ").join(parts))
