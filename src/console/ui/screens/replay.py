"""Replay: a past run played back in the run view, every pane as it stood at the cursor."""

from __future__ import annotations

import gc
import math
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from console.paths import StoreAddress
from console.policy import judge_gate
from console.render.runtext import short_time
from console.replay import SPEEDS, Landmark, Timeline
from console.sanitize import printable
from console.state import RunState
from console.store import Store, open_store
from console.ui.screens.panes import run_title
from console.ui.widgets.logs import LogPane
from console.ui.widgets.matrix import RunMatrix
from console.ui.widgets.stages import StageStrip
from console.ui.widgets.timeline import Position, TimelineBar

if TYPE_CHECKING:
    from console.events import StepStatus

TICK = 0.1
"""Seconds between frames while playing."""

RECORDS = 12
"""Audit records of the run shown beside the output (the newest up to the cursor)."""


def speed_label(speed: float) -> str:
    """`4×`, or `max` for as fast as the screen draws."""
    return "max" if math.isinf(speed) else f"{speed:g}×"


class ReplayScreen(Screen[None]):
    """A stored run at a cursor that plays, pauses and jumps; nothing here writes to the store."""

    DEFAULT_CSS = """
    ReplayScreen { layout: vertical; }
    #replay-title { height: auto; padding: 0 1; background: $boost; }
    ReplayScreen StageStrip { height: auto; padding: 0 1; }
    ReplayScreen RunMatrix { height: 1fr; min-height: 6; }
    #replay-lower { height: 1fr; }
    ReplayScreen LogPane { width: 2fr; height: 1fr; border: round $primary-darken-2; }
    #replay-side { width: 1fr; height: 1fr; padding: 0 1; border: round $primary-darken-2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "play", "Play/pause", priority=True, id="replay.play"),
        Binding("plus", "speed(1)", "Faster", priority=True, id="replay.faster"),
        Binding("minus", "speed(-1)", "Slower", priority=True, id="replay.slower"),
        Binding("full_stop", "event(1)", "Next event", priority=True, id="replay.next"),
        Binding("comma", "event(-1)", "Prev event", priority=True, id="replay.prev"),
        Binding("right_square_bracket", "step(1)", "Next step", priority=True, id="replay.step"),
        Binding("left_square_bracket", "step(-1)", "Prev step", priority=True, id="replay.back"),
        Binding("f", "failure", "First failure", priority=True, id="replay.failure"),
        Binding("g", "edge('start')", "Start", priority=True, id="replay.start"),
        Binding("G", "edge('end')", "End", priority=True, id="replay.end"),
        Binding("n", "chain(1)", "Next run in chain", priority=True, id="replay.chain_next"),
        Binding("N", "chain(-1)", "Prev run in chain", priority=True, id="replay.chain_prev"),
        Binding("escape,q", "close", "Close replay", priority=True, id="replay.close"),
    ]

    replaying = True
    """The console's own keys rest while this screen shows (see `OpsConsoleApp.check_action`)."""

    def __init__(
        self, store: StoreAddress, run_id: str, speed: float = 1.0, play: bool = True
    ) -> None:
        super().__init__()
        self._store_path, self.run_id = store, run_id
        self.speed = speed if speed in SPEEDS else min(SPEEDS, key=lambda s: abs(s - speed))
        self.playing = play
        self.timeline: Timeline | None = None
        self.cursor = 0
        self.at = 0.0
        """The replay's clock: the run's time it shows, which moves on between events too."""
        self._store: Store | None = None
        self._shown: dict[tuple[str, str, str], StepStatus] = {}
        self._cell: tuple[str, str] | None = None
        self._logs_at = -1
        self._landmarks: list[Landmark] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="replay-title")
        yield TimelineBar()
        yield StageStrip()
        yield RunMatrix()
        with Horizontal(id="replay-lower"):
            yield LogPane(self._store_path)
            yield Static("", id="replay-side")
        yield Footer()

    def on_mount(self) -> None:
        self._store = open_store(self._store_path)
        self._load(self.run_id)
        self.query_one(RunMatrix).focus()
        self.set_interval(TICK, self._frame)

    def _load(self, run_id: str) -> None:
        """Replay this run from its launch (the next or previous of a chain, or the first)."""
        assert self._store is not None
        self.run_id = run_id
        self.timeline = Timeline(self._store, run_id)
        gc.freeze()  # the run's events live as long as the replay: no collection walks them
        self.cursor, self.at = self.timeline.first, self.timeline.start_at
        self._landmarks = self.timeline.landmarks()
        self._shown, self._cell, self._logs_at = {}, None, -1
        self.query_one(RunMatrix).show(self.timeline.state(self.cursor))
        self._draw()
        self.refresh_bindings()  # n and N show where the chain goes on

    def on_unmount(self) -> None:
        if self._store is not None:
            self._store.close()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Typing in the output's search box is text, not replay keys; n and N show only in
        a chain."""
        if isinstance(self.focused, Input):
            return False
        if action == "chain" and self.timeline is not None:
            direction = parameters[0] if parameters and isinstance(parameters[0], int) else 1
            return self._chained(direction) is not None
        return True

    # ── moving the cursor ────────────────────────────────────────────────────
    def move(self, cursor: int, at: float | None = None) -> None:
        """Put the cursor on an event (the clock on its time unless given) and draw every pane
        as it stood then."""
        assert self.timeline is not None
        self.cursor = cursor
        self.at = self.timeline.moment(cursor) if at is None else at
        self._draw()

    def _frame(self) -> None:
        timeline = self.timeline
        if not self.playing or timeline is None:
            return
        fastest = max(timeline.length / 100, TICK * 64)
        step = TICK * self.speed if math.isfinite(self.speed) else fastest
        at = min(self.at + step, timeline.end_at)
        cursor = max(timeline.at_time(at), self.cursor)
        if at >= timeline.end_at:
            self.playing, cursor = False, timeline.last
            if self._chained(1):  # a chain plays on into the run its success launched
                self.action_chain(1)
                self.playing = True
                return
        self.move(cursor, at)

    def action_play(self) -> None:
        """Play or pause (playing from the end starts again from the launch)."""
        assert self.timeline is not None
        self.playing = not self.playing
        if self.playing and self.cursor == self.timeline.last:
            self.move(self.timeline.first)
        self._draw()

    def action_speed(self, change: int) -> None:
        """Step through 1×, 2×, 4×, 16× and as fast as the screen draws."""
        index = SPEEDS.index(self.speed) + change
        self.speed = SPEEDS[min(max(index, 0), len(SPEEDS) - 1)]
        self._draw()

    def action_event(self, direction: int) -> None:
        """The next or previous event, output included."""
        assert self.timeline is not None
        self.playing = False
        find = self.timeline.next_event if direction > 0 else self.timeline.previous_event
        self.move(find(self.cursor))

    def action_step(self, direction: int) -> None:
        """The next or previous step or stage boundary."""
        assert self.timeline is not None
        self.playing = False
        find = self.timeline.next_boundary if direction > 0 else self.timeline.previous_boundary
        self.move(find(self.cursor))

    def action_failure(self) -> None:
        """The first step that failed (or gate not approved)."""
        assert self.timeline is not None
        failure = self.timeline.first_failure()
        if failure is None:
            self.notify("Nothing failed in this run.", severity="information")
            return
        self.playing = False
        self.move(failure)

    def action_edge(self, edge: str) -> None:
        """The launch or the end of the run."""
        assert self.timeline is not None
        self.playing = False
        self.move(self.timeline.first if edge == "start" else self.timeline.last)

    def action_chain(self, direction: int) -> None:
        """The run this one's success launched, or the run whose success launched this one."""
        found = self._chained(direction)
        if found is None:
            where = "after" if direction > 0 else "before"
            self.notify(f"No run of this chain comes {where} this one.", severity="information")
            return
        self.playing = False
        self._load(found)

    def _chained(self, direction: int) -> str | None:
        """The next (1) or previous (-1) run of this run's chain, if there is one."""
        assert self.timeline is not None
        state = self.timeline.state(self.timeline.last)
        if direction < 0:
            return state.launched.follows if state.launched else None
        return state.followers[0][1] if state.followers else None

    def action_close(self) -> None:
        """Leave the replay."""
        self.dismiss(None)

    def on_run_matrix_cell_chosen(self, event: RunMatrix.CellChosen) -> None:
        event.stop()  # the live console's logs pane is not this one
        self._cell = (event.host, event.step)
        self._logs_at = -1
        self._draw_logs()

    # ── drawing ──────────────────────────────────────────────────────────────
    def _draw(self) -> None:
        timeline = self.timeline
        assert timeline is not None
        state = timeline.state(self.cursor)
        title = Text.assemble(("REPLAY ", "bold reverse"), " ", run_title(state, self.at))
        self.query_one("#replay-title", Static).update(title)
        position = Position(
            timeline.start_at,
            timeline.end_at,
            self.at,
            speed_label(self.speed),
            self.playing,
            f"event {self.cursor}",
        )
        self.query_one(TimelineBar).show(self._landmarks, position)
        self.query_one(StageStrip).show(state, self.at)
        self._draw_cells(state)
        self.query_one("#replay-side", Static).update(
            side_text(state, timeline.records(self.cursor, RECORDS))
        )
        self._draw_logs()

    def _draw_cells(self, state: RunState) -> None:
        """Repaint only the cells whose status differs from what is on screen."""
        now = {key: cell.status for key, cell in state.cells.items()}
        changed = {key for key, status in now.items() if self._shown.get(key) != status}
        self._shown = now
        if changed:
            self.query_one(RunMatrix).update_cells(state, changed)

    def _draw_logs(self) -> None:
        if self._logs_at == self.cursor:
            return
        self._logs_at = self.cursor
        host, step = self._cell if self._cell else (None, None)
        self.query_one(LogPane).follow(self.run_id, host, step, until=self.cursor)


def side_text(state: RunState, records: list[tuple[float, str, str, str]]) -> Text:
    """The run's gates and its newest audit records, as they stood at the cursor."""
    text = Text("Gates\n", style="bold")
    for gate in state.gates.values():
        outcome = gate.outcome or "waiting"
        text.append(f"{printable(gate.step)}: {outcome}\n")
        for found in judge_gate(gate, state.operator, None):
            decision = found.decision
            reason = printable(decision.reason) or "no reason given"
            ticket = f" ({printable(decision.ticket)})" if decision.ticket else ""
            ignored = f" — ignored: {printable(found.problem)}" if found.problem else ""
            text.append(f"  {decision.decision} by {decision.actor}: {reason}{ticket}{ignored}\n")
    if not state.gates:
        text.append("none yet\n", style="dim")
    text.append("\nAudit records\n", style="bold")
    for at, actor, action, subject in records:
        text.append(f"{short_time(at)}  {actor}  {action}  {printable(subject)}\n")
    return text


class ReplayApp(App[None]):
    """`opsconsole replay RUN`: the replay alone, without the rest of the console."""

    TITLE = "Ops Console replay"

    def __init__(
        self, store: StoreAddress, run_id: str, speed: float, theme: str | None = None
    ) -> None:
        super().__init__()
        from console.ui.themes import DEFAULT, load_themes, remembered_theme

        for found in load_themes():
            self.register_theme(found)
        self.theme = theme or remembered_theme() or DEFAULT
        self._replay = (store, run_id, speed)

    def on_mount(self) -> None:
        store, run_id, speed = self._replay
        self.push_screen(ReplayScreen(store, run_id, speed), lambda _: self.exit())
