"""Tables whose cursor stays on the row the person chose, by key, whatever the rows do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from textual.widgets import DataTable


def key_under_cursor(table: DataTable[object]) -> str | None:
    """The key of the row the cursor is on, or None in an empty table."""
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


@contextmanager
def cursor_kept(table: DataTable[object]) -> Iterator[None]:
    """Keep the cursor on the same row (by key) through a refill, a filter or a sort; if the
    row is gone the cursor stays at its position, within the rows that are left."""
    key = key_under_cursor(table)
    yield
    if key is not None and key in table.rows:
        table.move_cursor(row=table.get_row_index(key), scroll=False)
