"""The logs pane: a run's output followed live, paged from the store, searched with / n N."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from console import events as ev
from console.paths import StoreAddress
from console.sanitize import printable
from console.store import open_store
from console.store.base import StoredEvent
from console.ui.widgets.logtext import Filter, LineKey, Streams, event_lines, search
from console.ui.widgets.logview import LogView

WINDOW = 5000
"""Lines the widget keeps; the store keeps everything and pages it back in."""

PER_TICK = 100
"""Output events drawn per follow tick (10 a second); faster output is skipped on screen, never lost."""

LINES_PER_TICK = 400
"""Lines drawn per tick at most (an event may hold many); the newest are kept."""

TAIL = 60
"""Output events read when following starts; older ones are paged in when the reader scrolls."""

TAIL_LINES = 300
"""Of those, the newest events holding this many lines are decoded and shown."""

PAGE = 1000
"""Output events read per page when the reader scrolls past the window or jumps to a match."""

_NEWEST = 1 << 62


class Lines(Message):
    """New lines at the end of the output, from the follower thread."""

    def __init__(self, generation: int, pairs: list[tuple[LineKey, str]]) -> None:
        super().__init__()
        self.generation, self.pairs = generation, pairs


class Window(Message):
    """A whole window of lines read from the store, centred on a line (or ending at the tail)."""

    def __init__(
        self,
        generation: int,
        pairs: list[tuple[LineKey, str]],
        centre: LineKey | None,
        ends: tuple[bool, bool],
    ) -> None:
        super().__init__()
        self.generation, self.pairs, self.centre, self.ends = generation, pairs, centre, ends


class Page(Message):
    """Older or newer lines next to the window, read because the reader scrolled there."""

    def __init__(
        self, generation: int, pairs: list[tuple[LineKey, str]], older: bool, last: bool
    ) -> None:
        super().__init__()
        self.generation, self.pairs, self.older, self.last = generation, pairs, older, last


class Found(Message):
    """Where a search term occurs in the filtered output."""

    def __init__(self, generation: int, needle: str, matches: list[LineKey]) -> None:
        super().__init__()
        self.generation, self.needle, self.matches = generation, needle, matches


class LogPane(Vertical):
    """One run's output, optionally one host and step: live at the tail, or paused and paged."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match(1)", "Next", id="logs.next"),
        Binding("N", "next_match(-1)", "Prev", id="logs.prev"),
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("t", "toggle_times", "Times", id="logs.times"),
        Binding("o", "toggle_host", "Host/all", id="logs.host"),
        Binding("s", "toggle_step", "Step/all", id="logs.step"),
    ]

    def __init__(self, store: StoreAddress) -> None:
        super().__init__()
        self._store = store
        self.view: Filter | None = None
        self.cell: tuple[str, str] | None = None
        self.live = True
        self.ends = (True, True)
        self.matches: list[LineKey] = []
        self.match = -1
        self.needle = ""
        self._generation = 0
        self._stop = threading.Event()
        self._paging = False
        self._top = _NEWEST
        """Output below this event id is shown: a replay sets it to just past its cursor."""

    def compose(self) -> ComposeResult:
        yield LogView()
        yield Input(
            placeholder="search the whole output (Enter finds, Esc closes)", id="log-search"
        )

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False

    @property
    def lines(self) -> LogView:
        """The scrolling widget holding the window."""
        return self.query_one(LogView)

    # ── what is shown ──────────────────────────────────────────────────────
    def follow(
        self,
        run_id: str,
        host: str | None = None,
        step: str | None = None,
        until: int | None = None,
        pad: int = 0,
        empty: str = "",
    ) -> None:
        """Follow a run's output (one host and step when given) live from its newest lines,
        or, `until` an event id, show the output as it stood then (a replay's cursor); host
        names padded to `pad`, and `empty` said while there is no line."""
        self._top = _NEWEST if until is None else until + 1
        if host is not None and step is not None:
            self.cell = (host, step)
        elif self.view is None or self.view.run_id != run_id:
            self.cell = None
        times = self.view.times if self.view else False
        self.lines.empty = empty or "No output yet."
        self._show(Filter(run_id, host, step, times, pad))

    def _show(self, view: Filter) -> None:
        self.view, self.matches, self.match, self.needle = view, [], -1, ""
        self.lines.mark("", None)
        self._go_live()

    def _next_generation(self) -> tuple[int, threading.Event]:
        self._stop.set()
        self._stop = threading.Event()
        self._generation += 1
        self._paging = False
        return self._generation, self._stop

    def _go_live(self) -> None:
        assert self.view is not None
        generation, stop = self._next_generation()
        self.live = True
        self._describe()
        view, top = self.view, self._top
        self.run_worker(
            lambda: self._pump(view, generation, stop, top),
            thread=True,
            group="logs",
            exclusive=True,
        )

    def _describe(self) -> None:
        view = self.view
        if view is None:
            return
        self.border_title = (
            f"output of {view.run_id}"
            + (f" · {printable(view.host)}" if view.host else " · all hosts")
            + (f" · {printable(view.step)}" if view.step else " · all steps")
        )
        if self.matches:
            mode = f"match {self.match + 1} of {len(self.matches)} for '{printable(self.needle)}' (n/N)"
        elif self._top != _NEWEST:
            mode = "as it stood at the replay cursor"
        else:
            mode = "following (f pauses)" if self.live else "paused (f follows)"
        self.border_subtitle = mode

    # ── threads: the follower and the readers ──────────────────────────────
    def _pump(self, view: Filter, generation: int, stop: threading.Event, top: int) -> None:
        store = open_store(self._store)
        try:
            tail = view.read(store, before=top, limit=TAIL)
            streams: Streams = {}
            shown = _last_lines(tail, TAIL_LINES)  # a screenful or two; older pages in on scroll
            pairs = event_lines(shown, {}, view)
            ends = (len(shown) == len(tail) and len(tail) < TAIL, True)
            self.post_message(Window(generation, pairs, None, ends))
            after = tail[-1].id if tail else 0
            while top == _NEWEST and not stop.wait(0.1):
                batch = view.read(store, after, before=_NEWEST, limit=PER_TICK + 1)
                if not batch:
                    continue
                gap = len(batch) > PER_TICK  # more arrived than a tick draws: show the newest
                batch = batch[1:] if gap else batch
                after = batch[-1].id
                self.post_message(Lines(generation, _newest(batch, streams, view, gap)))
        finally:
            store.close()

    def _read_window(self, view: Filter, generation: int, centre: LineKey | None, top: int) -> None:
        """Read a contiguous window around a line (or ending at the tail) for the reader."""
        store = open_store(self._store)
        try:
            event = centre[0] if centre else top - 1
            older = view.read(store, before=event + 1, limit=PAGE)
            newer = view.read(store, after=event, before=top, limit=PAGE) if centre else []
        finally:
            store.close()
        pairs = event_lines(older + newer, {}, view)
        ends = (len(older) < PAGE, not centre or len(newer) < PAGE)
        self.post_message(Window(generation, pairs, centre, ends))

    def _read_page(self, view: Filter, generation: int, edge: int, older: bool, top: int) -> None:
        store = open_store(self._store)
        try:
            window = {"before": edge + 1} if older else {"after": edge - 1, "before": top}
            batch = view.read(store, limit=PAGE, **window)
        finally:
            store.close()
        self.post_message(Page(generation, event_lines(batch, {}, view), older, len(batch) < PAGE))

    def _search(self, view: Filter, generation: int, needle: str) -> None:
        self.post_message(Found(generation, needle, search(self._store, view, needle)))

    # ── messages from the threads ──────────────────────────────────────────
    def on_lines(self, message: Lines) -> None:
        if message.generation == self._generation and self.live:
            self.lines.append(message.pairs, WINDOW, follow=True)

    def on_window(self, message: Window) -> None:
        if message.generation != self._generation:
            return
        self.ends = message.ends
        self.lines.replace(message.pairs, message.centre)
        if self.matches:
            self.lines.mark(self.needle, self.matches[self.match])

    def on_page(self, message: Page) -> None:
        if message.generation != self._generation:
            return
        self._paging = False
        view = self.lines
        if message.older:
            edge = view.keys[0][0]
            while view.keys and view.keys[0][0] == edge:  # the edge event is read again whole
                view.drop(1, oldest=True)
            view.prepend(message.pairs, WINDOW)
            self.ends = (message.last, self.ends[1] and len(view.lines) < WINDOW)
        else:
            edge = view.keys[-1][0]
            while view.keys and view.keys[-1][0] == edge:
                view.drop(1, oldest=False)
            view.append(message.pairs, WINDOW, follow=False)
            self.ends = (self.ends[0] and len(view.lines) < WINDOW, message.last)

    def on_found(self, message: Found) -> None:
        if message.generation != self._generation:
            return
        if not message.matches:
            self.notify(
                f"No line contains '{printable(message.needle)}'.", severity="warning", markup=False
            )
            return
        self.needle, self.matches = message.needle, message.matches
        keys = self.lines.keys
        top = keys[min(round(self.lines.scroll_y), len(keys) - 1)] if keys else (0, 0)
        self.match = next((i for i, key in enumerate(self.matches) if key >= top), 0)
        self._goto()

    # ── the reader's actions ───────────────────────────────────────────────
    @on(LogView.Edge)
    def _edge(self, event: LogView.Edge) -> None:
        if self.view is None or not self.lines.keys:
            return
        if self.live:
            if event.older:
                self._pause()
            return
        if self._paging or self.ends[0 if event.older else 1]:
            return
        self._paging = True
        view, generation, top = self.view, self._generation, self._top
        edge = self.lines.keys[0][0] if event.older else self.lines.keys[-1][0]
        self.run_worker(
            lambda: self._read_page(view, generation, edge, event.older, top),
            thread=True,
            group="logs",
        )

    def _pause(self, centre: LineKey | None = None) -> None:
        """Stop following and reload a gap-free window (live following skips what it cannot draw)."""
        assert self.view is not None
        if centre is None and self.lines.keys:
            centre = self.lines.keys[min(round(self.lines.scroll_y), len(self.lines.keys) - 1)]
        generation, _ = self._next_generation()
        self.live = False
        self._describe()
        view, top = self.view, self._top
        self.run_worker(
            lambda: self._read_window(view, generation, centre, top), thread=True, group="logs"
        )

    def action_toggle_follow(self) -> None:
        """Pause at what is on screen, or go back to following the newest output."""
        if self.view is None:
            return
        if self.live:
            self._pause()
        else:
            self.matches, self.match = [], -1
            self.lines.mark("", None)
            self._go_live()

    def action_toggle_times(self) -> None:
        """Show or hide each chunk's arrival time."""
        if self.view is not None:
            self._show(replace(self.view, times=not self.view.times))

    def action_toggle_host(self) -> None:
        """Show the chosen cell's host only, or every host."""
        if self.view is not None and self.cell is not None:
            host = None if self.view.host else self.cell[0]
            self._show(replace(self.view, host=host))

    def action_toggle_step(self) -> None:
        """Show the chosen cell's step only, or every step."""
        if self.view is not None and self.cell is not None:
            step = None if self.view.step else self.cell[1]
            self._show(replace(self.view, step=step))

    def action_search(self) -> None:
        """Open the search box under the output."""
        box = self.query_one("#log-search", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = event.input
        box.display = False
        self.lines.focus()
        needle = event.value.strip()
        if not needle or self.view is None:
            return
        if self.live:
            self._pause()
        view, generation = self.view, self._generation
        self.run_worker(
            lambda: self._search(view, generation, needle), thread=True, group="logs-search"
        )

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#log-search", Input)
        if event.key == "escape" and self.app.focused is box:
            box.display = False
            self.lines.focus()
            event.stop()

    def action_next_match(self, step: int) -> None:
        """Move to the next (1) or previous (-1) match, wrapping around."""
        if not self.matches:
            self.notify("Nothing searched yet: / searches the output.", severity="warning")
            return
        self.match = (self.match + step) % len(self.matches)
        self._goto()

    def _goto(self) -> None:
        key = self.matches[self.match]
        self._describe()
        if self.lines.index_of(key) is not None:
            self.lines.mark(self.needle, key)
            return
        assert self.view is not None
        generation, _ = self._next_generation()
        self.live = False
        view, top = self.view, self._top
        self.run_worker(
            lambda: self._read_window(view, generation, key, top), thread=True, group="logs"
        )

    def on_unmount(self) -> None:
        self._stop.set()


def _last_lines(batch: list[StoredEvent], wanted: int) -> list[StoredEvent]:
    """The newest events of a batch that hold at least `wanted` lines (all when fewer do)."""
    chosen: list[StoredEvent] = []
    lines = 0
    for stored in reversed(batch):
        chosen.append(stored)
        event = stored.event
        lines += event.data.count(b"\n") if isinstance(event, ev.Output) else 0
        if lines >= wanted:
            break
    chosen.reverse()
    return chosen


def _newest(
    batch: list[StoredEvent],
    streams: Streams,
    view: Filter,
    gap: bool,
) -> list[tuple[LineKey, str]]:
    """The batch's lines, or its newest LINES_PER_TICK after one mark where the rest was skipped.

    `gap` says output before the batch was already passed over. Events are decoded from the
    newest back until enough lines are found: sanitizing is the costly part, and what is
    skipped is never decoded.
    """
    chosen = _last_lines(batch, LINES_PER_TICK)
    skipped = gap or len(chosen) < len(batch)
    if skipped:
        streams.clear()  # a sequence cut by the skip can only be dropped, never passed
    pairs = event_lines(chosen, streams, view)
    if len(pairs) > LINES_PER_TICK:
        pairs, skipped = pairs[-LINES_PER_TICK:], True
    if not skipped or not pairs:
        return pairs
    return [((pairs[0][0][0], -1), _SKIPPED), *pairs]


_SKIPPED = "… output skipped here while following (all is kept: f pauses and pages through it)"
