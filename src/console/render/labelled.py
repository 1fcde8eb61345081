"""A run's output as terminal lines, each labelled with its host and step, sanitized per stream."""

from __future__ import annotations

from console import events as ev
from console.render.display import MAX_LINE, DisplayLines
from console.render.runtext import STEP_FAILED
from console.sanitize import Sanitizer, printable


class LabelledOutput:
    """Turns output events into safe lines `host step| text`, keeping one sanitizer per
    stream so that a control sequence split across two chunks is still recognised.

    With `cap`, a line longer than MAX_LINE is cut there with a visible mark (for a terminal);
    without it every character is kept and a line that never ends comes in pieces.
    """

    def __init__(self, colour: bool, cap: bool = True) -> None:
        self._colour = colour
        self._limit = MAX_LINE if cap else None
        self._streams: dict[tuple[str, str, str], DisplayLines] = {}

    def lines(self, event: ev.Output) -> list[str]:
        """The complete lines this chunk adds (colour reset at each end when kept)."""
        key = (event.host, event.step, event.stream)
        if key not in self._streams:
            self._streams[key] = DisplayLines(self._colour, self._limit)
        lines = self._streams[key].feed(event.data)
        prefix = f"{_label(event)}{'!' if event.stream == 'stderr' else ''}| "
        reset = "\x1b[0m" if self._colour else ""
        return [f"{prefix}{line}{reset}" for line in lines]

    def reason(self, event: ev.StepFinished) -> str | None:
        """The line saying why a step failed (a step may fail before printing anything);
        None when it did not fail."""
        if event.status not in STEP_FAILED:
            return None
        why = event.status.replace("_", " ") + (f": {event.message}" if event.message else "")
        if event.exit_code not in (None, 0) and not event.message:
            why += f" (exit {event.exit_code})"
        line = f"{_label(event)}✗ {printable(why)}"
        return f"\x1b[1;31m{line}\x1b[0m" if self._colour else line


def _label(event: ev.Output | ev.StepFinished) -> str:
    """`host step` with the step's name made safe and kept short."""
    return f"{event.host} {Sanitizer(False).feed(event.step.encode())[:24]}"
