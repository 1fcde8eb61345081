"""The Ops Console app: it composes the panes, binds the keys, switches panes, and hands what
the person asks for to the application layer (`ui/actions.py`).

What the first frame shows is imported at the top; everything else (the engine's events and
state, the store, the hidden panes, the dialogs) is imported where it is first used, after
the first frame, and the configuration thread imports it ahead of time (`warm_up`).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.widgets import DataTable, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from console.errors import ConsoleError, explain
from console.ui import warm_up
from console.ui.commands import ConsoleCommands
from console.ui.keys import REPLAY_KEYS, applies
from console.ui.messages import EventsArrived
from console.ui.navigation import Navigator
from console.ui.screens.home import HomePane
from console.ui.themes import DEFAULT as DEFAULT_THEME
from console.ui.themes import load_themes, remember_theme, remembered_theme
from console.ui.widgets.deferred import Deferred
from console.ui.widgets.footer import ConsoleFooter
from console.ui.widgets.header import ConsoleHeader
from console.ui.widgets.stages import SPIN_SECONDS

if TYPE_CHECKING:
    from console.model.config import Config
    from console.ops.runner import Spawner
    from console.settings import Settings
    from console.state import RunState
    from console.store import StoredEvent
    from console.ui.actions import Actions
    from console.ui.live import Live
    from console.ui.screens.delivery import DeliveryPane
    from console.ui.widgets.matrix import RunMatrix

W = TypeVar("W", bound=Widget)


CONSOLE_ACTIONS = frozenset(
    {"pane", "filter", "launch", "decide", "cancel_run", "replay", "rerun", "keys", "leave"}
)
"""The console's own actions, which rest while a dialog is over it (its keys are its own)."""


class OpsConsoleApp(App[None]):
    """Keyboard-first console over one inventory and one store."""

    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = [  # the tabs show the pane keys: the footer keeps its room for the rest
        Binding("1", "pane('home')", "Home", show=False, id="pane.home"),
        Binding("2", "pane('run')", "Run", show=False, id="pane.run"),
        Binding("3", "pane('gates')", "Gates", show=False, id="pane.gates"),
        Binding("4", "pane('audit')", "Audit", show=False, id="pane.audit"),
        Binding("5", "pane('delivery')", "Delivery", show=False, id="pane.delivery"),
        Binding("w", "delivery_period", "Period", id="delivery.period"),
        Binding("slash", "filter", "Filter", id="home.filter"),
        Binding("l", "launch", "Launch", id="run.launch"),
        Binding("a", "decide('approve')", "Approve", id="gate.approve"),
        Binding("r", "decide('reject')", "Reject", id="gate.reject"),
        Binding("c", "cancel_run", "Cancel run", id="run.cancel"),
        Binding("c", "recheck", "Run checks", id="gate.recheck"),
        Binding("p", "replay", "Replay", id="run.replay"),
        Binding("R", "rerun(False)", "Re-run", id="run.rerun"),
        Binding("F", "rerun(True)", "Re-run failed", id="run.rerun_failed"),
        Binding("question_mark", "keys", "Keys", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("escape", "leave", "Back", show=False, id="app.back"),
        Binding("j", "cursor('down')", "Down", show=False, id="app.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="app.up"),
        Binding("h", "cursor_across('left')", "Left", show=False, id="app.left"),
        Binding("l", "cursor_across('right')", "Right", show=False, id="app.right"),
    ]

    def __init__(
        self,
        config: Config | Callable[[], Config],
        settings: Settings,
        spawn: Spawner,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._started = self._running = False
        for found in load_themes():
            self.register_theme(found)
        self._remember = settings.theme is None
        self.theme = settings.theme or remembered_theme() or DEFAULT_THEME
        self._config: Config | None = None if callable(config) else config
        self._loader: Callable[[], Config] | None = config if callable(config) else None
        self.store_path, self.operator, self.clock = settings.store, settings.operator, clock
        self._spawn = spawn
        self._actions: Actions | None = None
        self._live: Live | None = None
        self.nav = Navigator(self, lambda: self.runs)

    @property
    def runs(self) -> dict[str, RunState]:
        """Every run the console knows, by id (none until the store's first read)."""
        return self._live.runs if self._live is not None else {}

    @property
    def loaded(self) -> Config | None:
        """The configuration, or None while it loads."""
        return self._config

    @property
    def actions(self) -> Actions:
        """The use cases the keys call, in worker threads."""
        from console.ui.actions import Actions

        if self._actions is None:
            self._actions = Actions(self, self._spawn, self.nav.show_when_known)
        return self._actions

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications show their text as it is: they quote names, values and errors."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    @property
    def ready(self) -> bool:
        """Whether the configuration is loaded (it loads after the first frame)."""
        return self._config is not None

    def _still_loading(self) -> bool:
        """Say so when an action needs the configuration and it is not loaded yet."""
        if not self.ready:
            self.notify(
                "The inventory is still loading; try again in a moment.", severity="warning"
            )
        return not self.ready

    @property
    def config(self) -> Config:
        """The inventory and pipelines; only read once `ready`."""
        assert self._config is not None, "the configuration is still loading"
        return self._config

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("loading the inventory…", self.operator, [], self.clock)
        with TabbedContent(initial="home"):
            with TabPane("1 Home", id="home"):
                yield HomePane(self.clock)
            with TabPane("2 Run", id="run"):  # hidden panes mount after the first frame
                yield Deferred(self._run_pane)
            with TabPane("3 Gates", id="gates"):
                yield Deferred(self._gates_pane)
            with TabPane("4 Audit", id="audit"):
                yield Deferred(self._audit_pane)
            with TabPane("5 Delivery", id="delivery"):
                yield Deferred(self._delivery_pane)
        yield ConsoleFooter()

    def _run_pane(self) -> Widget:
        from console.ui.screens.panes import RunPane

        return RunPane(self.store_path, self.clock, self.runs.get(self.open_run or ""))

    def _gates_pane(self) -> Widget:
        from console.ui.screens.panes import GatesPane

        return GatesPane()

    def _audit_pane(self) -> Widget:
        from console.ui.screens.audit import AuditPane

        return AuditPane(self.store_path)

    def _delivery_pane(self) -> Widget:
        from console.ui.screens.delivery import DeliveryPane

        return DeliveryPane(self.store_path, self._environment_order, self.clock)

    def _environment_order(self) -> list[str]:
        """The inventory's environments in its order (none while it loads)."""
        return list(self._config.inventory.environments) if self._config else []

    def on_mount(self) -> None:
        # Reader threads (store followers, search) hold the GIL in slices; shorter slices let
        # a key press reach the screen sooner while output floods in.
        sys.setswitchinterval(0.001)
        self._running = True
        if self._config is not None:
            self._configured(self._config)
        self.query_one("#pipelines", DataTable).focus()
        self.set_timer(1, self._after_first_frame)  # in case the footer never shows its keys
        self.set_interval(1, lambda: self._keep_live(lambda live: live.tick()))
        self.set_interval(SPIN_SECONDS, lambda: self._keep_live(lambda live: live.spin()))

    def _keep_live(self, turn: Callable[[Live], None]) -> None:
        """A timer's turn of the live panes; one that fires while the console closes finds
        its panes' widgets gone, and does nothing."""
        from textual.css.query import NoMatches

        if self._live is not None:
            with contextlib.suppress(NoMatches):
                turn(self._live)

    def on_console_footer_drawn(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        """Start what the first frame need not wait for: configuration, store, hidden panes."""
        if self._started:
            return
        self._started = True
        gc.freeze()  # what start-up built lives as long as the console: keep it out of collections
        gc.enable()
        if self._config is None:
            self._load_config()
        self._follow_store()
        for pane in self.query(Deferred):
            await pane.become()

    @work(thread=True, group="config", exit_on_error=False)
    def _load_config(self) -> None:
        assert self._loader is not None
        try:
            config = self._loader()
        except ConsoleError as exc:
            self.call_from_thread(self.exit, None, 2, explain(exc))
            return
        self.call_from_thread(self._configured, config)
        warm_up()

    def _configured(self, config: Config) -> None:
        """Show what needs the configuration: the header's inventory and roles, the pipelines."""
        self._config = config
        if not self.query(HomePane):
            return  # the console closed while the files loaded
        gc.freeze()  # what start-up built lives as long as the console: keep it out of collections
        known = config.inventory.operators.get(self.operator)
        roles = list(known.roles) if known else []
        self.query_one(ConsoleHeader).describe(config.inventory.inventory.name, roles)
        self.query_one(HomePane).show(config, self.runs)
        self.measure_delivery()  # now in the inventory's order of environments

    def measure_delivery(self, events: list[StoredEvent] | None = None) -> None:
        """Measure delivery again, if its pane was shown and these events (any, without
        them) change the measures."""
        from console.ui.screens.delivery import DeliveryPane

        pane = self.mounted(DeliveryPane)
        if pane is not None:
            pane.remeasure(events)

    def _follow_store(self) -> None:
        from console.ui.live import Live

        self._live = Live(self)
        self.query_one(HomePane).show(self._config, self._live.runs)
        self.run_worker(self._live.follow, thread=True, group="feed", exit_on_error=False)

    def on_unmount(self) -> None:
        if self._live is not None:
            self._live.stop()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Background work that fails says so, instead of vanishing or closing the console."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = (
                str(error)
                if isinstance(error, ConsoleError)
                else f"{type(error).__name__}: {error}"
            )
            self.notify(text, title="Something went wrong", severity="error", timeout=10)

    def search_themes(self) -> None:
        """The theme palette, the project's themes first."""
        from textual.command import CommandPalette

        from console.ui.commands import ThemeChoices

        self.push_screen(CommandPalette(providers=[ThemeChoices], placeholder="Search for themes…"))

    def watch_theme(self, theme: str) -> None:
        """Remember a theme chosen in the palette for next time (not the one it started with)."""
        if self._running and self._remember:
            remember_theme(theme)

    # ── following the store ────────────────────────────────────────────────
    def on_events_arrived(self, message: EventsArrived) -> None:
        # events read just before the console closes may arrive after its panes are gone
        self._keep_live(lambda live: live.arrived(message.events))

    def on_gates_pane_filter_changed(self) -> None:
        if self._live is not None:
            self._live.refresh_gates()

    def on_gates_pane_mounted(self) -> None:
        self.call_after_refresh(lambda: self._live.refresh_gates() if self._live else None)

    def mounted(self, kind: type[W]) -> W | None:
        """A pane's widget, or None until it is mounted."""
        return self.nav.mounted(kind)

    # ── navigation ──────────────────────────────────────────────────────────
    @property
    def open_run(self) -> str | None:
        """The run the run pane shows."""
        return self.nav.open_run

    def action_pane(self, pane: str) -> None:
        """Jump to a pane."""
        self.nav.show(pane)

    def action_leave(self) -> None:
        """Esc closes the keys panel if it shows, else empties the pane's filter, else backs
        out of a pane to home."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        elif self.nav.clear_filter():
            return
        elif self.nav.active != "home":
            self.nav.show("home")

    def action_cursor(self, direction: str) -> None:
        """j/k move like the arrows in whichever table has the keyboard."""
        if isinstance(self.focused, DataTable):
            getattr(self.focused, f"action_cursor_{direction}")()

    def action_filter(self) -> None:
        """Focus the filter of the pane that shows one."""
        self.nav.open_filter()

    @on(TabbedContent.TabActivated)
    def _pane_shown(self, event: TabbedContent.TabActivated) -> None:
        self.call_after_refresh(self.nav.focus_if_showing, event.pane.id or "")

    def focus_pane(self, pane: str) -> None:
        """Put the keyboard on the pane's main widget."""
        self.nav.focus(pane)

    def on_home_pane_run_chosen(self, event: HomePane.RunChosen) -> None:
        if event.run_id in self.runs:
            self.show_run(event.run_id)

    def on_delivery_pane_run_chosen(self, event: DeliveryPane.RunChosen) -> None:
        run_id = event.run_id
        if run_id in self.runs:
            self.show_run(run_id)
        else:
            self.notify(
                f"Run {run_id} is older than the runs this console holds; "
                f"`opsconsole show {run_id}` prints it.",
                severity="warning",
            )

    def action_delivery_period(self) -> None:
        """Measure another period: 30, 90 or 365 days."""
        from console.ui.screens.delivery import DeliveryPane

        pane = self.mounted(DeliveryPane)
        if pane is not None:
            pane.next_period()

    def show_run(self, run_id: str) -> None:
        """Open a run in the run pane."""
        self.nav.show_run(run_id)

    def show_host(self, host: str) -> None:
        """Open the host view: the host described, and its steps' last results."""
        self.actions.open_host(host)

    def show_cell(self, run_id: str, host: str, stage: str, step: str) -> None:
        """Open a run on one step of one host, its output below."""
        self.nav.show_cell(run_id, host, stage, step)

    def on_run_matrix_host_chosen(self, event: RunMatrix.HostChosen) -> None:
        self.show_host(event.host)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key works (and shows in the footer) only on the panes where it does something;
        over a replay or a dialog the console's own keys rest."""
        from textual.screen import ModalScreen

        if getattr(self.screen, "replaying", False):
            return action in REPLAY_KEYS
        if isinstance(self.screen, ModalScreen):  # the dialog's own footer shows its keys
            return action not in CONSOLE_ACTIONS
        focused = self.focused.id if self.focused is not None else None
        if action == "recheck" and applies(action, self.nav.active, focused):
            return self._gate_has_checks()
        return applies(action, self.nav.active, focused)

    def _gate_has_checks(self) -> bool:
        """Whether the gate under the gates pane's cursor has checks to run again."""
        chosen = self._gate_under_cursor()
        state = self.runs.get(chosen[0]) if chosen else None
        gate = state.gates.get((chosen[1], chosen[2])) if state and chosen else None
        return gate is not None and gate.has_checks

    def action_keys(self) -> None:
        """? shows the keys of the focused pane, and hides them again."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_cursor_across(self, direction: str) -> None:
        """h/l move the cursor across a table's columns (the run matrix has its own)."""
        if isinstance(self.focused, DataTable):
            getattr(self.focused, f"action_cursor_{direction}")()

    # ── what the keys ask for ──────────────────────────────────────────────
    def on_home_pane_pipeline_chosen(self, event: HomePane.PipelineChosen) -> None:
        self.launch(event.pipeline)

    def action_launch(self) -> None:
        """Launch the pipeline under the cursor on the home pane."""
        table = self.query_one("#pipelines", DataTable)
        if not self._still_loading() and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.launch(key)

    def launch(self, pipeline: str) -> None:
        """Open the launch form for a pipeline."""
        if not self._still_loading():
            self.actions.ask_launch(pipeline, self.nav.active)

    def action_decide(self, decision: str) -> None:
        """Approve or reject the gate under the cursor on the gates pane."""
        from console.events import as_decision

        chosen = self._gate_to_act_on()
        if chosen is not None:
            self.actions.ask_decision(as_decision(decision), *chosen)

    def action_recheck(self) -> None:
        """Ask the runner of the gate under the cursor to run its checks again."""
        chosen = self._gate_to_act_on()
        if chosen is not None:
            self.actions.recheck(chosen[0], chosen[2])

    def _gate_to_act_on(self) -> tuple[str, str, str] | None:
        """The (run, stage, step) under the gates pane's cursor, once the console has loaded;
        None (said, when there is no gate) otherwise."""
        if self._still_loading():
            return None
        chosen = self._gate_under_cursor()
        if chosen is None:
            self.notify("No gate is waiting for a decision.", severity="warning")
        return chosen

    def _gate_under_cursor(self) -> tuple[str, str, str] | None:
        from console.ui.screens.panes import GatesPane

        gates = self.mounted(GatesPane)
        return gates.selected() if gates is not None else None

    def action_cancel_run(self) -> None:
        """Ask the open run to stop."""
        if self.open_run is None:
            self.notify("Open a run first (Enter on the runs list).", severity="warning")
        elif not self._still_loading():
            self.actions.ask_cancel(self.open_run)

    def action_replay(self) -> None:
        """Play the chosen run back as it happened."""
        from console.ui.screens.replay import ReplayScreen

        run_id = self.nav.chosen_run()
        if run_id is not None:
            self.push_screen(ReplayScreen(self.store_path, run_id))

    def action_rerun(self, failed_only: bool) -> None:
        """Launch the chosen run again (R), or only on its failed hosts (F), after confirming."""
        run_id = self.nav.chosen_run()
        if run_id is not None and not self._still_loading():
            self.actions.ask_rerun(run_id, failed_only)
