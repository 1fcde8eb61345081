"""A run's output as terminal lines, each labelled with its host and step, sanitized per stream."""

from __future__ import annotations

from console import events as ev
from console.sanitize import Sanitizer


class LabelledOutput:
    """Turns output events into safe lines `host step| text`, keeping one sanitizer per
    stream so that a control sequence split across two chunks is still recognised."""

    def __init__(self, colour: bool) -> None:
        self._colour = colour
        self._cleaners: dict[tuple[str, str, str], Sanitizer] = {}

    def lines(self, event: ev.Output) -> list[str]:
        """The complete lines this chunk adds (colour reset at each end when kept)."""
        key = (event.host, event.step, event.stream)
        cleaner = self._cleaners.setdefault(key, Sanitizer(keep_colour=self._colour))
        text = cleaner.feed(event.data)
        step = Sanitizer(False).feed(event.step.encode())[:24]
        prefix = f"{event.host} {step}{'!' if event.stream == 'stderr' else ''}| "
        reset = "\x1b[0m" if self._colour else ""
        return [f"{prefix}{line}{reset}" for line in text.splitlines()]
