"""One output stream as display lines: sanitized, and no line longer than a cap.

The transport hands a line that never ends on in 64 KiB pieces. Shown as they come, a
100 MB line would fill a screen with 1,500 lines of its pieces; here it is shown once, cut
at the cap, and its later pieces are passed over until its newline. The mark that says so
comes first, where a view that does not wrap (the logs pane) shows it.
"""

from __future__ import annotations

import re

from console.sanitize import Sanitizer

MAX_LINE = 4000
"""Characters of one line kept for display; the store keeps the whole line."""

_CUT_SGR = re.compile(r"\x1b\[[0-9;:]*$")


def cut_mark(limit: int) -> str:
    """What begins a line cut for display."""
    return f"✂ [line truncated at {limit:,} characters; the store has it all] "


class DisplayLines:
    """Turns one stream's chunks into its lines, each at most `limit` characters plus a mark."""

    def __init__(self, keep_colour: bool = True, limit: int | None = MAX_LINE) -> None:
        self._colour = keep_colour
        self._sanitizer = Sanitizer(keep_colour=keep_colour)
        self._reset = "\x1b[0m" if keep_colour else ""
        self._limit = limit
        self._open = 0
        """Characters of the line still open at the end of the last chunk (over the cap: cut)."""

    def feed(self, data: bytes) -> list[str]:
        """The lines (or pieces of a line the pause ended) this chunk adds."""
        if self._limit is None:
            return self._sanitizer.feed(data).splitlines()
        if self._open > self._limit:  # the rest of a cut line is passed over without decoding
            end = data.find(b"\n")
            if end < 0:
                return []
            data, self._open = data[end + 1 :], 0
            self._sanitizer = Sanitizer(keep_colour=self._colour)  # what it held was cut off
        text = self._sanitizer.feed(data)
        lines: list[str] = []
        for piece in text.splitlines(keepends=True):
            body = piece.splitlines()[0]
            ended = len(body) < len(piece)
            line = self._capped(body)
            if line is not None:
                lines.append(line)
            self._open = 0 if ended else self._open + len(body)
        return lines

    def _capped(self, body: str) -> str | None:
        """The piece as shown, or None where it goes on a line already cut."""
        assert self._limit is not None
        if self._open > self._limit:
            return None
        room = self._limit - self._open
        if len(body) <= room:
            return body
        kept = _CUT_SGR.sub("", body[:room])  # never leave half a colour sequence behind
        return f"{cut_mark(self._limit)}{kept}{self._reset}…"
