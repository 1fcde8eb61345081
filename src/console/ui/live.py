"""The console kept live: the store followed from a thread, every run folded into the run book,
and the panes repainted as runs change and time passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.widgets import TabbedContent

from console.ops.runs import runner_gone
from console.paths import StoreAddress, is_team_store
from console.runbook import RunBook
from console.ui.messages import EventsArrived
from console.ui.screens.audit import AuditPane
from console.ui.screens.home import HomePane
from console.ui.screens.panes import GatesPane, RunPane
from console.ui.widgets.header import ConsoleHeader

if TYPE_CHECKING:
    from console.model.config import Config
    from console.state import RunState
    from console.store import StoredEvent
    from console.ui.actions import Actions
    from console.ui.feed import StoreFeed

W = TypeVar("W", bound=Widget)


ASK_STORE_TICKS = 5
"""Every how many seconds a console asks a team store which runners are gone."""


class Host(Protocol):
    """What keeping the console live needs of its app."""

    store_path: StoreAddress
    clock: Callable[[], float]
    operator: str

    @property
    def open_run(self) -> str | None:
        """The run the run pane shows."""

    @property
    def actions(self) -> Actions:
        """The use cases, in worker threads."""

    @property
    def loaded(self) -> Config | None:
        """The configuration, or None while it loads."""

    def mounted(self, kind: type[W]) -> W | None:
        """A pane once it is mounted."""

    def query_one(self, selector: type[W]) -> W:
        """A widget of the app, by its type."""

    def post_message(self, message: Any) -> bool:
        """Post to the app (from any thread)."""

    def measure_delivery(self, events: list[StoredEvent] | None = None) -> None:
        """Measure delivery again, if its pane was shown and these events change it."""

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information"
    ) -> None:
        """Tell the person."""


class Live:
    """The run book and the store feed behind every pane."""

    def __init__(self, app: Host) -> None:
        self._app = app
        self.book = RunBook()
        self._feed: StoreFeed | None = None
        self._lost: set[str] = set()
        self._caught_up = False
        self._stopped = False
        self._ticks = 0
        """Whether the store's backlog has been folded: decisions after it are news."""

    @property
    def runs(self) -> dict[str, RunState]:
        """Every run the console knows, by id."""
        return self.book.runs

    def follow(self) -> None:
        """Read the newest runs, then follow the store until stopped (in a thread)."""
        from console.ui.feed import StoreFeed

        def deliver(events: list[StoredEvent]) -> None:
            self._app.post_message(EventsArrived(events))

        self._feed = StoreFeed(self._app.store_path, deliver)
        deliver(self._feed.backlog())
        self._say_if_shared()
        self._feed.run()

    def _say_if_shared(self) -> None:
        """Say once when other accounts may write the store file (from the feed's thread)."""
        from console.policy import shared_file_warning
        from console.store import others_may_write

        others = others_may_write(self._app.store_path)
        if others:
            self._app.notify(
                shared_file_warning(str(self._app.store_path), others),
                title="Others may write this store",
                severity="warning",
            )

    def stop(self) -> None:
        """Stop following the store, and keeping the panes live (the console is closing)."""
        self._stopped = True
        if self._feed is not None:
            self._feed.stop()

    def arrived(self, events: list[StoredEvent]) -> None:
        """Fold new events into the run book and repaint what they changed."""
        changed = self.book.apply(events)
        if self._caught_up:
            self._tell_decisions(events)
        self._caught_up = True
        self._app.query_one(HomePane).runs_changed(list(changed))
        if self._caught_up:
            self._app.measure_delivery(events)
        run_id = self._app.open_run
        pane = self._app.mounted(RunPane)
        if run_id in changed and pane is not None:
            pane.changed(self.runs[run_id], changed[run_id])
        self.refresh_gates()

    def _tell_decisions(self, events: list[StoredEvent]) -> None:
        """Say when someone else approves or rejects a gate: a decision arriving is news."""
        from console import events as ev

        for stored in events:
            event = stored.event
            if isinstance(event, ev.GateDecided) and event.automatic:
                self._app.notify(
                    f"gate '{event.step}' of run {event.run_id} passed on its checks",
                    title="Gate decision",
                )
            elif isinstance(event, ev.GateDecided) and event.actor != self._app.operator:
                verb = "approved" if event.decision == "approve" else "rejected"
                self._app.notify(
                    f"{event.actor} {verb} gate '{event.step}' of run {event.run_id}",
                    title="Gate decision",
                    severity="information" if verb == "approved" else "warning",
                )

    def refresh_gates(self) -> None:
        """Refill the gates pane and the header's count of pending approvals."""
        waiting = self.book.open_gates()
        gates = self._app.mounted(GatesPane)
        if gates is not None:
            config = self._app.loaded
            gates.fill(waiting, self._app.clock(), config.inventory.operators if config else None)
            gates.fill_decided(self.book.decided_gates())
        self._app.query_one(ConsoleHeader).pending = len(waiting)

    def tick(self) -> None:
        """Each second: the audit pane's new records, the clocks of live runs and waiting
        gates, lost runners."""
        if self._stopped:
            return
        self._app.query_one(HomePane).tick()
        self.refresh_gates()
        audit = self._app.mounted(AuditPane)
        if audit is not None and self._app.query_one(TabbedContent).active == "audit":
            audit.refresh_records(full=False)
        pane = self._app.mounted(RunPane)
        if pane is not None and self._app.open_run in self.runs:
            pane.describe(self.runs[self._app.open_run])
        lost = [s.id for s in self.runs.values() if s.id not in self._lost and runner_gone(s)]
        if lost:  # the console is where a runner's loss is seen live: it records it, once
            self._lost.update(lost)
            self._app.actions.record_lost(lost)
        self._ticks += 1
        if is_team_store(self._app.store_path) and self._ticks % ASK_STORE_TICKS == 0:
            # a team store knows whether runners on any machine live: ask it now and then
            live = [s.id for s in self.runs.values() if s.status in ("running", "waiting")]
            if live:
                self._app.actions.record_lost(live)

    def spin(self) -> None:
        """Move the open run's spinners and stage clocks on while it runs and shows."""
        state = self.runs.get(self._app.open_run or "")
        if state is None or state.is_final:
            return
        pane = self._app.mounted(RunPane)
        if pane is not None and self._app.query_one(TabbedContent).active == "run":
            pane.spin(state)
