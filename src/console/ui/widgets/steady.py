"""A Static for text that changes often and rarely changes size: no layout unless it must."""

from __future__ import annotations

from rich.cells import cell_len
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
        rows = (self.content_size.width, _rows(content, self.content_size.width))
        super().update(content, layout=layout and (rows != self._rows or rows[0] <= 0))
        self._rows = rows


def _rows(content: VisualType, width: int) -> int:
    """Rows the content takes when wrapped at `width`; -1 where it cannot tell."""
    if width <= 0:
        return -1
    plain = (
        content.plain
        if isinstance(content, Text)
        else content
        if isinstance(content, str)
        else None
    )
    if plain is None:
        return -1
    return sum(max(1, -(-cell_len(line) // width)) for line in plain.split("\n"))
