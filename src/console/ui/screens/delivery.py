"""The delivery pane: the measures per environment with their DORA bands, each measure's
weekly trend as a chart, and the failed deployments and gate waits behind the figures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Static

from console.delivery.measures import Group, Measures
from console.delivery.record import GateWait, RecordBook
from console.ops.metrics import measures, period_of, run_records
from console.paths import StoreAddress
from console.render.metrics import human
from console.store import StoredEvent, open_store
from console.ui.widgets.weekchart import WeekChart

MEASURED = ("run_finished", "run_interrupted", "gate_closed")
"""Events after which the delivery measures change: the pane measures again."""

ENV_COLUMNS = (
    ("environment", 12),
    ("deploys", 7),
    ("per day", 13),
    ("failed", 19),
    ("recovery", 15),
    ("lead time", 13),
    ("gate wait", 9),
    ("rework", 6),
)
"""The environments table's columns and widths: set, so the table does not change shape as
its figures arrive (and a figure with its band fits)."""
DETAIL_COLUMNS = (
    ("run", 20),
    ("what", 31),
    ("pipeline", 20),
    ("when (UTC)", 16),
    ("figure", 30),
)
"""The detail's columns, set for the same reason: each environment's rows fit them alike."""

SHOWN = 100
"""How many failed deployments, and how many gates, the detail lists (the newest failures,
the longest waits)."""

PERIODS = (30, 90, 365)
"""The periods `w` steps through, in days back from now."""

BAND_STYLE = {"elite": "bold green", "high": "green", "medium": "yellow", "low": "bold red"}

CHARTS: tuple[tuple[str, str, Callable[[Group], float | None], Callable[[float], str]], ...] = (
    ("deployments", "deploys", lambda g: float(len(g.deployments)), lambda v: f"{v:.0f}"),
    ("lead", "lead time", lambda g: g.lead_time.median, human),
    ("failure", "failing", lambda g: g.change_failure_rate, lambda v: f"{v:.0%}"),
    ("recovery", "recovery", lambda g: g.recovery.median, human),
    ("wait", "gate wait", lambda g: g.gate_wait.median, human),
    ("rework", "rework", lambda g: g.rework_rate, lambda v: f"{v:.0%}"),
)
"""Each weekly chart: its id, its label, the figure it plots for a week (None: the week has
none, left blank), and how that figure reads."""


class DeliveryRead(Message):
    """The measures of the period, worked out off the UI's thread."""

    def __init__(self, found: Measures) -> None:
        super().__init__()
        self.found = found


class DeliveryPane(Vertical):
    """How often each environment is deployed, how often that fails, how fast it recovers,
    how long releases take to arrive and gates hold them, for the chosen period."""

    class RunChosen(Message):
        """Enter on a failed deployment or a gate's run: open it."""

        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(
        self, store: StoreAddress, order: Callable[[], list[str]], clock: Callable[[], float]
    ) -> None:
        super().__init__()
        self._store = store
        self._order = order
        self._clock = clock
        self.days = 90
        self.found: Measures | None = None
        self._reading = threading.Lock()
        self._book: RecordBook | None = None
        """The records as last read: each look brings them up to date, not loads them again."""

    def compose(self) -> ComposeResult:
        yield Static("measuring the history…", id="delivery-head")
        yield DataTable(id="delivery-envs", cursor_type="row", zebra_stripes=True)
        with Grid(id="delivery-charts"):
            for key, label, _, _ in CHARTS:
                with Vertical(classes="delivery-chart"):
                    yield Static(label, id=f"chart-{key}-label", classes="chart-label")
                    yield WeekChart(id=f"chart-{key}")
        yield DataTable(id="delivery-detail", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        if not self.query("#delivery-envs"):
            return  # mounted as the console closes (the last of the late panes): nothing to set up
        envs = self.query_one("#delivery-envs", DataTable)
        for label, width in ENV_COLUMNS:
            envs.add_column(label, key=label, width=width)
        detail = self.query_one("#delivery-detail", DataTable)
        for label, width in DETAIL_COLUMNS:
            detail.add_column(label, key=label, width=width)

    def on_show(self) -> None:
        """The pane came to the front: measure (the first look folds the whole history, so
        a console that never shows the pane never pays for it)."""
        self.refresh_measures()

    def remeasure(self, events: list[StoredEvent] | None = None) -> None:
        """Measure again if the pane was ever shown and a run ended or a gate closed among
        the events (looked through only then: a flood of output passes by untouched)."""
        if self.found is None:
            return
        if events is None or any(s.event.kind in MEASURED for s in events):
            self.refresh_measures()

    def next_period(self) -> None:
        """The next of 30, 90 and 365 days (`w`)."""
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)]
        self.refresh_measures()

    @work(thread=True, group="delivery", exclusive=True)
    def refresh_measures(self) -> None:
        """Bring the records up to date and measure the period, off the UI's thread."""
        with self._reading:
            period = period_of(None, None, self.days, self._clock())
            with open_store(self._store) as store:
                self._book = run_records(store, period.since, self._book)
            found = measures(self._book, period, self._order(), per_pipeline=False)
            self.post_message(DeliveryRead(found))

    def on_delivery_read(self, message: DeliveryRead) -> None:
        self.found = message.found
        period = message.found.period
        self.query_one("#delivery-head", Static).update(
            Text.assemble(
                ("Delivery", "bold"),
                f" · last {self.days} days, to {_day(period.until)} · bands by DORA's 2023 "
                "report · charts week by week, this week's figure first · w: another period",
            )
        )
        table = self.query_one("#delivery-envs", DataTable)
        chosen = self._chosen()
        table.clear()
        for group in message.found.groups:
            if group.pipeline is None:
                table.add_row(*_env_row(group), key=group.environment)
        if table.row_count:
            keys = [g.environment for g in message.found.groups if g.pipeline is None]
            table.move_cursor(row=keys.index(chosen) if chosen in keys else 0)
        self._show(self._chosen())

    def _chosen(self) -> str | None:
        table = self.query_one("#delivery-envs", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return str(key) if key is not None else None

    @on(DataTable.RowHighlighted, "#delivery-envs")
    def _highlighted(self) -> None:
        self._show(self._chosen())

    @on(DataTable.RowSelected, "#delivery-envs")
    def _into_detail(self) -> None:
        self.query_one("#delivery-detail", DataTable).focus()

    @on(DataTable.RowSelected, "#delivery-detail")
    def _open(self, event: DataTable.RowSelected) -> None:
        run = str(event.row_key.value or "").split("#", 1)[0]
        if run:
            self.post_message(self.RunChosen(run))

    def _show(self, environment: str | None) -> None:
        """The charts and the detail of one environment."""
        found = self.found
        group = (
            next(
                (g for g in found.groups if g.environment == environment and g.pipeline is None),
                None,
            )
            if found
            else None
        )
        weekly = [
            next(g for g in groups if g.environment == environment)
            for _, groups in (found.weeks if found else [])
            if any(g.environment == environment for g in groups)
        ]
        for key, label, figure, reads in CHARTS:
            values = [figure(g) for g in weekly]
            self.query_one(f"#chart-{key}", WeekChart).show(values)
            known = [v for v in values if v is not None]
            now = reads(values[-1]) if values and values[-1] is not None else "none"
            span = f"weekly {reads(min(known))}–{reads(max(known))}" if known else "no weeks"
            self.query_one(f"#chart-{key}-label", Static).update(f"{label}: {now}\n{span}")
        self._fill_detail(group)

    def _fill_detail(self, group: Group | None) -> None:
        """The newest failed deployments, then the gates that held runs longest."""
        detail = self.query_one("#delivery-detail", DataTable)
        detail.clear()
        if group is None:
            return
        open_ones = {r.run_id for r in group.unrecovered}
        failed = sorted(group.failed, key=lambda r: -(r.ended_at or 0))
        for r in failed[:SHOWN]:
            why = "rolled back" if r.rolled_back else r.status
            detail.add_row(
                r.run_id,
                f"failed deployment ({why})",
                r.pipeline,
                _day(r.ended_at or 0, True),
                "not recovered yet" if r.run_id in open_ones else "recovered",
                key=f"{r.run_id}#failed",
            )
        _more(detail, len(failed), "failed deployments")
        gates = sorted(group.gates, key=lambda item: -(item[2].waited or 0))
        for run, pipeline, gate in gates[:SHOWN]:
            detail.add_row(
                run,
                f"gate '{gate.step}' {gate.outcome or 'still open'}",
                pipeline,
                _day(gate.opened_at, True),
                _held(gate),
                key=f"{run}#gate#{gate.opened_at}",
            )
        _more(detail, len(gates), "gates")


def _more(detail: DataTable[Text | str], count: int, what: str) -> None:
    """A row saying how many more there are than the table shows, and where to see them."""
    if count > SHOWN:
        detail.add_row(
            "",
            f"and {count - SHOWN} more {what}",
            "",
            "",
            "opsconsole metrics --json",
            key=f"#more-{what}",
        )


def _held(gate: GateWait) -> str:
    """How long a gate held its run, and on whom."""
    if gate.waited is None:
        return "no wait counted" if gate.closed_at is not None else "open"
    who = f" on {gate.deciders[-1]}" if gate.deciders else ""
    return f"waited {human(gate.waited)}{who}"


def _env_row(g: Group) -> list[Text | str]:
    """One environment's figures, each with its band where DORA gives one."""

    def banded(text: str, band: str | None) -> Text:
        if band is None:
            return Text(text)
        return Text.assemble(text + " ", (band, BAND_STYLE[band]))

    rate = "–" if g.change_failure_rate is None else f"{g.change_failure_rate:.0%}"
    return [
        g.environment,
        str(len(g.deployments)),
        banded(f"{g.per_day:.2f}", g.bands.get("deployment_frequency")),
        banded(f"{len(g.failed)} · {rate}", g.bands.get("change_failure_rate")),
        banded(_median(g.recovery.median), g.bands.get("recovery"))
        if g.recovery.count
        else Text(f"– · {len(g.unrecovered)} open" if g.unrecovered else "–"),
        banded(_median(g.lead_time.median), g.bands.get("lead_time")),
        _median(g.gate_wait.median),
        "–" if g.rework_rate is None else f"{g.rework_rate:.0%}",
    ]


def _median(value: float | None) -> str:
    return "–" if value is None else human(value)


def _day(moment: float, time: bool = False) -> str:
    shape = "%Y-%m-%d %H:%M" if time else "%Y-%m-%d"
    return datetime.fromtimestamp(moment, UTC).strftime(shape)
