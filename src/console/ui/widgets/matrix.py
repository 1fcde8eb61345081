"""The run matrix: hosts down, steps across, each cell the live status of one step on one host."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowKey

from console.sanitize import printable
from console.state import GATE_HOST, Cell, RunState

STYLE = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "ok": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "unreachable": ("⚡", "bold magenta"),
    "skipped": ("-", "dim"),
    "timed_out": ("⌛", "bold yellow"),
    "waiting": ("⏸", "bold yellow"),
    "unknown": ("?", "bold magenta"),
    "cancelled": ("⊘", "bold yellow"),
}


def cell_text(cell: Cell | None, frame: str = "") -> Text:
    """A cell as a symbol and a word, so that status never relies on colour alone."""
    if cell is None:
        return Text("")
    mark, style = STYLE.get(cell.status, ("?", ""))
    if cell.status == "running" and frame:
        mark = frame
    return Text(f"{mark} {cell.status.replace('_', ' ')}", style=style)


class RunMatrix(DataTable[Text]):
    """One row per host and one column per step; changed cell by cell, never rebuilt.

    DataTable draws every visible line again after any cell changes anywhere (its caches are
    keyed by a table-wide update count). At 500 hosts that made each spinner turn and each
    step that started or ended redraw the whole matrix. Here each line is kept until its own
    row changes, or the cursor enters or leaves it.
    """

    class CellChosen(Message):
        """The cursor moved onto a (host, stage, step) cell."""

        def __init__(self, host: str, stage: str, step: str) -> None:
            super().__init__()
            self.host, self.stage, self.step = host, stage, step

    class HostChosen(Message):
        """Enter on a host's row: open the host."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    BINDINGS = [
        Binding("enter", "open_host", "Host", id="matrix.host"),
        Binding("j", "cursor_down", "Down", show=False, id="matrix.down"),
        Binding("k", "cursor_up", "Up", show=False, id="matrix.up"),
        Binding("h", "cursor_left", "Left", show=False, id="matrix.left"),
        Binding("l", "cursor_right", "Right", show=False, id="matrix.right"),
    ]

    def __init__(self) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=True)
        self.fixed_columns = 1  # the host column stays in view while the cursor moves right
        self.run_id: str | None = None
        self._columns: list[tuple[str, str]] = []
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(4096)
        self._versions: dict[RowKey, int] = {}
        self._layout = 0

    def action_open_host(self) -> None:
        """The host of the cursor's row, opened."""
        if self.row_count:
            row = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
            self.post_message(self.HostChosen(str(row.value)))

    def show(self, state: RunState) -> None:
        """Lay the matrix out for a run (only when the run changes)."""
        self.clear(columns=True)
        self._forget_lines()
        self.run_id = state.id
        self._columns = [(stage.name, step.name) for stage in state.stages for step in stage.steps]
        self.add_column("host", key="host")
        for stage, step in self._columns:
            self.add_column(printable(f"{stage} › {step}"), key=f"{stage}\x1f{step}")
        for host in state.targets:
            cells = [self._cell(state, stage, step, host) for stage, step in self._columns]
            self.add_row(Text(host, style="bold"), *cells, key=host)

    def _cell(self, state: RunState, stage: str, step: str, host: str, frame: str = "") -> Text:
        cell = state.cells.get((stage, step, host)) or state.cells.get((stage, step, GATE_HOST))
        return cell_text(cell, frame)  # a gate's one cell shows on every host's row

    def spin(self, state: RunState, frame: str) -> None:
        """Turn the spinner of the running cells on screen (the others are not drawn anyway)."""
        first = max(0, round(self.scroll_y))
        for row in self.ordered_rows[first : first + self.size.height]:
            host = str(row.key.value)
            for stage, step in self._columns:
                cell = state.cells.get((stage, step, host))
                if cell is not None and cell.status == "running":
                    self.update_cell(row.key, f"{stage}\x1f{step}", cell_text(cell, frame))

    def update_cells(self, state: RunState, keys: set[tuple[str, str, str]]) -> None:
        """Repaint the cells whose (stage, step, host) changed."""
        for stage, step, host in keys:
            column = f"{stage}\x1f{step}"
            if column not in self.columns:
                continue
            for row in [r.value or "" for r in self.rows] if host == GATE_HOST else [host]:
                if row in self.rows:
                    self.update_cell(row, column, self._cell(state, stage, step, str(row)))

    def update_cell(
        self, row_key: RowKey | str, column_key: object, value: Text, **kw: bool
    ) -> None:
        """Change one cell; only its row's lines are drawn again."""
        super().update_cell(row_key, column_key, value, **kw)  # type: ignore[arg-type]
        key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        self._versions[key] = self._versions.get(key, 0) + 1

    def _forget_lines(self) -> None:
        self._layout += 1
        self._strips.clear()
        self._versions.clear()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        self._layout += 1  # column widths may have changed: every line is drawn afresh

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        super()._update_column_widths(updated_cells)
        self._layout += 1

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        found = self._row_locations.get(row_key)
        row = -1 if found is None else found  # -1: the header, which follows the cursor's column
        key = (
            row_key,
            self._versions.get(row_key, 0),
            self._layout,
            y,
            x1,
            x2,
            self.size.width,
            base_style,
            self._pseudo_class_state,
            _column_on(row, self.cursor_coordinate),
            _column_on(row, self.hover_coordinate),
            self.show_cursor,
            self._show_hover_cursor,
            self.app.theme,
        )
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = super()._render_line(y, x1, x2, base_style)
        return strip

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        row, column = event.cell_key.row_key.value, event.cell_key.column_key.value
        if row and column and column != "host":
            stage, step = column.split("\x1f", 1)
            self.post_message(self.CellChosen(row, stage, step))


def _column_on(row: int, at: Coordinate) -> int:
    """The column a cursor is at when it is on this row (or this is the header, row -1)."""
    return at.column if row < 0 or at.row == row else -1
