"""Output events as the logs pane's lines: sanitized, colour kept, each keyed by where it came from."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from console import events as ev
from console.paths import StoreAddress
from console.render.display import DisplayLines
from console.render.runtext import STEP_FAILED
from console.sanitize import printable
from console.store import Store, open_store
from console.store.base import StoredEvent

LineKey = tuple[int, int]
"""(event id, line within that event): a line's place in the run, stable across reloads."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
FAILED_MARK = "\x1b[1;31m✗ "
"""A step's failure, in the pane's own colour (the reason comes from the engine)."""
RESET = "\x1b[0m"

Streams = dict[tuple[str, str, str], DisplayLines]
"""Each (host, step, stream)'s display state, kept across windows read one after another."""


@dataclass(frozen=True)
class Filter:
    """Which output the pane shows: a run, optionally one host and one step."""

    run_id: str
    host: str | None = None
    step: str | None = None
    times: bool = False
    pad: int = 0
    """The width host names are padded to, so that lines of many hosts line up."""

    def read(
        self, store: Store, after: int = 0, before: int | None = None, limit: int = 2000
    ) -> list[StoredEvent]:
        """The events this filter shows, in a window of ids: output, and each step's end (a
        failure says why there, even when the step printed nothing)."""
        return store.read(
            self.run_id,
            after,
            kinds=(ev.Output.kind, ev.StepFinished.kind),
            host=self.host,
            step=self.step,
            limit=limit,
            before=before,
        )


def plain(line: str) -> str:
    """A display line without its colours (what search and widths look at)."""
    return _SGR.sub("", line)


def event_lines(
    stored: Iterable[StoredEvent], streams: Streams, view: Filter
) -> list[tuple[LineKey, str]]:
    """Each output event's lines, prefixed with time, host and stream mark as the view asks."""
    out: list[tuple[LineKey, str]] = []
    for item in stored:
        event = item.event
        if not isinstance(event, ev.Output | ev.StepFinished):
            continue
        prefix = "" if view.host else f"{event.host:<{view.pad}} "
        if not view.step:  # all steps: say whose line it is
            prefix += f"{event.step} "
        if view.times:
            stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
            prefix = f"{stamp}.{int(event.at % 1 * 1000):03d} {prefix}"
        if isinstance(event, ev.StepFinished):
            if event.status in STEP_FAILED:  # the prefix names the step where it is not known
                why = event.status.replace("_", " ") + (
                    f": {event.message}" if event.message else ""
                )
                out.append(((item.id, 0), f"{prefix}{FAILED_MARK}{printable(why)}{RESET}"))
            continue
        key = (event.host, event.step, event.stream)
        lines = streams.setdefault(key, DisplayLines()).feed(event.data)
        mark = "!" if event.stream == "stderr" else "│"
        for number, line in enumerate(lines):
            out.append(((item.id, number), f"{prefix}{mark} {line}"))
    return out


def search(path: StoreAddress, view: Filter, needle: str, cap: int = 100_000) -> list[LineKey]:
    """Every line of the filtered output containing the needle (case-insensitive), in order."""
    wanted = needle.lower()
    found: list[LineKey] = []
    streams: Streams = {}
    store = open_store(path)
    try:
        after = 0
        while len(found) < cap:
            batch = view.read(store, after, limit=5000)
            if not batch:
                break
            after = batch[-1].id
            found.extend(
                key
                for key, line in event_lines(batch, streams, view)
                if wanted in plain(line).lower()
            )
    finally:
        store.close()
    return found[:cap]
