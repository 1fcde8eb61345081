"""The run view's stage strip: each stage's progress bar, count, status and elapsed time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from console.durations import format_duration
from console.render.runtext import STEP_FAILED, step_counts
from console.sanitize import printable
from console.ui.widgets.steady import Steady

if TYPE_CHECKING:
    from console.state import RunState, Stage

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_SECONDS = 0.5
"""Between spinner frames: each turn redraws the visible matrix, which a 200-host flood feels."""
BAR = 10
_MARK = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "waiting": ("⏸", "bold yellow"),
    "ok": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "rejected": ("✗", "bold red"),
    "expired": ("⌛", "bold yellow"),
    "voided": ("✗", "bold red"),
    "cancelled": ("⊘", "bold dark_orange"),
    "skipped": ("-", "dim"),
    "unknown": ("?", "bold magenta"),
}
SEGMENTS = (
    (("ok",), "█", "green"),
    (STEP_FAILED, "█", "bold red"),
    (("unknown",), "▒", "bold magenta"),
    (("cancelled",), "▒", "bold dark_orange"),
    (("skipped",), "╌", "dim"),
)
"""The bar's parts, in order: what ran (ok, failed), then what ended without running; the
rest of the bar (░) is what has yet to run."""


def spinner(now: float) -> str:
    """The spinner's frame at a moment (one frame every SPIN_SECONDS)."""
    return SPINNER[int(now / SPIN_SECONDS) % len(SPINNER)]


def stage_status(state: RunState, stage: Stage) -> str:
    """What a stage came to: as recorded when it finished, else as its cells say (a stage a
    cancel or a failure never reached is `skipped`, not done)."""
    cells = [c.status for c in state.cells.values() if c.stage == stage.name]
    if "waiting" in cells:
        return "waiting"
    if stage.status != "pending":
        return stage.status
    if not cells or all(c == "pending" for c in cells):
        return "pending"
    if any(c in ("pending", "running") for c in cells):
        return "running"
    if all(c == "skipped" for c in cells):
        return "skipped"
    if any(c in STEP_FAILED for c in cells):
        return "failed"
    for status in ("cancelled", "unknown", "skipped"):
        if status in cells:
            return "cancelled" if state.status == "cancelled" else status
    return "ok"


def bar(statuses: Sequence[str]) -> Text:
    """A bar of BAR cells whose parts are in proportion to the steps' outcomes."""
    total = len(statuses) or 1
    parts, used, counted = Text(), 0, 0
    for members, glyph, style in SEGMENTS:
        counted += sum(1 for s in statuses if s in members)
        width = round(BAR * counted / total) - used  # cumulative: the parts always add up
        parts.append(glyph * width, style)
        used += width
    parts.append("░" * (BAR - used), "dim")
    return parts


def stage_text(state: RunState, stage: Stage, now: float) -> Text:
    """One stage as `✓ name ██████░░░░ 12/20 ran 0:42`: its bar and counts tell what ran, what
    was skipped or cut off, and what is still to come."""
    statuses = [c.status for c in state.cells.values() if c.stage == stage.name]
    status = stage_status(state, stage)
    mark, style = _MARK.get(status, ("?", ""))
    if status == "running":
        mark = spinner(now)
    end = stage.finished_at or (now if stage.started_at else None)
    elapsed = format_duration(end - stage.started_at) if end and stage.started_at else "-"
    return Text.assemble(
        (f"{mark} ", style),
        (printable(stage.name), "bold"),
        " ",
        bar(statuses),
        f" {step_counts(statuses)} {elapsed}",
    )


class StageStrip(Steady):
    """Every stage of the open run on a line or two, updated with the run."""

    def show(self, state: RunState, now: float) -> None:
        """Draw the stages as they stand at `now`."""
        parts = [stage_text(state, stage, now) for stage in state.stages]
        self.update(Text("   ").join(parts))
