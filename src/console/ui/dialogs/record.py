"""One audit record, whole: every field, wrapped, nested values laid out (Enter on the audit
pane opens it; Esc or Enter closes it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer

from console.audit import AuditRecord
from console.render.words import whole
from console.ui.widgets.literal import Plain


class RecordDialog(ModalScreen[None]):
    """Shows a record until the person closes it."""

    DEFAULT_CSS = """
    RecordDialog { align: center middle; }
    RecordDialog > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    RecordDialog Label { width: 100%; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="dialog.cancel"),
        Binding("enter", "close", "Close", show=False, id="record.close"),
    ]

    def __init__(self, record: AuditRecord) -> None:
        super().__init__()
        self._record = record

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Plain(whole(self._record), id="record")
        yield Footer()  # the dialog's own keys, over the console's

    def action_close(self) -> None:
        """Back to the audit pane."""
        self.dismiss(None)
