"""A run's output as terminal lines, each labelled with its host and step, sanitized per stream."""

from __future__ import annotations

from console import events as ev
from console.render.display import MAX_LINE, DisplayLines
from console.sanitize import Sanitizer


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
        step = Sanitizer(False).feed(event.step.encode())[:24]
        prefix = f"{event.host} {step}{'!' if event.stream == 'stderr' else ''}| "
        reset = "\x1b[0m" if self._colour else ""
        return [f"{prefix}{line}{reset}" for line in lines]
