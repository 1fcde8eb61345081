"""Table cells as literal text: names, params and messages come from files, hosts and people."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Label


def literal(*cells: object) -> tuple[object, ...]:
    """The cells with every string made `Text`, which a DataTable shows as it is: a plain string
    would be read as markup, so `[/]` in a param would stop the table and `[link=…]` would
    become a link."""
    return tuple(Text(cell) if isinstance(cell, str) else cell for cell in cells)


class Plain(Label):
    """A label whose text, now and after `update`, is never read as markup."""

    def __init__(self, content: str = "", **kwargs: Any) -> None:
        super().__init__(content, markup=False, **kwargs)
