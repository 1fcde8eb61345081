"""The home pane: pipelines with their last result and the recent runs, filtered by typing.

It is in the console's first frame, so it imports nothing of the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label

from console.durations import format_duration
from console.query import Query
from console.render.runtext import LIVE, STATUS_MARK, duration, short_time
from console.sanitize import printable
from console.ui.widgets.literal import literal
from console.ui.widgets.tables import cursor_kept, key_under_cursor

if TYPE_CHECKING:
    from console.model.config import Config
    from console.state import RunState

CHAIN = "chain:"
"""The key prefix of a chain's line in the runs list (its first run's id follows)."""
COLUMNS = ("status", "id", "pipeline", "operator", "started", "duration")

RUN_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "rejected": "bold red",
    "expired": "yellow",
    "cancelled": "yellow",
    "waiting": "bold yellow",
    "running": "cyan",
    "interrupted": "bold magenta",
}


def status_text(status: str) -> Text:
    """A run status as a symbol and a word, coloured."""
    return Text(f"{STATUS_MARK.get(status, '?')} {status}", style=RUN_STYLE.get(status, ""))


class HomePane(Vertical):
    """Pipelines with their targets and last result, and the recent runs; filtered by typing.

    The pane owns its filter; what the person chooses goes up as a message.
    """

    class PipelineChosen(Message):
        """Enter on a pipeline: launch it."""

        def __init__(self, pipeline: str) -> None:
            super().__init__()
            self.pipeline = pipeline

    class RunChosen(Message):
        """Enter on a run: open it."""

        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._clock = clock
        self._config: Config | None = None
        self._runs: dict[str, RunState] = {}
        self._opened: set[str] = set()
        """The chains (by their first run) shown run by run rather than as one line."""

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: status:failed env:prod op:alice pipeline:deploy-* or any words",
            id="filter",
        )
        yield Label("Pipelines", classes="section")
        yield DataTable(id="pipelines", cursor_type="row", zebra_stripes=True)
        yield Label("Recent runs", classes="section")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        pipelines = self.query_one("#pipelines", DataTable)
        pipelines.add_column("pipeline", key="name")
        pipelines.add_column("targets", key="targets")
        pipelines.add_column("environments", key="envs")
        pipelines.add_column("last result", key="last")
        runs = self.query_one("#runs", DataTable)
        for label, key in (
            ("status", "status"),
            ("run", "id"),
            ("pipeline", "pipeline"),
            ("operator", "operator"),
            ("started", "started"),
            ("duration", "duration"),
        ):
            runs.add_column(label, key=key)

    @property
    def needle(self) -> str:
        """What the filter holds, as it matches."""
        return self.query_one("#filter", Input).value.strip()

    def show(self, config: Config | None, runs: dict[str, RunState]) -> None:
        """Show these pipelines (None while the configuration loads) and runs, filtered."""
        self._config, self._runs = config, runs
        if config is not None:
            self.fill_pipelines(config, runs, self.needle)

    def runs_changed(self, changed: list[str]) -> None:
        """Repaint the rows of runs that changed, and the last result of their pipelines."""
        runs = self.query_one("#runs", DataTable)
        with cursor_kept(runs):
            added = [self.update_run(self._runs[run_id]) for run_id in changed]
        if any(added):
            self.fill_runs(self._runs, self.needle)  # a new run, or a new link in a chain
        table = self.query_one("#pipelines", DataTable)
        for name in {self._runs[r].pipeline for r in changed}:
            if name not in table.rows:
                continue
            newest = max(
                (s for s in self._runs.values() if s.pipeline == name),
                key=lambda s: s.created_at or 0,
            )
            shown = status_text(newest.status)
            if table.get_cell(name, "last") != shown:  # a flood of output changes no status
                table.update_cell(name, "last", shown, update_width=True)

    def tick(self) -> None:
        """Move the clocks of live runs on (a run waiting at a gate has no events to do it)."""
        table = self.query_one("#runs", DataTable)
        now = self._clock()
        for run_id in table.rows:
            state = self._runs.get(str(run_id.value))
            if state is not None and state.status in LIVE:
                took = format_duration(duration(state, now))
                table.update_cell(run_id, "duration", took, update_width=True)

    def run_under_cursor(self) -> str | None:
        """The run the runs list's cursor is on (a chain's first run on its line), if any."""
        key = key_under_cursor(self.query_one("#runs", DataTable))
        key = key.removeprefix(CHAIN) if key else key
        return key if key in self._runs else None

    def focus_filter(self) -> None:
        """Show the filter and put the keyboard on it."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        if self._config is not None:
            self.fill_pipelines(self._config, self._runs, self.needle)
        self.fill_runs(self._runs, self.needle)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#runs", DataTable).focus()

    def clear_filter(self) -> bool:
        """Empty and hide the filter (Esc, wherever the keyboard is); whether there was one."""
        box = self.query_one("#filter", Input)
        if not box.display and not box.value:
            return False
        box.value, box.display = "", False
        self.query_one("#pipelines", DataTable).focus()
        return True

    @on(DataTable.RowSelected, "#pipelines")
    def _pipeline_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.post_message(self.PipelineChosen(event.row_key.value))

    @on(DataTable.RowSelected, "#runs")
    def _run_chosen(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key and key.startswith(CHAIN):  # a chain's line opens into its runs, and closes
            self._opened ^= {key.removeprefix(CHAIN)}
            self.fill_runs(self._runs, self.needle)
        elif key:
            self.post_message(self.RunChosen(key))

    def fill_pipelines(self, config: Config, runs: dict[str, RunState], needle: str) -> None:
        """List the pipelines that match the filter."""
        table = self.query_one("#pipelines", DataTable)
        with cursor_kept(table):
            table.clear()
            self._add_pipelines(table, config, last_runs(runs), needle)

    def _add_pipelines(
        self, table: DataTable[object], config: Config, last: dict[str, RunState], needle: str
    ) -> None:
        from console.engine.plan import target_environments
        from console.model import resolve

        wanted = Query.parse(needle)
        for name, pf in sorted(config.pipelines.items()):
            hosts = resolve.select(config.inventory, pf.pipeline.targets)
            envs = target_environments(config.inventory, pf.pipeline, hosts)
            status = last[name].status if name in last else "never run"
            if not wanted.keeps({"pipeline": name, "env": envs, "status": status}):
                continue
            result = (
                status_text(last[name].status) if name in last else Text("never run", style="dim")
            )
            cells = literal(printable(name), f"{len(hosts)} hosts", ", ".join(envs) or "-", result)
            table.add_row(*cells, key=name)

    def fill_runs(self, runs: dict[str, RunState], needle: str) -> None:
        """List the runs that match the filter, newest first; a chain of runs as one line,
        or (opened) that line and each of its runs under it."""
        from console.runbook import chains

        table = self.query_one("#runs", DataTable)
        now = self._clock()
        with cursor_kept(table):
            table.clear()
            for chain in chains(runs.values()):
                if not any(matches(s, needle) for s in chain):
                    continue
                if len(chain) == 1:
                    table.add_row(*run_row(chain[0], now), key=chain[0].id)
                    continue
                opened = chain[0].id in self._opened
                table.add_row(*chain_row(chain, now, opened), key=CHAIN + chain[0].id)
                for state in chain if opened else ():
                    table.add_row(*run_row(state, now, member=True), key=state.id)

    def update_run(self, state: RunState) -> bool:
        """Repaint a run's row and its chain's line; whether the run is new to the list (to
        be placed by filling it again)."""
        table = self.query_one("#runs", DataTable)
        now = self._clock()
        chain = self._chain(state)
        if len(chain) > 1 and CHAIN + chain[0].id in table.rows:
            opened = chain[0].id in self._opened
            self._repaint(table, CHAIN + chain[0].id, chain_row(chain, now, opened))
            if state.id in table.rows:
                self._repaint(table, state.id, run_row(state, now, member=True))
            return opened and state.id not in table.rows
        if state.id in table.rows:
            if len(chain) > 1:  # it just became the first of a chain
                return True
            self._repaint(table, state.id, run_row(state, now))
            return False
        return matches(state, self.needle) or len(chain) > 1

    def _chain(self, state: RunState) -> list[RunState]:
        from console.runbook import chains

        if state.launched is None or (not state.launched.follows and not state.followers):
            return [state]  # the usual run: alone, and no need to look further
        return next(c for c in chains(self._runs.values()) if state in c)

    def _repaint(self, table: DataTable[object], key: str, cells: tuple[object, ...]) -> None:
        for column, value in zip(COLUMNS, cells, strict=True):
            if table.get_cell(key, column) != value:  # most batches change nothing here
                table.update_cell(key, column, value, update_width=True)


def matches(state: RunState, needle: str) -> bool:
    """Whether a run shows under the filter: its id, pipeline, operator, status and
    environments, by field (`status:failed env:prod`) or by any word."""
    fields = {
        "run": state.id,
        "pipeline": state.pipeline,
        "op": state.operator,
        "status": state.status,
        "env": state.environments,
    }
    return Query.parse(needle).keeps(fields)


def last_runs(runs: dict[str, RunState]) -> dict[str, RunState]:
    """Each pipeline's newest run."""
    last: dict[str, RunState] = {}
    for state in sorted(runs.values(), key=lambda s: s.created_at or 0):
        last[state.pipeline] = state
    return last


def run_row(state: RunState, now: float, member: bool = False) -> tuple[object, ...]:
    """The runs table's cells for a run (a live run's duration up to `now`; a run of an
    opened chain indented under its line)."""
    return literal(
        status_text(state.status),
        state.id,
        ("  └ " if member else "") + printable(state.pipeline),
        printable(state.operator),
        short_time(state.started_at or state.created_at),
        format_duration(duration(state, now)),
    )


def chain_row(chain: list[RunState], now: float, opened: bool) -> tuple[object, ...]:
    """A chain's line: where it has got to (its newest run's status, and why it stopped),
    its first run, its pipelines in order, who launched it, when it began and for how long."""
    first, last = chain[0], chain[-1]
    took = (last.finished_at or now) - (first.started_at or first.created_at or now)
    names = " → ".join(printable(s.pipeline) for s in chain)
    mark = "▾" if opened else "▸"
    return literal(
        status_text(last.status),
        first.id,
        f"{mark} {names} ({len(chain)} runs)",
        printable(first.operator),
        short_time(first.started_at or first.created_at),
        format_duration(max(0.0, took)),
    )
