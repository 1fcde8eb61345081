"""Where the console shows what: which pane is active, which run is open, and which widget
has the keyboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from textual.app import App
from textual.widget import Widget
from textual.widgets import TabbedContent

from console.ui.screens.home import HomePane

if TYPE_CHECKING:
    from console.state import RunState
    from console.ui.screens.panes import RunPane

W = TypeVar("W", bound=Widget)
PANE_FOCUS = {
    "home": "#pipelines",
    "run": "RunMatrix",
    "gates": "#gate-list",
    "audit": "#audit-list",
    "delivery": "#delivery-envs",
}
"""The widget that takes the keyboard when a pane shows."""


class Filtered(Protocol):
    """A pane with a filter of its own."""

    def focus_filter(self) -> None:
        """Show the filter and put the keyboard on it."""

    def clear_filter(self) -> bool:
        """Empty the filter; whether there was anything in it."""


class Navigator:
    """Switches panes, opens runs and hands the keyboard to the pane that shows."""

    def __init__(self, app: App[None], runs: Callable[[], dict[str, RunState]]) -> None:
        self._app = app
        self._runs = runs
        self.open_run: str | None = None
        self._panes: dict[type[Widget], Widget] = {}
        """Panes once found: finding one walks the whole DOM, which the timers would do each
        second (and each batch of output) over a 200-host matrix."""

    @property
    def active(self) -> str:
        """The pane that shows."""
        return self._app.query_one(TabbedContent).active

    def mounted(self, kind: type[W]) -> W | None:
        """A pane's widget, or None until it is mounted (its `on_mount` has set it up: a pane
        in the DOM but still mounting has no table columns yet)."""
        known = self._panes.get(kind)
        if known is not None and known.is_attached:
            assert isinstance(known, kind)
            return known
        found = self._app.query(kind)
        if not found or not found.first().is_mounted:
            return None
        self._panes[kind] = pane = found.first()
        return pane

    def run_view(self) -> RunPane | None:
        """The run pane, once mounted."""
        from console.ui.screens.panes import RunPane

        return self.mounted(RunPane)

    def show(self, pane: str) -> None:
        """Jump to a pane."""
        tabs = self._app.query_one(TabbedContent)
        if tabs.active != pane:
            # Let go of the keyboard first: a focused widget that gets hidden hands focus to
            # its neighbour in the old pane, and focusing there brings the old pane back.
            self._app.set_focus(None)
        tabs.active = pane

    def focus_if_showing(self, pane: str) -> None:
        """Focus a pane's main widget unless another pane was chosen meanwhile.

        Judged when it runs, not when the event was sent: focusing a widget of a pane already
        left would bring that pane back, and the two would take the keyboard in turns.
        """
        if self.active == pane:
            self.focus(pane)

    def focus(self, pane: str, tries: int = 20) -> None:
        """Put the keyboard on the pane's main widget (once it is mounted: panes mount late)."""
        target = PANE_FOCUS.get(pane)
        found = self._app.query(target) if target else None
        if found:
            found.first().focus()
        elif target and tries and self.active == pane:
            self._app.set_timer(0.05, lambda: self.focus(pane, tries - 1))

    def open_filter(self) -> None:
        """Focus the filter of the pane that shows (the home pane's on any other)."""
        pane = self.filtering()
        if pane is not None:
            pane.focus_filter()
            return
        self.show("home")
        self._app.query_one(HomePane).focus_filter()

    def filtering(self) -> Filtered | None:
        """The gates or audit pane when it shows (each has a filter of its own), else None."""
        from console.ui.screens.audit import AuditPane
        from console.ui.screens.panes import GatesPane

        if self.active == "gates":
            return self.mounted(GatesPane)
        return self.mounted(AuditPane) if self.active == "audit" else None

    def clear_filter(self) -> bool:
        """Esc: empty the filter of the pane that shows; whether there was one to empty."""
        pane: Filtered | None = (
            self.filtering() if self.active != "home" else self._app.query_one(HomePane)
        )
        return bool(pane is not None and pane.clear_filter())

    def show_run(self, run_id: str) -> None:
        """Open a run in the run pane."""
        self.open_run = run_id
        pane = self.run_view()
        if pane is not None:  # else the pane opens it when it mounts
            pane.open(self._runs()[run_id])
        self.show("run")

    def show_when_known(self, run_id: str, tries: int = 50) -> None:
        """Open a run as soon as the store has shown it (a launch records it a moment later)."""
        if run_id in self._runs():
            self.show_run(run_id)
        elif tries:
            self._app.set_timer(0.1, lambda: self.show_when_known(run_id, tries - 1))

    def show_cell(self, run_id: str, host: str, stage: str, step: str) -> None:
        """Open a run on one step of one host: its cell chosen, its output below."""
        if run_id not in self._runs():
            self._app.notify(f"Run {run_id} is no longer in the console.", severity="warning")
            return
        if run_id != self.open_run:
            self.show_run(run_id)
        self.show("run")
        self._app.call_after_refresh(self._move_to, run_id, host, (stage, step))

    def _move_to(self, run_id: str, host: str, step: tuple[str, str], tries: int = 20) -> None:
        """The run pane's cursor on a cell, once the pane is mounted."""
        pane = self.run_view()
        if pane is not None:
            pane.move_to_host(run_id, host, step)
        elif tries:
            self._app.set_timer(0.1, lambda: self._move_to(run_id, host, step, tries - 1))

    def chosen_run(self) -> str | None:
        """The run in the run view when it shows, else the one under the runs list's cursor."""
        if self.active == "run" and self.open_run:
            return self.open_run
        chosen = self._app.query_one(HomePane).run_under_cursor()
        if chosen is None:
            self._app.notify(
                "Choose a run first (the runs list on the home pane).", severity="warning"
            )
        return chosen
