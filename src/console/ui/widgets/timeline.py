"""The replay's timeline bar: where the cursor is in the run, its stages, gates and failures."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from console.durations import format_duration
from console.render.runtext import iso
from console.replay import Landmark
from console.sanitize import printable

MARKS = {"stage": ("┃", "bold cyan"), "gate": ("◆", "bold yellow"), "failure": ("✗", "bold red")}


@dataclass(frozen=True)
class Position:
    """What the bar shows: the run's span, the cursor's moment, and how the replay plays."""

    start: float
    end: float
    at: float
    speed: str
    playing: bool
    event: str = ""


def bar(landmarks: list[Landmark], position: Position, width: int) -> Text:
    """One line `━━━┃━━●───◆──✗──`: played, cursor, to come, with the landmarks on it."""
    width = max(width, 10)
    span = max(position.end - position.start, 1e-9)

    def column(at: float) -> int:
        return min(width - 1, max(0, int((at - position.start) / span * (width - 1))))

    cursor = column(position.at)
    cells = [("━", "green") if i < cursor else ("─", "dim") for i in range(width)]
    order = list(MARKS)  # failures drawn last, so that nothing hides them
    for landmark in sorted(landmarks, key=lambda mark: order.index(mark.kind)):
        cells[column(landmark.at)] = MARKS[landmark.kind]
    cells[cursor] = ("●", "bold reverse")
    return Text.assemble(*cells)


def caption(position: Position) -> Text:
    """`▶ 4×  2026-11-17 10:00:01 UTC  +0:01 of 0:10  event 12`: the run's clock at the cursor."""
    state = ("▶ playing", "bold green") if position.playing else ("⏸ paused", "bold yellow")
    elapsed = format_duration(max(position.at - position.start, 0.0))
    total = format_duration(max(position.end - position.start, 0.0))
    return Text.assemble(
        state,
        f" {position.speed}   ",
        (iso(position.at) or "-", "bold"),
        f"   +{elapsed} of {total}   {printable(position.event)}",
    )


class TimelineBar(Static):
    """Two lines: the bar, and the run's real clock at the cursor."""

    DEFAULT_CSS = "TimelineBar { height: 2; padding: 0 1; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._landmarks: list[Landmark] = []
        self._position: Position | None = None

    def show(self, landmarks: list[Landmark], position: Position) -> None:
        """Draw the bar for a cursor position."""
        self._landmarks, self._position = landmarks, position
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._position is None:
            return
        width = self.content_region.width or 78
        line = bar(self._landmarks, self._position, width)
        self.update(Text("\n").join([line, caption(self._position)]))
