"""The console's panes that mount after the first frame: the run view and pending gates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Static

from console.durations import format_duration
from console.policy import Judged, Policy, counted, judge_gate
from console.render.runtext import duration
from console.sanitize import printable
from console.state import Gate, RunState
from console.ui.screens.home import status_text
from console.ui.widgets.literal import Plain, literal
from console.ui.widgets.logs import LogPane
from console.ui.widgets.matrix import RunMatrix
from console.ui.widgets.stages import StageStrip
from console.ui.widgets.steady import Steady

if TYPE_CHECKING:
    from console.model.inventory import Operator


class RunPane(Vertical):
    """One run: its matrix of steps against hosts, and the output of the chosen cell."""

    def __init__(self, store: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._store = store
        self._shown: RunState | None = None

    def compose(self) -> ComposeResult:
        yield Steady(
            "No run open: choose one on the home pane (1) and press Enter.", id="run-title"
        )
        yield StageStrip(id="stages")
        yield RunMatrix()
        yield LogPane(self._store)

    def open(self, state: RunState) -> None:
        """Show a run (once the pane's widgets are mounted: a pane not yet shown may still be composing)."""
        self._shown = state
        if not self.query(RunMatrix):
            return
        self.describe(state)
        self.query_one(RunMatrix).show(state)
        self.query_one(LogPane).follow(state.id)

    def on_mount(self) -> None:
        app = self.app
        shown = self._shown or app.runs.get(app.open_run or "")  # type: ignore[attr-defined]
        if shown is not None:
            self.call_after_refresh(self.open, shown)

    def describe(self, state: RunState) -> None:
        """The title line (pipeline, status, params, progress, elapsed) and the stage strip."""
        strips = self.query(StageStrip)
        if not self.query("#run-title") or not strips:  # still mounting its children
            return
        strips.first().show(state, self.app.clock())  # type: ignore[attr-defined]
        self.query_one("#run-title", Static).update(run_title(state))


def run_title(state: RunState) -> Text:
    """A run on one line: pipeline, id, status, params, operator, progress and elapsed time."""
    done = sum(1 for c in state.cells.values() if c.status not in ("pending", "running", "waiting"))
    params = ", ".join(f"{k}={v}" for k, v in state.params.items()) or "no params"
    title = Text.assemble(
        (printable(state.pipeline), "bold"),
        f"  {state.id}  ",
        status_text(state.status),
        f"  {printable(params)}  by {state.operator}  ·  {done}/{len(state.cells)} steps  ·  "
        f"{format_duration(duration(state))}",
    )
    if state.message:
        title.append(f"  —  {printable(state.message)}")
    return title


class GatesPane(Vertical):
    """Every open gate across runs, with what it will change and the policy it needs."""

    def compose(self) -> ComposeResult:
        yield Label("Pending approvals — a approves, r rejects", classes="section")
        yield DataTable(id="gate-list", cursor_type="row", zebra_stripes=True)
        yield Plain(id="gate-detail")

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
        self.call_after_refresh(self.app.refresh_gates)  # type: ignore[attr-defined]

    def fill(
        self, runs: dict[str, RunState], now: float, operators: dict[str, Operator] | None
    ) -> None:
        """Bring the table in line with the open gates, oldest first, changing only what differs;
        decisions are judged with the inventory's operators (None: what the records show)."""
        table = self.query_one("#gate-list", DataTable)
        open_gates = [(s, g) for s in runs.values() if not s.is_final for g in s.open_gates()]
        ordered = sorted(open_gates, key=lambda sg: sg[1].opened_at or 0)
        found = {
            gate_key(s.id, g): (s, g, judge_gate(g, s.operator, operators)) for s, g in ordered
        }
        wanted = {key: gate_row(s, g, now, j) for key, (s, g, j) in found.items()}
        self._details = {key: gate_detail(s, g, j) for key, (s, g, j) in found.items()}
        for key in [k.value for k in table.rows if k.value not in wanted]:
            table.remove_row(key)
        for key, row in wanted.items():
            if key not in table.rows:
                table.add_row(*row, key=key)
                continue
            for column, value in zip(table.columns, row, strict=True):
                if table.get_cell(key, column) != value:
                    table.update_cell(key, column, value)
        self._show_detail()

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
    approvers = ", ".join(counted(found)) or "nobody yet"
    line = f"{state.id} › {gate.step}: approved by {approvers}"
    line += "".join(
        f"; ignored: {j.decision.actor}'s {j.decision.decision} ({j.problem})"
        for j in found
        if j.problem
    )
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
    return printable(f"{len(counted(found))} of {gate.approvals_required}{roles}{own}{ignored}")
