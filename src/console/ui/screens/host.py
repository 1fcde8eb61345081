"""One host: where it is, how it is reached, the key it must show, and each step's last result
on it across runs, with that step's output one key away (Enter)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from console.ops.hosts import HostView
from console.render.host import history_row, host_fields
from console.runbook import HostStep
from console.sanitize import printable
from console.ui.widgets.literal import Plain
from console.ui.widgets.matrix import cell_text


class HostScreen(ModalScreen[HostStep | None]):
    """A host described, with its history; closes with the step whose output to open."""

    DEFAULT_CSS = """
    HostScreen { align: center middle; }
    HostScreen > Vertical {
        width: 130; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HostScreen .title { text-style: bold; }
    HostScreen .hint { color: $text-muted; }
    HostScreen Label { width: 100%; height: auto; }
    HostScreen DataTable { height: auto; max-height: 1fr; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="dialog.cancel")]

    def __init__(self, view: HostView, history: list[HostStep], runs_read: int) -> None:
        super().__init__()
        self.view, self.history, self._runs_read = view, history, runs_read

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self._title(), classes="title", id="host-title")
            yield Static(details(self.view), id="host-details")
            yield Plain(self._caption(), classes="hint", id="host-caption")
            yield HostHistory(cursor_type="row", id="host-history")
        yield Footer()  # the screen's own keys, over the console's

    def on_mount(self) -> None:
        table = self.query_one("#host-history", DataTable)
        table.add_columns("when", "result", "step", "run", "pipeline", "took")
        for i, found in enumerate(self.history):
            when, result, *after = history_row(found)
            drawn = cell_text(found.cell)  # the matrix's mark and colour
            mark = drawn.plain.split(" ", 1)[0]
            table.add_row(when, Text(f"{mark} {result}", style=drawn.style), *after, key=str(i))
        table.display = bool(self.history)
        table.focus()

    def _title(self) -> str:
        env = self.view.environment or "no environment"
        return printable(f"Host {self.view.name} · {env}")

    def _caption(self) -> str:
        runs = f"the {self._runs_read} newest run{'s' if self._runs_read != 1 else ''}"
        if not self.history:
            return f"No step has run on this host in {runs} the console holds."
        return (
            f"Each step's last result on this host, newest first, from {runs} the console "
            "holds. Enter opens the run on that step's output."
        )

    def on_data_table_row_selected(self) -> None:
        self.action_output()

    def action_output(self) -> None:
        """Open the run of the chosen row on that step's output."""
        table = self.query_one("#host-history", DataTable)
        if self.history and table.row_count:
            self.dismiss(self.history[table.cursor_row])

    def action_close(self) -> None:
        """Back to where the host was opened from."""
        self.dismiss(None)


class HostHistory(DataTable[Text | str]):
    """The host's steps; Enter opens one's output (and says so in the footer)."""

    BINDINGS = [Binding("enter", "select_cursor", "Output", id="host.output")]


def details(view: HostView) -> Table:
    """The host's fields as a two-column table whose values wrap under themselves."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # a long path wraps; it is never cut
    for label, text in host_fields(view):
        table.add_row(Text(label), Text(text))
    return table
