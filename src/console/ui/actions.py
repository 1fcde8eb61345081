"""What the console's keys ask for: a dialog where a person must say more (launch, decide,
re-run), then the application layer's use case in a worker thread of the app, saying how it
went in a notice."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.notifications import SeverityLevel

from console.errors import ConsoleError
from console.paths import StoreAddress

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.events import Decision
    from console.model.config import Config
    from console.ops.hosts import HostView
    from console.ops.runner import Spawner
    from console.runbook import HostStep
    from console.state import RunState
    from console.ui.dialogs.decision import Entered
    from console.ui.dialogs.rerun import RerunPreview


class Host(Protocol):
    """What the actions need of the app that runs them."""

    store_path: StoreAddress
    operator: str

    @property
    def config(self) -> Config:
        """The inventory and pipelines."""

    @property
    def runs(self) -> dict[str, RunState]:
        """Every run the console knows."""

    def push_screen(self, screen: Any, callback: Callable[[Any], None]) -> Any:
        """Show a dialog and call back with what it returns."""

    def focus_pane(self, pane: str) -> None:
        """Put the keyboard back on a pane."""

    def show_cell(self, run_id: str, host: str, stage: str, step: str) -> None:
        """Open a run on one step of one host."""

    def run_worker(
        self, work: Callable[[], Any], *, thread: bool, group: str, exit_on_error: bool
    ) -> Any:
        """Run `work` in a worker that belongs to the app."""

    def call_from_thread(self, callback: Callable[..., Any], *args: Any) -> Any:
        """Call back on the app's thread."""

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information"
    ) -> None:
        """Tell the person."""


class Actions:
    """The console's use cases; each runs in a thread and tells the person how it went."""

    def __init__(self, app: Host, spawn: Spawner, opened: Callable[[str], None]) -> None:
        self._app, self._spawn, self._opened = app, spawn, opened

    def _in_thread(self, work: Callable[[], None]) -> None:
        self._app.run_worker(work, thread=True, group="actions", exit_on_error=False)

    def _say(self, message: str, title: str = "", severity: SeverityLevel = "information") -> None:
        self._app.call_from_thread(self._notify, message, title, severity)

    def _notify(self, message: str, title: str, severity: SeverityLevel) -> None:
        self._app.notify(message, title=title, severity=severity)

    def ask_launch(self, pipeline: str, back_to: str) -> None:
        """The launch form for a pipeline, then the launch (the keyboard goes back to a pane)."""
        from console.ui.dialogs.launch import LaunchDialog, LaunchRequest

        def launched(request: LaunchRequest | None) -> None:
            self._app.focus_pane(back_to)
            if request is not None:
                self.launch(request.plan)

        dialog = LaunchDialog(
            self._app.config, pipeline, self._app.operator, self._promotion_standing
        )
        self._app.push_screen(dialog, launched)

    def _promotion_standing(self, planned: RunPlan) -> list[tuple[bool, str]]:
        """Whether a planned launch meets its environments' promotion rules (in a thread)."""
        import time

        from console.ops.promotion import standing

        return standing(self._app.store_path, planned, time.time())

    def open_host(self, host: str) -> None:
        """The host view: the inventory's word on a host (its known_hosts read in a thread)
        and each step's last result on it; Enter there opens a step's output."""
        from console.ops.hosts import describe
        from console.runbook import host_history

        runs = self._app.runs
        history = host_history(runs.values(), host)  # folded here: the book changes here

        def work() -> None:
            try:
                view = describe(self._app.config, host)
            except ConsoleError as exc:
                self._say(str(exc), "No such host", "error")
                return
            self._app.call_from_thread(self._show_host, view, history, len(runs))

        self._in_thread(work)

    def _show_host(self, view: HostView, history: list[HostStep], runs: int) -> None:
        from console.ui.screens.host import HostScreen

        def chosen(found: HostStep | None) -> None:
            if found is not None:
                cell = found.cell
                self._app.show_cell(found.run.id, view.name, cell.stage, cell.step)

        self._app.push_screen(HostScreen(view, history, runs), chosen)

    def ask_decision(self, decision: Decision, run_id: str, stage: str, step: str) -> None:
        """The approval or rejection form for a gate, then the decision."""
        from console.ops.decide import may_decide
        from console.policy import judge_gate
        from console.ui.dialogs.decision import DecisionDialog

        state = self._app.runs[run_id]
        gate = state.gates[(stage, step)]
        inventory = self._app.config.inventory
        refused = may_decide(inventory, state, gate, self._app.operator, decision)
        if refused:  # said before anyone types a reason the decision could never use
            self._app.notify(refused, title="You may not decide this gate", severity="error")
            return
        found = judge_gate(gate, state.operator, inventory.operators)

        def decided(result: Entered | None) -> None:
            self._app.focus_pane("gates")
            if result is not None:
                self.decide(run_id, step, result)

        from console.render.show import promotion_said

        dialog = DecisionDialog(decision, run_id, gate, found, promotion_said(state))
        self._app.push_screen(dialog, decided)

    def recheck(self, run_id: str, step: str) -> None:
        """Ask a gate's runner to run its checks again (refused in words when it cannot)."""
        self._in_thread(lambda: self._recheck(run_id, step))

    def _recheck(self, run_id: str, step: str) -> None:
        from console.ops.decide import request_checks
        from console.store import open_store

        with open_store(self._app.store_path) as store:
            said = request_checks(
                store, self._app.config.inventory, run_id, step, self._app.operator
            )
        self._say(said)

    def ask_rerun(self, run_id: str, failed_only: bool) -> None:
        """What re-running a run would do, confirmed (with the version, if its pipeline
        changed since), then the launch."""
        from console.ui.dialogs.rerun import RerunDialog

        def confirm(preview: RerunPreview) -> None:
            def chosen(version: str | None) -> None:
                if version is not None:
                    self.rerun(preview.run_id, preview.failed_only, version)

            self._app.push_screen(RerunDialog(preview), chosen)

        self.preview_rerun(self._app.runs[run_id], failed_only, confirm)

    def launch(self, planned: RunPlan, saying: str = "") -> None:
        """Record a planned run and hand it to a runner process, then open it."""
        self._in_thread(lambda: self._launch(planned, saying))

    def _launch(self, planned: RunPlan, saying: str) -> None:
        from console.ops.launch import launch

        launch(self._app.store_path, planned, spawn=self._spawn)
        self._say(saying or f"Launched {planned.pipeline.name} as run {planned.run_id}")
        self._app.call_from_thread(self._opened, planned.run_id)

    def decide(self, run_id: str, step: str, result: Entered) -> None:
        """Record the person's approval or rejection of a gate, as the policy allows."""
        self._in_thread(lambda: self._decide(run_id, step, result))

    def _decide(self, run_id: str, step: str, result: Entered) -> None:
        from console.ops.decide import DecisionRequest, record_decision
        from console.store import open_store

        request = DecisionRequest(
            run_id,
            result.decision,
            self._app.operator,
            step,
            result.reason,
            result.ticket,
            result.plan_digest,
        )
        try:
            with open_store(self._app.store_path) as store:
                record_decision(store, self._app.config.inventory, request)
        except ConsoleError as exc:
            self._say(str(exc), "Decision refused", "error")
            return
        verb = "Approved" if result.decision == "approve" else "Rejected"
        self._say(f"{verb} gate '{step}' of run {run_id}")

    def ask_cancel(self, run_id: str) -> None:
        """Cancel a run, after a yes from the person when it changes production."""
        from console.policy import cancel_confirmation
        from console.ui.dialogs.confirm import ConfirmDialog

        state = self._app.runs.get(run_id)
        where = state and cancel_confirmation(self._app.config.inventory, state.environments)
        if state is None or not where:
            self.cancel(run_id)
            return
        running = sum(1 for c in state.cells.values() if c.status == "running")
        dialog = ConfirmDialog(
            f"Cancel run {run_id} in {where}?",
            f"{state.pipeline} by {state.operator}: {running} step(s) running now are stopped "
            "on their hosts, and nothing after them runs.",
            "Cancel the run",
        )
        self._app.push_screen(dialog, lambda yes: self.cancel(run_id) if yes else None)

    def cancel(self, run_id: str) -> None:
        """Ask a run to stop (a launch right)."""
        self._in_thread(lambda: self._cancel(run_id))

    def _cancel(self, run_id: str) -> None:
        from console.ops.cancel import request_cancel
        from console.store import open_store

        try:
            with open_store(self._app.store_path) as store:
                request_cancel(store, run_id, self._app.operator, self._app.config.inventory)
        except ConsoleError as exc:
            self._say(str(exc), severity="error")
            return
        self._say(f"Asked run {run_id} to cancel")

    def record_lost(self, run_ids: list[str]) -> None:
        """Record the runs whose runner is gone as interrupted (each checked again in the
        store: only a runner found gone is recorded)."""
        self._in_thread(lambda: self._record_lost(run_ids))

    def _record_lost(self, run_ids: list[str]) -> None:
        from console.ops.interrupted import spawn_teller
        from console.ops.runs import record_lost_runner
        from console.store import open_store

        with open_store(self._app.store_path) as store:
            for run_id in run_ids:
                record_lost_runner(store, run_id, spawn_teller)  # the feed brings it back

    def preview_rerun(
        self, state: RunState, failed_only: bool, confirm: Callable[[RerunPreview], None]
    ) -> None:
        """Work out what re-running a run would do (and whether its pipeline changed since),
        then ask the person."""
        self._in_thread(lambda: self._preview_rerun(state, failed_only, confirm))

    def _preview_rerun(
        self, state: RunState, failed_only: bool, confirm: Callable[[RerunPreview], None]
    ) -> None:
        from console.ops.rerun import PipelineChanged, RerunRequest, rerun_hosts, rerun_plan
        from console.store import open_store
        from console.ui.dialogs.rerun import RerunPreview

        try:
            with open_store(self._app.store_path) as store:
                request = RerunRequest(state.id, self._app.operator, failed_only)
                rerun_plan(store, self._app.config, request)
            diff = None
            hosts = rerun_hosts(state, state.launched, failed_only) if state.launched else []
        except PipelineChanged as exc:
            diff, hosts = exc.diff, state.targets
        except ConsoleError as exc:
            self._say(str(exc), "Not re-run", "error")
            return
        preview = RerunPreview(state.id, state.pipeline, state.params, hosts, failed_only, diff)
        self._app.call_from_thread(confirm, preview)

    def rerun(self, run_id: str, failed_only: bool, version: str) -> None:
        """Launch a run again, as it ran or as its pipeline is now (`version`)."""
        self._in_thread(lambda: self._rerun(run_id, failed_only, version))

    def _rerun(self, run_id: str, failed_only: bool, version: str) -> None:
        from console.ops.rerun import RerunRequest, rerun_plan
        from console.store import open_store

        chosen = None if version == "same" else version
        request = RerunRequest(run_id, self._app.operator, failed_only, chosen)
        try:
            with open_store(self._app.store_path) as store:
                planned = rerun_plan(store, self._app.config, request)
        except ConsoleError as exc:
            self._say(str(exc), "Not re-run", "error")
            return
        self._launch(planned, f"Launched run {planned.run_id}, repeating {run_id}")
