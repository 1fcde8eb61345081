"""A yes-or-no question before an action that is hard to take back (cancelling a production
run): `y` or the button goes on, `n`, Esc or the other button does nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer

from console.ui.widgets.literal import Plain


class ConfirmDialog(ModalScreen[bool]):
    """Asks one question; answers True only when the person says yes."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 72; max-width: 100%; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmDialog Label { width: 100%; height: auto; }
    ConfirmDialog Label.title { text-style: bold; margin-bottom: 1; }
    ConfirmDialog Horizontal { height: auto; margin-top: 1; }
    ConfirmDialog Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "No", show=False, id="dialog.cancel"),
    ]

    def __init__(self, title: str, detail: str, yes: str) -> None:
        super().__init__()
        self._title, self._detail, self._yes = title, detail, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self._title, classes="title")
            yield Plain(self._detail)
            with Horizontal():
                yield Button(f"{self._yes} (y)", variant="error", id="yes")
                yield Button("Keep it running (n)", id="no")
        yield Footer()  # the dialog's own keys, over the console's

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # Enter on a stray key press does nothing harmful

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
