"""A chart of one figure week by week, two rows of bars, that leaves a week without the figure
blank and marks a week whose figure is zero with a dot: neither reads as a small value."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"
ZERO = "·"


def buckets(values: Sequence[float | None], width: int) -> list[float | None]:
    """The values squeezed into `width` columns, each the largest known value of its weeks
    (None where none of them has one)."""
    if len(values) <= width or width <= 0:
        return list(values)
    found: list[float | None] = []
    for column in range(width):
        part = values[column * len(values) // width : (column + 1) * len(values) // width]
        known = [v for v in part if v is not None]
        found.append(max(known) if known else None)
    return found


def columns(values: Sequence[float | None]) -> list[tuple[str, str]]:
    """Each value as its (top, bottom) characters, scaled to the largest."""
    top = max((v for v in values if v is not None), default=0.0)
    drawn: list[tuple[str, str]] = []
    for value in values:
        if value is None:
            drawn.append((" ", " "))
        elif value <= 0 or top <= 0:
            drawn.append((" ", ZERO))
        else:
            level = max(1, round(value / top * 16))
            drawn.append((BARS[max(0, level - 8)], BARS[min(8, level)]))
    return drawn


class WeekChart(Widget):
    """Bars of a figure week by week, the newest on the right."""

    DEFAULT_CSS = "WeekChart { height: 2; }"

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values: list[float | None] = []

    def show(self, values: Sequence[float | None]) -> None:
        """Draw these weeks."""
        self.values = list(values)
        self.refresh()

    def render(self) -> Text:
        drawn = columns(buckets(self.values, self.size.width))
        top = "".join(t for t, _ in drawn)
        bottom = "".join(b for _, b in drawn)
        return Text(f"{top}\n{bottom}", style="bold")
