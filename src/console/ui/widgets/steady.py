"""A Static for text that changes often and rarely changes size: no layout unless it must."""

from __future__ import annotations

from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static


class Steady(Static):
    """Updated in place; the screen is laid out again only when the text needs more or fewer rows.

    A spinner or a clock redrawn twice a second would otherwise lay the whole screen out each
    time (20 ms with a 500-host matrix): the cost that kept keys waiting on a busy machine.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rows = (-1, -1)  # (width, rows) the last layout was for

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        """Show new content; lay out again only when asked and its height at this width changed."""
        width = self.content_size.width
        rows = (width, self._height(content, width))
        super().update(content, layout=layout and (rows != self._rows or rows[1] < 0))
        self._rows = rows

    def _height(self, content: VisualType, width: int) -> int:
        """Rows the content takes wrapped at `width`; -1 where it cannot tell."""
        if width <= 0 or not isinstance(content, Text | str):
            return -1
        text = Text(content) if isinstance(content, str) else content
        return len(text.wrap(self.app.console, width))
