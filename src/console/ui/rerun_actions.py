"""The console's replay and re-run keys: `p` plays a run back, `R` and `F` launch it again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.widgets import DataTable, TabbedContent

from console.errors import ConsoleError

if TYPE_CHECKING:
    from console.ui.dialogs.rerun import RerunPreview


class ReplayAndRerun:
    """Actions mixed into the console's App: it supplies runs, the store, config and notify."""

    runs: dict[str, Any]
    open_run: str | None

    def _chosen_run(self) -> str | None:
        """The run in the run view when it shows, else the one under the runs list's cursor."""
        if self.query_one(TabbedContent).active == "run" and self.open_run:
            return self.open_run
        table = self.query_one("#runs", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key in self.runs:
                return key
        self.notify("Choose a run first (the runs list on the home pane).", severity="warning")
        return None

    def action_replay(self) -> None:
        """Play the chosen run back as it happened."""
        from console.ui.screens.replay import ReplayScreen

        run_id = self._chosen_run()
        if run_id is not None:
            self.push_screen(ReplayScreen(self.store_path, run_id))

    def action_rerun(self, failed_only: bool) -> None:
        """Launch the chosen run again (R), or only on its failed hosts (F), after confirming."""
        run_id = self._chosen_run()
        if run_id is not None and not self._still_loading():
            self._preview_rerun(run_id, failed_only)

    @work(thread=True, group="actions", exit_on_error=False)
    def _preview_rerun(self, run_id: str, failed_only: bool) -> None:
        from console.ops.rerun import PipelineChanged, RerunRequest, rerun_hosts, rerun_plan
        from console.store import open_store
        from console.ui.dialogs.rerun import RerunPreview

        state = self.runs[run_id]
        store = open_store(self.store_path)
        try:
            rerun_plan(store, self.config, RerunRequest(run_id, self.operator, failed_only))
            diff = None
            hosts = rerun_hosts(state, state.launched, failed_only) if state.launched else []
        except PipelineChanged as exc:
            diff, hosts = exc.diff, state.targets
        except ConsoleError as exc:
            self.call_from_thread(self.notify, str(exc), title="Not re-run", severity="error")
            return
        finally:
            store.close()
        preview = RerunPreview(run_id, state.pipeline, state.params, hosts, failed_only, diff)
        self.call_from_thread(self._confirm_rerun, preview)

    def _confirm_rerun(self, preview: RerunPreview) -> None:
        from console.ui.dialogs.rerun import RerunDialog

        def chosen(version: str | None) -> None:
            if version is not None:
                self._rerun(preview.run_id, preview.failed_only, version)

        self.push_screen(RerunDialog(preview), chosen)

    @work(thread=True, group="actions", exit_on_error=False)
    def _rerun(self, run_id: str, failed_only: bool, version: str) -> None:
        from console.ops.rerun import RerunRequest, rerun_plan
        from console.store import open_store

        request = RerunRequest(
            run_id, self.operator, failed_only, None if version == "same" else version
        )
        store = open_store(self.store_path)
        try:
            plan = rerun_plan(store, self.config, request)
        except ConsoleError as exc:
            self.call_from_thread(self.notify, str(exc), title="Not re-run", severity="error")
            return
        finally:
            store.close()
        self._start(plan)
        self.call_from_thread(self.notify, f"Launched run {plan.run_id}, repeating {run_id}")
        self.call_from_thread(self._open_when_known, plan.run_id)
