"""The run matrix: hosts down, steps across, each cell the live status of one step on one host."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

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
    "unknown": ("?", "bold yellow"),
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
    """One row per host and one column per step; changed cell by cell, never rebuilt."""

    class CellChosen(Message):
        """The cursor moved onto a (host, stage, step) cell."""

        def __init__(self, host: str, stage: str, step: str) -> None:
            super().__init__()
            self.host, self.stage, self.step = host, stage, step

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="matrix.down"),
        Binding("k", "cursor_up", "Up", show=False, id="matrix.up"),
        Binding("h", "cursor_left", "Left", show=False, id="matrix.left"),
        Binding("l", "cursor_right", "Right", show=False, id="matrix.right"),
    ]

    def __init__(self) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=True)
        self.run_id: str | None = None
        self._columns: list[tuple[str, str]] = []

    def show(self, state: RunState) -> None:
        """Lay the matrix out for a run (only when the run changes)."""
        self.clear(columns=True)
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
            for row in [r.value for r in self.rows] if host == GATE_HOST else [host]:
                if row in self.rows:
                    self.update_cell(row, column, self._cell(state, stage, step, str(row)))

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        row, column = event.cell_key.row_key.value, event.cell_key.column_key.value
        if row and column and column != "host":
            stage, step = column.split("\x1f", 1)
            self.post_message(self.CellChosen(row, stage, step))
