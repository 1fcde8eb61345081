"""A run's output as an asciicast v2 recording, with the real timing, playable with asciinema."""

from __future__ import annotations

import json
from collections.abc import Iterator

from console import events as ev
from console.render.labelled import LabelledOutput
from console.sanitize import printable
from console.store.base import Store

WIDTH, HEIGHT = 160, 48
WINDOW = 5000
"""Events read from the store at a time: a long run is never held whole."""


def cast_lines(store: Store, run_id: str, host: str | None = None) -> Iterator[str]:
    """The recording's lines: a header, then `[seconds, "o", text]` for output and
    `[seconds, "m", label]` markers at stage starts, gates and the run's end."""
    labelled = LabelledOutput(colour=True)
    start: float | None = None
    clock = 0.0
    after = 0
    while batch := store.read(run_id, after, limit=WINDOW):
        after = batch[-1].id
        for stored in batch:
            event = stored.event
            if start is None:
                start = event.at
                yield _header(run_id, event)
            clock = max(clock, round(event.at - start, 6))  # players need time to only go on
            for kind, text in _frames(event, labelled, host):
                yield json.dumps([clock, kind, text], ensure_ascii=False)


def _header(run_id: str, first: ev.Event) -> str:
    title = f"{first.pipeline} {run_id}" if isinstance(first, ev.RunLaunched) else run_id
    return json.dumps(
        {
            "version": 2,
            "width": WIDTH,
            "height": HEIGHT,
            "timestamp": int(first.at),
            "title": title,
            "env": {"TERM": "xterm-256color"},
        },
        ensure_ascii=False,
    )


def _frames(event: ev.Event, labelled: LabelledOutput, host: str | None) -> list[tuple[str, str]]:
    """What one event adds to the recording."""
    if isinstance(event, ev.Output):
        if host is not None and event.host != host:
            return []
        lines = labelled.lines(event)
        return [("o", "".join(f"{line}\r\n" for line in lines))] if lines else []
    label = _marker(event)
    if label is None:
        return []
    label = printable(label)
    return [("m", label), ("o", f"\x1b[2m── {label} ──\x1b[0m\r\n")]


def _marker(event: ev.Event) -> str | None:
    """A chapter mark for the moments a viewer jumps between."""
    if isinstance(event, ev.StageStarted):
        return f"stage {printable(event.stage)}"
    if isinstance(event, ev.GateOpened):
        return f"gate {printable(event.step)} waiting"
    if isinstance(event, ev.GateClosed):
        return f"gate {printable(event.step)} {event.outcome}"
    if isinstance(event, ev.RunFinished):
        return f"run {event.status}"
    return None
