"""The console's panes that mount after the first frame: the run view and pending gates."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static

from console.durations import format_duration
from console.paths import StoreAddress
from console.policy import Judged, Policy, counted, judge_gate
from console.query import Query
from console.render.runtext import duration, step_counts
from console.sanitize import printable
from console.state import GATE_HOST, Cell, Gate, RunState
from console.ui.screens.home import status_text
from console.ui.widgets.literal import Plain, literal
from console.ui.widgets.logs import LogPane
from console.ui.widgets.matrix import RunMatrix, cell_text
from console.ui.widgets.stages import StageStrip, spinner
from console.ui.widgets.steady import Steady

if TYPE_CHECKING:
    from console.model.inventory import Operator


class RunPane(Vertical):
    """One run: its matrix of steps against hosts, and the output of the chosen cell."""

    def __init__(
        self, store: StoreAddress, clock: Callable[[], float], shown: RunState | None
    ) -> None:
        super().__init__()
        self._store, self._clock = store, clock
        self._shown = shown
        self._chosen: tuple[str, str, str] | None = None
        """The (host, stage, step) under the matrix cursor, which the detail line describes."""

    def compose(self) -> ComposeResult:
        yield Steady(
            "No run open: choose one on the home pane (1) and press Enter.", id="run-title"
        )
        yield StageStrip(id="stages")
        yield RunMatrix()
        yield Steady("", id="cell-detail")
        yield LogPane(self._store)

    def on_mount(self) -> None:
        if self._shown is not None:
            self.call_after_refresh(self.open, self._shown)

    def open(self, state: RunState) -> None:
        """Show a run (once the pane's widgets are mounted: a pane not yet shown may still be composing)."""
        self._shown = state
        if not self.query(RunMatrix):
            return
        self.describe(state)
        self.query_one(RunMatrix).show(state)
        self.query_one(LogPane).follow(
            state.id, pad=host_width(state), empty="No output yet: no step of this run has printed."
        )

    def describe(self, state: RunState) -> None:
        """The title line (pipeline, status, params, progress, elapsed) and the stage strip."""
        strips = self.query(StageStrip)
        if not self.query("#run-title") or not strips:  # still mounting its children
            return
        strips.first().show(state, self._clock())
        self.query_one("#run-title", Static).update(run_title(state, self._clock()))

    def changed(self, state: RunState, cells: set[tuple[str, str, str]]) -> None:
        """Repaint what new events of the open run changed: its title and those cells."""
        self._shown = state
        self.describe(state)
        self._detail()
        for matrix in self.query(RunMatrix):
            if matrix.run_id == state.id:
                matrix.update_cells(state, cells)

    def spin(self, state: RunState) -> None:
        """Move the running cells' spinners and the stage bars' clocks on."""
        frame = spinner(self._clock())
        for strip in self.query(StageStrip):  # none while the pane is still mounting
            strip.show(state, self._clock())
        for matrix in self.query(RunMatrix):
            if matrix.run_id == state.id:
                matrix.spin(state, frame)

    def move_to_host(
        self, run_id: str, host: str, step: tuple[str, str] | None = None, tries: int = 20
    ) -> None:
        """Put the matrix cursor on a host's row of the run, in a (stage, step)'s column when
        given (trying again while the matrix is still filling)."""
        matrix = self.query(RunMatrix).first() if self.query(RunMatrix) else None
        if matrix is not None and matrix.run_id == run_id and host in matrix.rows:
            column = max(1, matrix.cursor_column)
            key = "\x1f".join(step) if step else ""
            if key in matrix.columns:
                column = matrix.get_column_index(key)
            matrix.move_cursor(row=matrix.get_row_index(host), column=column)
            matrix.focus()
        elif tries:
            self.set_timer(0.1, lambda: self.move_to_host(run_id, host, step, tries - 1))

    def on_run_matrix_cell_chosen(self, event: RunMatrix.CellChosen) -> None:
        """The logs pane follows the cell the matrix cursor moved to."""
        if self._shown is not None:
            self._chosen = (event.host, event.stage, event.step)
            self._detail()
            cells = self._shown.cells
            key = (event.stage, event.step)
            cell = cells.get((*key, event.host)) or cells.get((*key, GATE_HOST))
            self.query_one(LogPane).follow(
                self._shown.id, event.host, event.step, empty=why_empty(cell)
            )

    def _detail(self) -> None:
        """Say what the chosen cell came to, and why when it failed, under the matrix."""
        lines = self.query("#cell-detail")
        if self._shown is None or self._chosen is None or not lines:
            return
        host, stage, step = self._chosen
        cells = self._shown.cells
        cell = cells.get((stage, step, host)) or cells.get((stage, step, GATE_HOST))
        lines.first(Static).update(cell_detail(host, cell) if cell else "")

    def follow(self, run_id: str, host: str, step: str) -> None:
        """Show the output of one cell in the logs pane."""
        self.query_one(LogPane).follow(run_id, host, step)


EMPTY = {
    "pending": "Nothing yet: this step has not started on this host.",
    "running": "No output yet: the step is running and has printed nothing so far.",
    "waiting": "A gate prints nothing: it waits for decisions (the gates pane, 3).",
    "ok": "The step printed nothing; it ended ok.",
    "skipped": "Skipped: the step did not run on this host.",
    "cancelled": "Cancelled: the step did not run.",
    "unknown": "No output: the runner stopped while the step ran; its outcome is unknown.",
}
"""Why a cell's output pane is empty, by the cell's status (a failure's reason is a line)."""


def why_empty(cell: Cell | None) -> str:
    """What the output pane says while a cell has no line."""
    return EMPTY.get(cell.status, "No output.") if cell else "No output."


def host_width(state: RunState) -> int:
    """The widest host name of a run: the output's host prefixes are padded to it."""
    return max((len(h) for h in state.targets), default=0)


def cell_detail(host: str, cell: Cell) -> Text:
    """One cell on a line: where, its status, how long, its exit and why it ended so."""
    took = (
        f" after {format_duration(cell.finished_at - cell.started_at)}"
        if cell.finished_at and cell.started_at
        else ""
    )
    exited = f", exit {cell.exit_code}" if cell.exit_code not in (None, 0) else ""
    why = f" — {printable(cell.message)}" if cell.message and cell.status != "ok" else ""
    return Text.assemble(
        (f"{printable(host)} · {printable(cell.stage)} › {printable(cell.step)}: ", "bold"),
        cell_text(cell),
        f"{took}{exited}{why}",
    )


def run_title(state: RunState, now: float) -> Text:
    """A run on one line: pipeline, id, status, params, operator, what its steps came to and
    its elapsed time (a live run's up to `now`)."""
    counts = step_counts([c.status for c in state.cells.values()])
    params = ", ".join(f"{k}={v}" for k, v in state.params.items()) or "no params"
    title = Text.assemble(
        (printable(state.pipeline), "bold"),
        f"  {state.id}  ",
        status_text(state.status),
        f"  {printable(params)}  by {state.operator}  ·  steps {counts}  ·  "
        f"{format_duration(duration(state, now))}",
    )
    if state.message:
        title.append(f"  —  {printable(state.message)}")
    return title


class GatesPane(Vertical):
    """Every open gate across runs, with what it will change and the policy it needs."""

    class FilterChanged(Message):
        """The filter changed: the pane wants filling again."""

    class Mounted(Message):
        """The pane is ready to be filled."""

    def compose(self) -> ComposeResult:
        from console.ui.screens.history import GateHistory

        yield Label("Pending approvals — a approves, r rejects", classes="section")
        yield Input(
            placeholder="filter: env:prod op:alice pipeline:deploy-* gate:NAME or any words",
            id="gate-filter",
        )
        yield Plain("No gate is waiting for a decision.", id="gate-empty")
        yield DataTable(id="gate-list", cursor_type="row", zebra_stripes=True)
        yield Plain(id="gate-detail")
        yield Label("Decided gates — newest first (Tab)", classes="section")
        yield GateHistory(id="gate-history", cursor_type="row", zebra_stripes=True)

    def __init__(self) -> None:
        super().__init__()
        self._details: dict[str, str] = {}
        """What each open gate's decisions come to, by row key, for the line under the table."""

    def on_mount(self) -> None:
        table = self.query_one("#gate-list", DataTable)
        for label in (
            "run",
            "pipeline",
            "environment",
            "launched by",
            "gate",
            "will change",
            "waiting",
            "approvals",
        ):
            table.add_column(label, key=label)
        self.query_one("#gate-filter", Input).display = False  # until / asks for it
        self.post_message(self.Mounted())

    def fill(
        self,
        ordered: list[tuple[RunState, Gate]],
        now: float,
        operators: dict[str, Operator] | None,
    ) -> None:
        """Bring the table in line with the open gates (oldest first), changing only what
        differs; decisions are judged with the inventory's operators (None: what the records
        show)."""
        table = self.query_one("#gate-list", DataTable)
        kept = Query.parse(self.query_one("#gate-filter", Input).value)
        found = {
            gate_key(s.id, g): (s, g, judge_gate(g, s.operator, operators))
            for s, g in ordered
            if kept.keeps(gate_fields(s, g), g.message)
        }
        wanted = {key: gate_row(s, g, now, j) for key, (s, g, j) in found.items()}
        self._details = {key: gate_detail(s, g, j) for key, (s, g, j) in found.items()}
        for key in [k.value for k in table.rows if k.value not in wanted]:
            table.remove_row(key or "")
        for key, row in wanted.items():
            if key not in table.rows:
                table.add_row(*row, key=key)
                continue
            for column, value in zip(table.columns, row, strict=True):
                if table.get_cell(key, column) != value:
                    table.update_cell(key, column, value)
        self.query_one("#gate-empty").display = not table.row_count
        self._show_detail()

    def fill_decided(self, decided: list[tuple[RunState, Gate]]) -> None:
        """Show the gates that have closed, newest first, that the filter keeps."""
        from console.ui.screens.history import GateHistory

        wanted = Query.parse(self.query_one("#gate-filter", Input).value)
        kept = [(s, g) for s, g in decided if wanted.keeps(gate_fields(s, g), g.message)]
        self.query_one(GateHistory).fill(kept)

    def focus_filter(self) -> None:
        """Show the filter and put the keyboard on it."""
        box = self.query_one("#gate-filter", Input)
        box.display = True
        box.focus()

    def clear_filter(self) -> bool:
        """Empty and hide the filter (Esc, wherever the keyboard is); whether there was one."""
        box = self.query_one("#gate-filter", Input)
        if not box.display and not box.value:
            return False
        box.value, box.display = "", False
        self.query_one("#gate-list", DataTable).focus()
        self.post_message(self.FilterChanged())
        return True

    @on(Input.Changed, "#gate-filter")
    def _filtered(self) -> None:
        self.post_message(self.FilterChanged())

    @on(Input.Submitted, "#gate-filter")
    def _filter_done(self) -> None:
        self.query_one("#gate-list", DataTable).focus()

    def selected(self) -> tuple[str, str, str] | None:
        """The (run, stage, step) of the gate under the cursor, or None when there is none."""
        table = self.query_one("#gate-list", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        run_id, stage, step = key.split("\x1f")
        return run_id, stage, step

    @on(DataTable.RowHighlighted, "#gate-list")
    def _show_detail(self) -> None:
        """Say what the decisions of the gate under the cursor come to, in full."""
        table = self.query_one("#gate-list", DataTable)
        key = (
            table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if table.row_count
            else None
        )
        self.query_one("#gate-detail", Plain).update(self._details.get(key or "", ""))
        self.app.refresh_bindings()  # `c` shows only on a gate with checks


def gate_fields(state: RunState, gate: Gate) -> dict[str, str | list[str]]:
    """What a gate's filter terms look at."""
    return {
        "run": state.id,
        "pipeline": state.pipeline,
        "env": state.environments,
        "op": state.operator,
        "gate": gate.step,
        "status": gate.outcome or "waiting",
    }


def gate_key(run_id: str, gate: Gate) -> str:
    """A gates-table row key naming the run and the gate."""
    return f"{run_id}\x1f{gate.stage}\x1f{gate.step}"


def gate_row(state: RunState, gate: Gate, now: float, found: list[Judged]) -> tuple[object, ...]:
    """The gates table's cells for an open gate."""
    params = ", ".join(f"{k}={v}" for k, v in state.params.items())
    change = f"{printable(params) or 'no params'} on {len(state.targets)} host(s)"
    waited = format_duration(now - gate.opened_at) if gate.opened_at else "-"
    return literal(
        state.id,
        printable(state.pipeline),
        ", ".join(state.environments) or "-",
        printable(state.operator),
        printable(f"{gate.step}: {gate.message}")[:60],
        change,
        waited,
        approvals_cell(gate, found),
    )


def gate_detail(state: RunState, gate: Gate, found: list[Judged]) -> str:
    """The gate under the cursor in full: who approved, and each decision that does not count
    with whose name it claims and why."""
    from console.render.show import promotion_said

    approvers = ", ".join(counted(found)) or "nobody yet"
    line = f"{state.id} › {gate.step}: approved by {approvers}"
    line += "".join(
        f"; ignored: {j.decision.actor}'s {j.decision.decision} ({j.problem})"
        for j in found
        if j.problem
    )
    line += "".join(f"; promoted, {said}" for said in promotion_said(state))
    line += "".join(
        f"; ✗ {r.get('check')} on {r.get('where')}: {r.get('detail')}" for r in gate.failing
    )
    if gate.failing:
        line += " (c runs the checks again)"
    return printable(line)


def approvals_cell(gate: Gate, found: list[Judged]) -> str:
    """`1 of 2 · change-board`: how far the gate is, who may approve it, and each decision
    that does not count with who it claims to be from."""
    policy = Policy.from_dict(gate.policy)
    roles = f" · {'/'.join(policy.approver_roles)}" if policy.approver_roles else ""
    own = "" if policy.self_approval else " · not launcher"
    ignored = "".join(
        f" · ignored: {j.problem} ({j.decision.actor})"
        for j in found
        if j.problem and j.decision.decision == "approve"
    )
    checks = _checks_said(gate)
    if not gate.approvals_required:
        return printable(f"automatic: {checks or 'no checks'}{ignored}")
    checks = f" · {checks}" if checks else ""
    return printable(
        f"{len(counted(found))} of {gate.approvals_required}{roles}{own}{checks}{ignored}"
    )


def _checks_said(gate: Gate) -> str:
    """Where a gate's checks stand, in a few words."""
    if not gate.has_checks:
        return ""
    if gate.checks_asked or gate.checks_passed is None:
        return "checks running"
    if gate.checks_passed:
        return f"checks ✓ {len(gate.checks)}"
    return f"checks ✗ {len(gate.failing)} of {len(gate.checks)}"
