"""The logs pane: a bounded window onto a run's output, followed live from the store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Log

from console import events as ev
from console.sanitize import Sanitizer, printable
from console.store.sqlite import SQLiteStore

WINDOW = 5000
"""Lines the widget keeps; the store keeps everything."""

PER_TICK = 250
"""Lines drawn per follow tick (10 a second); faster output is skipped on screen, never lost."""


class OutputLines(Message):
    """Sanitized lines for the logs pane, from its follower thread."""

    def __init__(self, follower: int, lines: list[str]) -> None:
        super().__init__()
        self.follower, self.lines = follower, lines


class LogPane(Log):
    """Shows one run's output (optionally one host and step), following it as it grows."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("t", "toggle_times", "Times", id="logs.times"),
    ]

    def __init__(self, store: Path) -> None:
        super().__init__(max_lines=WINDOW, highlight=False, auto_scroll=True)
        self._store = store
        self._generation = 0
        self._stop = threading.Event()
        self.timestamps = False
        self._following: tuple[str, str | None, str | None] | None = None

    def action_toggle_follow(self) -> None:
        """Stop or resume scrolling to the newest line (output keeps arriving either way)."""
        self.auto_scroll = not self.auto_scroll
        self.border_subtitle = "" if self.auto_scroll else "follow paused (f resumes)"
        if self.auto_scroll:
            self.scroll_end(animate=False)

    def action_toggle_times(self) -> None:
        """Show or hide each chunk's arrival time, redrawing from the store."""
        self.timestamps = not self.timestamps
        if self._following:
            self.follow(*self._following)

    def follow(self, run_id: str, host: str | None = None, step: str | None = None) -> None:
        """Clear the pane and follow a run's output from its start."""
        self._following = (run_id, host, step)
        self._stop.set()
        self._stop = threading.Event()
        self._generation += 1
        self.clear()
        title = (
            f"output of {run_id}"
            + (f" · {host}" if host else "")
            + (f" · {printable(step)}" if step else "")
        )
        self.border_title = title
        generation, stop = self._generation, self._stop
        self.run_worker(
            lambda: self._pump(run_id, host, step, generation, stop),
            thread=True,
            group="logs",
            exclusive=True,
        )

    def _pump(
        self,
        run_id: str,
        host: str | None,
        step: str | None,
        generation: int,
        stop: threading.Event,
    ) -> None:
        store = SQLiteStore(self._store)
        cleaners: dict[tuple[str, str, str], Sanitizer] = {}
        after = 0
        try:
            while not stop.is_set():
                batch = store.read(run_id, after, kinds=(ev.Output.kind,), host=host, limit=2000)
                if batch:
                    after = batch[-1].id
                    events = [b.event for b in batch]
                    lines = _window(events, step, cleaners, host is None, run_id, self.timestamps)
                    if lines:
                        self.post_message(OutputLines(generation, lines))
                stop.wait(0.1)
        finally:
            store.close()

    def on_output_lines(self, message: OutputLines) -> None:
        if message.follower == self._generation:
            self.write_lines(message.lines)

    def on_unmount(self) -> None:
        self._stop.set()


def _window(
    events: list[ev.Event],
    step: str | None,
    cleaners: dict[tuple[str, str, str], Sanitizer],
    with_host: bool,
    run_id: str,
    times: bool = False,
) -> list[str]:
    """The lines to draw this tick: all of them, or the newest when output outruns the screen.

    Skipped output is not even decoded (the follower must not starve the UI of the GIL); the
    sanitizers start afresh after a skip, which can only drop a sequence, never pass one.
    """
    if step is not None:
        events = [e for e in events if isinstance(e, ev.Output) and e.step == step]
    if len(events) <= PER_TICK:
        return _lines(events, None, cleaners, with_host, times)
    skipped = sum(e.data.count(b"\n") for e in events[:-PER_TICK] if isinstance(e, ev.Output))
    cleaners.clear()
    note = f"… {skipped} lines not shown here (all are kept: opsconsole logs {run_id})"
    return [note, *_lines(events[-PER_TICK:], None, cleaners, with_host, times)]


def _lines(
    events: list[ev.Event],
    step: str | None,
    cleaners: dict[tuple[str, str, str], Sanitizer],
    with_host: bool,
    times: bool = False,
) -> list[str]:
    out: list[str] = []
    for event in events:
        assert isinstance(event, ev.Output)
        if step is not None and event.step != step:
            continue
        key = (event.host, event.step, event.stream)
        text = cleaners.setdefault(key, Sanitizer(keep_colour=False)).feed(event.data)
        prefix = f"{event.host} " if with_host else ""
        if times:
            prefix = (
                time.strftime("%H:%M:%S", time.localtime(event.at))
                + f".{int(event.at % 1 * 1000):03d} "
                + prefix
            )
        mark = "!" if event.stream == "stderr" else "│"
        out.extend(f"{prefix}{mark} {line}" for line in text.splitlines())
    return out
