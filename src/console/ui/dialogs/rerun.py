"""Run an earlier run again: what will run where, and, when the pipeline changed, which version."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from console.sanitize import printable
from console.ui.widgets.literal import Plain


@dataclass(frozen=True)
class RerunPreview:
    """What a re-run would launch, and the pipeline's diff when its file changed since."""

    run_id: str
    pipeline: str
    params: dict[str, object]
    hosts: list[str]
    failed_only: bool
    diff: str | None = None


def diff_text(diff: str) -> Text:
    """A unified diff with removed lines red and added lines green (already sanitized)."""
    text = Text()
    for line in diff.splitlines():
        style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
        text.append(line + "\n", style=style)
    return text


class RerunDialog(ModalScreen[str | None]):
    """Confirms a re-run; answers `same`, `stored` or `current` (the version), or None."""

    DEFAULT_CSS = """
    RerunDialog { align: center middle; }
    RerunDialog > Vertical {
        width: 90; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    RerunDialog Label { width: 100%; height: auto; }
    RerunDialog Label.title { text-style: bold; margin-bottom: 1; }
    RerunDialog Label.detail { color: $text-muted; }
    RerunDialog VerticalScroll { height: auto; max-height: 16; border: round $warning; }
    RerunDialog Horizontal { height: auto; margin-top: 1; }
    RerunDialog Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("s", "choose('stored')", "As it ran", show=False, id="rerun.stored"),
        Binding("c", "choose('current')", "As it is now", show=False, id="rerun.current"),
    ]

    def __init__(self, preview: RerunPreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.preview
        which = "its failed hosts" if p.failed_only else "the same hosts"
        params = ", ".join(f"{k}={v}" for k, v in p.params.items()) or "no params"
        hosts = ", ".join(p.hosts[:8]) + (
            f" and {len(p.hosts) - 8} more" if len(p.hosts) > 8 else ""
        )
        with Vertical():
            yield Plain(f"Run {printable(p.pipeline)} again on {which}", classes="title")
            yield Plain(printable(f"Repeats run {p.run_id} with {params}"))
            yield Plain(printable(f"{len(p.hosts)} host(s): {hosts}"), classes="detail")
            if p.diff is None:
                with Horizontal():
                    yield Button("Launch", variant="primary", id="same")
                    yield Button("Cancel", id="cancel")
                return
            yield Plain(
                "The pipeline file changed since that run. Run it as it ran (s), "
                "or as the file is now (c)?"
            )
            with VerticalScroll():
                yield Static(diff_text(p.diff))
            with Horizontal():
                yield Button("As it ran (s)", variant="primary", id="stored")
                yield Button("As it is now (c)", variant="warning", id="current")
                yield Button("Cancel", id="cancel")
        yield Footer()  # the dialog's own keys, over the console's

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_choose(self, version: str) -> None:
        """`s` and `c` choose a version when the pipeline changed."""
        if self.preview.diff is not None:
            self.dismiss(version)

    def action_cancel(self) -> None:
        self.dismiss(None)
