"""The Ops Console app: panes fed by the store, actions through the same services as the CLI."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.widgets import DataTable, Input, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from console.errors import ConsoleError, UsageError, explain
from console.ui.commands import ConsoleCommands
from console.ui.messages import EventsArrived
from console.ui.rerun_actions import ReplayAndRerun
from console.ui.screens.home import HomePane
from console.ui.themes import DEFAULT as DEFAULT_THEME
from console.ui.themes import load_themes, remember_theme, remembered_theme
from console.ui.widgets.deferred import Deferred
from console.ui.widgets.footer import ConsoleFooter
from console.ui.widgets.header import ConsoleHeader
from console.ui.widgets.stages import SPIN_SECONDS

# What the first frame shows is imported above; everything else (the engine's events and
# state, the store, the hidden panes, the dialogs) is imported where it is first used, after
# the first frame, and the configuration thread imports it ahead of time (`warm_up`).
if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.load import Config
    from console.ops.runner import Spawner
    from console.settings import Settings
    from console.state import RunState
    from console.store.base import StoredEvent
    from console.ui.dialogs.decision import Decision
    from console.ui.dialogs.launch import LaunchRequest
    from console.ui.feed import StoreFeed
    from console.ui.widgets.matrix import RunMatrix

W = TypeVar("W", bound=Widget)


class OpsConsoleApp(ReplayAndRerun, App[None]):
    """Keyboard-first console over one inventory and one store."""

    CSS = """
    Screen { layout: vertical; overflow: hidden; }
    TabbedContent, ContentSwitcher, TabPane { height: 1fr; }
    HomePane, RunPane, GatesPane, AuditPane { height: 1fr; }
    #chain { height: auto; padding: 0 1; }
    #audit-list { height: 1fr; }
    .section { text-style: bold; color: $text-accent; margin-top: 1; }
    #filter { margin: 0 0 0 0; }
    HomePane DataTable { height: 1fr; }
    #run-title { height: auto; padding: 0 1; background: $boost; }
    #stages { height: auto; padding: 0 1; }
    RunMatrix { height: 1fr; min-height: 6; }
    LogPane { height: 1fr; border: round $primary-darken-2; }
    #gate-list { height: 1fr; }
    #gate-detail { height: auto; padding: 0 1; background: $boost; }
    """
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = [
        Binding("1", "pane('home')", "Home", id="pane.home"),
        Binding("2", "pane('run')", "Run", id="pane.run"),
        Binding("3", "pane('gates')", "Gates", id="pane.gates"),
        Binding("4", "pane('audit')", "Audit", id="pane.audit"),
        Binding("slash", "filter", "Filter", id="home.filter"),
        Binding("l", "launch", "Launch", id="run.launch"),
        Binding("a", "decide('approve')", "Approve", id="gate.approve"),
        Binding("r", "decide('reject')", "Reject", id="gate.reject"),
        Binding("c", "cancel_run", "Cancel run", id="run.cancel"),
        Binding("p", "replay", "Replay", id="run.replay"),
        Binding("R", "rerun(False)", "Re-run", id="run.rerun"),
        Binding("F", "rerun(True)", "Re-run failed", id="run.rerun_failed"),
        Binding("question_mark", "show_help_panel", "Keys", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
        Binding("j", "cursor('down')", "Down", show=False, id="app.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="app.up"),
    ]

    def __init__(
        self,
        config: Config | Callable[[], Config],
        store: Path,
        operator: str,
        spawn: Spawner,
        clock: Callable[[], float] = time.time,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        for found in load_themes():
            self.register_theme(found)
        self._remember = theme is None
        self.theme = theme or remembered_theme() or DEFAULT_THEME
        self._config, self._loader = (None, config) if callable(config) else (config, None)
        self.store_path, self.operator = store, operator
        self.spawn, self.clock = spawn, clock
        self.runs: dict[str, RunState] = {}
        self._applied: dict[str, int] = {}
        self.open_run: str | None = None
        self._feed: StoreFeed | None = None
        self._started = False
        self._lost: set[str] = set()

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
                yield HomePane()
            with TabPane("2 Run", id="run"):  # hidden panes mount after the first frame
                yield Deferred(self._run_pane)
            with TabPane("3 Gates", id="gates"):
                yield Deferred(self._gates_pane)
            with TabPane("4 Audit", id="audit"):
                yield Deferred(self._audit_pane)
        yield ConsoleFooter()

    def _run_pane(self) -> Widget:
        from console.ui.screens.panes import RunPane

        return RunPane(self.store_path)

    def _gates_pane(self) -> Widget:
        from console.ui.screens.panes import GatesPane

        return GatesPane()

    def _audit_pane(self) -> Widget:
        from console.ui.screens.audit import AuditPane

        return AuditPane(self.store_path)

    def on_mount(self) -> None:
        # Reader threads (store followers, search) hold the GIL in slices; shorter slices let
        # a key press reach the screen sooner while output floods in.
        sys.setswitchinterval(0.001)
        if self._config is not None:
            self._configured(self._config)
        self.query_one("#filter", Input).display = False
        self.query_one("#pipelines", DataTable).focus()
        self.set_timer(1, self._after_first_frame)  # in case the footer never shows its keys
        self.set_interval(1, self._tick)
        self.set_interval(SPIN_SECONDS, self._spin)

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
        gc.freeze()  # what start-up built lives as long as the console: keep it out of collections
        known = config.inventory.operators.get(self.operator)
        roles = list(known.roles) if known else []
        self.query_one(ConsoleHeader).describe(config.inventory.inventory.name, roles)
        needle = self.query_one("#filter", Input).value.strip().lower()
        self.query_one(HomePane).fill_pipelines(config, self.runs, needle)

    @work(thread=True, group="feed", exit_on_error=False)
    def _follow_store(self) -> None:
        from console.ui.feed import StoreFeed

        self._feed = StoreFeed(self.store_path, lambda b: self.post_message(EventsArrived(b)))
        self.post_message(EventsArrived(self._feed.backlog()))
        self._feed.run()

    def on_unmount(self) -> None:
        if self._feed is not None:
            self._feed.stop()

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

    def watch_theme(self, theme: str) -> None:
        """Remember a theme chosen in the palette for next time."""
        if self.is_mounted and self._remember:
            remember_theme(theme)

    def on_events_arrived(self, message: EventsArrived) -> None:
        from console import events as ev

        changed = self._apply(message.events)
        home = self.query_one(HomePane)
        for run_id in changed:
            home.update_run(self.runs[run_id])
        finished = any(isinstance(s.event, ev.RunLaunched | ev.RunFinished) for s in message.events)
        if finished and self.ready:
            home.fill_pipelines(
                self.config, self.runs, self.query_one("#filter", Input).value.strip().lower()
            )
        if self.open_run in changed:
            self._refresh_open_run(changed[self.open_run])
        self.refresh_gates()

    def _apply(self, events: list[StoredEvent]) -> dict[str, set[tuple[str, str, str]]]:
        """Fold new events into the runs; the (stage, step, host) cells each run changed."""
        from console import events as ev
        from console.state import RunState, apply

        changed: dict[str, set[tuple[str, str, str]]] = {}
        for stored in events:
            event = stored.event
            if stored.id <= self._applied.get(event.run_id, 0):
                continue
            self._applied[event.run_id] = stored.id
            state = self.runs.setdefault(event.run_id, RunState.empty())
            apply(state, event)
            keys = changed.setdefault(event.run_id, set())
            stage, step, host = (getattr(event, k, None) for k in ("stage", "step", "host"))
            if isinstance(stage, str) and isinstance(step, str):
                keys.add((stage, step, host if isinstance(host, str) else "*"))
            if isinstance(event, ev.RunFinished):
                keys.update(state.cells)
        return changed

    def mounted(self, kind: type[W]) -> W | None:
        """A pane's widget, or None until it is mounted (its `on_mount` has set it up: a pane
        in the DOM but still mounting has no table columns yet)."""
        found = self.query(kind)
        return found.first() if found and found.first().is_mounted else None

    def _refresh_open_run(self, keys: set[tuple[str, str, str]]) -> None:
        assert self.open_run is not None
        from console.ui.screens.panes import RunPane
        from console.ui.widgets.matrix import RunMatrix

        state = self.runs[self.open_run]
        pane = self.mounted(RunPane)
        if pane is None:
            return
        pane.describe(state)
        for matrix in pane.query(RunMatrix):
            if matrix.run_id == state.id:
                matrix.update_cells(state, keys)

    def refresh_gates(self) -> None:
        """Refill the gates pane and the header's count of pending approvals."""
        from console.ui.screens.panes import GatesPane

        gates = self.mounted(GatesPane)
        if gates is not None:
            operators = self._config.inventory.operators if self._config else None
            gates.fill(self.runs, self.clock(), operators)
        self.query_one(ConsoleHeader).pending = sum(
            len(s.open_gates()) for s in self.runs.values() if not s.is_final
        )

    def _tick(self) -> None:
        from console.ui.screens.audit import AuditPane
        from console.ui.screens.panes import RunPane

        audit = self.mounted(AuditPane)
        if audit is not None and self.query_one(TabbedContent).active == "audit":
            audit.refresh_records(full=False)
        pane = self.mounted(RunPane)
        if pane is not None and self.open_run in self.runs:
            pane.describe(self.runs[self.open_run])
        self._look_for_lost_runners()

    def _look_for_lost_runners(self) -> None:
        """Record runs whose runner on this machine is gone as interrupted (once each)."""
        from console.ops.runs import runner_gone

        lost = [s.id for s in self.runs.values() if s.id not in self._lost and runner_gone(s)]
        if lost:
            self._lost.update(lost)
            self._note_interrupted(lost)

    @work(thread=True, group="actions", exit_on_error=False)
    def _note_interrupted(self, run_ids: list[str]) -> None:
        from console.ops.runs import record_lost_runner
        from console.store import open_store

        with open_store(self.store_path) as store:
            for run_id in run_ids:
                record_lost_runner(store, run_id)  # the feed brings the record back

    def _spin(self) -> None:
        state = self.runs.get(self.open_run or "")
        if state is None or state.is_final or self.query_one(TabbedContent).active != "run":
            return
        from console.ui.screens.panes import RunPane
        from console.ui.widgets.matrix import RunMatrix
        from console.ui.widgets.stages import StageStrip, spinner

        frame = spinner(self.clock())
        pane = self.mounted(RunPane)
        if pane is None:
            return
        for strip in pane.query(StageStrip):  # none while the pane is still mounting
            strip.show(state, self.clock())
        for matrix in pane.query(RunMatrix):
            if matrix.run_id == state.id:
                matrix.spin(state, frame)

    # ── navigation ──────────────────────────────────────────────────────────
    def action_pane(self, pane: str) -> None:
        """Jump to a pane."""
        tabs = self.query_one(TabbedContent)
        if tabs.active != pane:
            # Let go of the keyboard first: a focused widget that gets hidden hands focus to
            # its neighbour in the old pane, and focusing there brings the old pane back.
            self.set_focus(None)
        tabs.active = pane

    def action_back(self) -> None:
        """Esc backs out: from the run view or the gates pane to home."""
        if self.query_one(TabbedContent).active != "home":
            self.action_pane("home")

    def action_cursor(self, direction: str) -> None:
        """j/k move like the arrows in whichever table has the keyboard."""
        if isinstance(self.focused, DataTable):
            getattr(self.focused, f"action_cursor_{direction}")()

    def action_filter(self) -> None:
        """Focus the filter of the audit pane when it shows, else the home pane's."""
        from console.ui.screens.audit import AuditPane

        audit = self.mounted(AuditPane)
        if audit is not None and self.query_one(TabbedContent).active == "audit":
            audit.focus_filter()
            return
        self.action_pane("home")
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#runs", DataTable).focus()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#filter", Input)
        if event.key == "escape" and self.focused is box:
            box.value = ""
            box.display = False
            self.query_one("#pipelines", DataTable).focus()
            event.stop()

    @on(TabbedContent.TabActivated)
    def _pane_shown(self, event: TabbedContent.TabActivated) -> None:
        self.call_after_refresh(self._focus_if_showing, event.pane.id or "")

    def _focus_if_showing(self, pane: str) -> None:
        """Focus a pane's main widget unless another pane was chosen meanwhile.

        Judged when it runs, not when the event was sent: focusing a widget of a pane already
        left would bring that pane back, and the two would take the keyboard in turns.
        """
        if self.query_one(TabbedContent).active == pane:
            self.focus_pane(pane)

    def focus_pane(self, pane: str, tries: int = 20) -> None:
        """Put the keyboard on the pane's main widget (once it is mounted: panes mount late)."""
        target = {
            "home": "#pipelines",
            "run": "RunMatrix",
            "gates": "#gate-list",
            "audit": "#audit-list",
        }.get(pane)
        from console.ui.screens.audit import AuditPane

        audit = self.mounted(AuditPane)
        if pane == "audit" and audit is not None:
            audit.refresh_records(full=True)  # verify the whole chain again each time it is opened
        found = self.query(target) if target else None
        if found:
            found.first().focus()
        elif target and tries and self.query_one(TabbedContent).active == pane:
            self.set_timer(0.05, lambda: self.focus_pane(pane, tries - 1))

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        needle = event.value.strip().lower()
        home = self.query_one(HomePane)
        if self.ready:
            home.fill_pipelines(self.config, self.runs, needle)
        home.fill_runs(self.runs, needle)

    @on(DataTable.RowSelected, "#runs")
    def _run_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value in self.runs:
            self.show_run(event.row_key.value)

    def show_run(self, run_id: str) -> None:
        """Open a run in the run pane."""
        from console.ui.screens.panes import RunPane

        self.open_run = run_id
        pane = self.mounted(RunPane)
        if pane is not None:  # else the pane opens it when it mounts
            pane.open(self.runs[run_id])
        self.action_pane("run")

    def show_host(self, host: str) -> None:
        """Open the open run (or the newest run touching the host) on that host's row."""
        runs = sorted(self.runs.values(), key=lambda s: s.created_at or 0, reverse=True)
        if self.open_run in self.runs:
            runs.insert(0, self.runs[self.open_run])
        state = next((s for s in runs if host in s.targets), None)
        if state is None:
            self.notify(f"No recent run has touched {host}.", severity="warning")
            return
        if state.id != self.open_run:
            self.show_run(state.id)
        self.action_pane("run")
        self._move_to_host(state.id, host)

    def _move_to_host(self, run_id: str, host: str, tries: int = 20) -> None:
        from console.ui.widgets.matrix import RunMatrix

        matrix = self.mounted(RunMatrix)
        if matrix is not None and matrix.run_id == run_id and host in matrix.rows:
            matrix.move_cursor(row=matrix.get_row_index(host), column=max(1, matrix.cursor_column))
            matrix.focus()
        elif tries:
            self.set_timer(0.1, lambda: self._move_to_host(run_id, host, tries - 1))

    def on_run_matrix_cell_chosen(self, event: RunMatrix.CellChosen) -> None:
        """The logs pane follows the cell the matrix cursor moved to."""
        if self.open_run:
            self.query_one("RunPane LogPane").follow(  # type: ignore[attr-defined]
                self.open_run, event.host, event.step
            )

    # ── launching ───────────────────────────────────────────────────────────
    @on(DataTable.RowSelected, "#pipelines")
    def _pipeline_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self._launch(event.row_key.value)

    def action_launch(self) -> None:
        """Launch the pipeline under the cursor on the home pane."""
        if self._still_loading():
            return
        table = self.query_one("#pipelines", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self._launch(key)

    def launch(self, pipeline: str) -> None:
        """Open the launch form for a pipeline."""
        self._launch(pipeline)

    def _launch(self, pipeline: str) -> None:
        from console.ui.dialogs.launch import LaunchDialog

        if self._still_loading():
            return
        dialog = LaunchDialog(self.config, pipeline, self.operator)
        self.push_screen(dialog, self._launched)

    def _launched(self, request: LaunchRequest | None) -> None:
        self.focus_pane(self.query_one(TabbedContent).active)
        if request is not None:
            self._create_run(request)

    @work(thread=True, group="actions", exit_on_error=False)
    def _create_run(self, request: LaunchRequest) -> None:
        self._start(request.plan)

    def _start(self, plan: RunPlan) -> None:
        """Record a planned run and hand it to a runner process (from a worker thread)."""
        from console.ops.launch import launch

        launch(self.store_path, plan, spawn=self.spawn)
        self.call_from_thread(self.notify, f"Launched {plan.pipeline.name} as run {plan.run_id}")
        self.call_from_thread(self._open_when_known, plan.run_id)

    def _open_when_known(self, run_id: str, tries: int = 50) -> None:
        if run_id in self.runs:
            self.show_run(run_id)
        elif tries:
            self.set_timer(0.1, lambda: self._open_when_known(run_id, tries - 1))

    # ── replay and re-run ──────────────────────────────────────────────────
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Over a replay, the console's own keys rest: only its help and quitting apply."""
        if getattr(self.screen, "replaying", False):
            return action in ("quit", "show_help_panel", "command_palette")
        return True

    # ── decisions and cancel ───────────────────────────────────────────────
    def _selected_gate(self) -> tuple[str, str, str] | None:
        tables = self.query("#gate-list")
        table = tables.first(DataTable) if tables else None
        if table is None or not table.row_count:  # no gate, or the pane is still mounting
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        run_id, stage, step = key.split("\x1f")
        return run_id, stage, step

    def action_decide(self, decision: str) -> None:
        """Approve or reject the gate under the cursor on the gates pane."""
        if self._still_loading():
            return
        chosen = self._selected_gate()
        if chosen is None:
            self.notify("No gate is waiting for a decision.", severity="warning")
            return
        run_id, stage, step = chosen
        from console.policy import judge_gate
        from console.ui.dialogs.decision import DecisionDialog

        state = self.runs[run_id]
        gate = state.gates[(stage, step)]
        found = judge_gate(gate, state.operator, self.config.inventory.operators)
        dialog = DecisionDialog(decision, run_id, gate, found)
        self.push_screen(dialog, lambda result: self._decided(run_id, step, result))

    def _decided(self, run_id: str, step: str, result: Decision | None) -> None:
        self.focus_pane("gates")
        if result is not None:
            self._record(run_id, step, result)

    @work(thread=True, group="actions", exit_on_error=False)
    def _record(self, run_id: str, step: str, result: Decision) -> None:
        from console.ops.decide import DecisionRequest, record_decision
        from console.store import open_store

        store = open_store(self.store_path)
        try:
            request = DecisionRequest(
                run_id,
                result.decision,
                self.operator,
                step,
                result.reason,
                result.ticket,
                result.plan_digest,
            )
            record_decision(store, self.config.inventory, request)
            verb = "Approved" if result.decision == "approve" else "Rejected"
            self.call_from_thread(self.notify, f"{verb} gate '{step}' of run {run_id}")
        except ConsoleError as exc:
            self.call_from_thread(self.notify, str(exc), title="Decision refused", severity="error")
        finally:
            store.close()

    def action_cancel_run(self) -> None:
        """Ask the open run to stop."""
        if self.open_run is None:
            self.notify("Open a run first (Enter on the runs list).", severity="warning")
            return
        self._cancel(self.open_run)

    @work(thread=True, group="actions", exit_on_error=False)
    def _cancel(self, run_id: str) -> None:
        from console.ops.cancel import request_cancel
        from console.store import open_store

        store = open_store(self.store_path)
        try:
            request_cancel(store, run_id, self.operator, self.config.inventory)
            self.call_from_thread(self.notify, f"Asked run {run_id} to cancel")
        except ConsoleError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
        finally:
            store.close()


def make_app(
    config: Config | Callable[[], Config],
    settings: Settings,
    spawn: Spawner | None = None,
    clock: Callable[[], float] = time.time,
) -> OpsConsoleApp:
    """The one factory the CLI, the demo and the tests use.

    `config` may be a function that loads it: the console then draws its first frame at once
    and loads the inventory and pipelines in a thread. `spawn` starts a runner process for a
    recorded run (`ops.runner.spawn_runner` unless a test says otherwise).
    """
    if spawn is None:
        from console.ops.runner import spawn_runner

        spawn = spawn_runner
    names = [t.name for t in load_themes()]
    if settings.theme is not None and settings.theme not in names:
        raise UsageError(f"no theme '{settings.theme}'; the themes are {', '.join(names)}")
    return OpsConsoleApp(config, settings.store, settings.operator, spawn, clock, settings.theme)


def warm_up() -> None:
    """Import what the console needs after its first frame, off the UI's thread."""
    import console.ops.decide
    import console.store.sqlite
    import console.ui.dialogs.decision
    import console.ui.feed
    import console.ui.screens.audit
    import console.ui.screens.panes  # noqa: F401
