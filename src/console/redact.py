"""Patient data masked out of output before it is stored: the inventory's `[redact]` patterns,
applied to whole lines, with a count of masks per pattern for the audit trail.

A line with no end in sight is masked in windows, so that time and memory stay linear in its
length: see `Redactor`.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from typing import Any

from console.masking import Masker, Masks

WINDOW = 256 * 1024
"""Bytes of an unfinished line a pattern holds before it masks and passes on all but a tail."""

OVERLAP = 4096
"""The longest match (with what its lookarounds look at) sure to be found whole in a long line."""


class Redactor:
    """Masks the patterns in one stream of output, in order, each over what the one before left.

    Complete lines are masked as they come; a line still being written waits for its end, up to
    `WINDOW` bytes. Past that, all but the last `OVERLAP` bytes are masked and passed on (never
    cutting through a match), and the pattern keeps `OVERLAP` bytes of what it passed on to look
    behind, so `^`, `\\b` and lookbehinds behave as they would on the whole line. On such a line
    a match longer than `OVERLAP` bytes may be missed, or found cut short and masked in part.
    """

    def __init__(self, patterns: dict[str, str]) -> None:
        self.counts: Counter[str] = Counter()
        self._passes = [
            _Pass(name, re.compile(p.encode(), re.MULTILINE), self.counts)
            for name, p in patterns.items()
        ]

    def feed(self, data: bytes) -> bytes:
        """The complete lines so far, masked, and the settled part of a long unfinished line."""
        for one in self._passes:
            data = one.feed(data)
        return data

    def finish(self) -> bytes:
        """The last, unfinished line, masked, at the end of the stream."""
        data = b""
        for one in self._passes:
            data = one.feed(data) + one.finish()
        return data

    @property
    def held(self) -> int:
        """Bytes waiting in the patterns for more of their line."""
        return sum(one.held for one in self._passes)


class _Pass:
    """One pattern over one stream: whole lines at once, a long line in windows."""

    def __init__(self, name: str, pattern: re.Pattern[bytes], counts: Counter[str]) -> None:
        self._name, self._pattern, self._counts = name, pattern, counts
        self._mask = f"<{name} redacted>".encode()
        self._needs = needed_bytes(pattern)
        self._pieces: list[bytes] = []
        self._size = 0
        self._before = b""  # passed-on end of the unfinished line, for lookbehinds and `^`

    @property
    def held(self) -> int:
        """Bytes kept for the next chunk."""
        return self._size + len(self._before)

    def feed(self, data: bytes) -> bytes:
        """Complete lines masked, and all but a tail of a line longer than `WINDOW`."""
        if b"\n" not in data and self._size + len(data) <= WINDOW:
            if data:
                self._pieces.append(data)
                self._size += len(data)
            return b""
        text = b"".join([*self._pieces, data]) if self._pieces else data
        cut = text.rfind(b"\n") + 1
        done = self._lines(text[:cut]) if cut else b""
        rest = text[cut:]
        if len(rest) > WINDOW:
            done += self._window(rest)
        else:
            self._keep(rest)
        return done

    def finish(self) -> bytes:
        """What is held, masked as the end of its line."""
        rest = b"".join(self._pieces)
        self._keep(b"")
        out = self._sub(self._before + rest, len(self._before), len(self._before) + len(rest))
        self._before = b""
        return out

    def _keep(self, rest: bytes) -> None:
        self._pieces = [rest] if rest else []
        self._size = len(rest)

    def _lines(self, lines: bytes) -> bytes:
        """Whole lines, the first of them perhaps begun in text already passed on."""
        before, self._before = self._before, b""
        if not before:
            return self._sub(lines, 0, len(lines))
        return self._sub(before + lines, len(before), len(before) + len(lines))

    def _window(self, rest: bytes) -> bytes:
        """Mask and pass on the settled part of a long unfinished line; keep the rest."""
        text, start = self._before + rest, len(self._before)
        settled = len(text) - OVERLAP
        matches = self._matches(text, start, len(text))
        cut = settled
        for match in matches:
            if match.end() <= settled:
                continue
            if match.start() < settled:  # a match reaching into the tail is not cut through
                long = match.end() - match.start() > OVERLAP
                cut = match.end() if long else match.start()
            break
        done = self._masked(text, start, cut, [m for m in matches if m.end() <= cut])
        self._before = text[max(0, cut - OVERLAP) : cut]
        self._keep(text[cut:])
        return done

    def _sub(self, text: bytes, start: int, end: int) -> bytes:
        """`text[start:end]` masked, as if the text ended at `end`."""
        if start == 0 and end == len(text):
            if self._needs and self._needs not in text:
                return text
            return self._pattern.sub(self._replace, text)
        return self._masked(text, start, end, self._matches(text, start, end))

    def _matches(self, text: bytes, start: int, end: int) -> list[re.Match[bytes]]:
        if self._needs and self._needs not in text:
            return []
        return list(self._pattern.finditer(text, start, end))

    def _masked(self, text: bytes, start: int, end: int, matches: list[re.Match[bytes]]) -> bytes:
        """`text[start:end]` with these matches (all inside it) replaced."""
        parts, at = [], start
        for match in matches:
            parts += [text[at : match.start()], self._replace(match)]
            at = match.end()
        parts.append(text[at:end])
        return b"".join(parts)

    def _replace(self, match: re.Match[bytes]) -> bytes:
        self._counts[self._name] += 1
        if "redact" not in match.re.groupindex or match.start("redact") < 0:
            return self._mask
        start, end = match.span("redact")
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + self._mask + whole[end - offset :]


def needed_bytes(pattern: re.Pattern[bytes]) -> bytes:
    """Bytes every match of `pattern` holds: the longest run of plain characters in its top-level
    sequence (b"" when there is none, or the pattern ignores case).

    Text without them cannot match, so it is not searched: most output holds no `PID|`.
    """
    if pattern.flags & re.IGNORECASE or _PARSER is None:
        return b""
    try:
        parsed = _PARSER.parse(pattern.pattern, pattern.flags)
        best = run = b""
        for op, arg in parsed:
            run = run + bytes([arg]) if op is _LITERAL else b""
            best = max(best, run, key=len)
        return best
    except Exception:  # the parser is CPython's own; anything it does not offer means no shortcut
        return b""


def _parser() -> tuple[Any, Any]:
    """CPython's regular expression parser and its LITERAL opcode, or (None, None)."""
    try:
        parser, constants = (importlib.import_module(f"re.{n}") for n in ("_parser", "_constants"))
        return parser, constants.LITERAL
    except (ImportError, AttributeError):
        return None, None


_PARSER, _LITERAL = _parser()


class OutputFilter:
    """What one stream of a step's output passes through before it is stored: the inventory's
    patient-data patterns, then the run's secrets."""

    def __init__(self, masks: Masks | None, patterns: dict[str, str]) -> None:
        self._redactor = Redactor(patterns) if patterns else None
        self._masker = Masker(masks) if masks else None

    @property
    def counts(self) -> Counter[str]:
        """Masks made per pattern so far."""
        return self._redactor.counts if self._redactor else Counter()

    def feed(self, data: bytes) -> bytes:
        """A chunk, filtered (less what must wait for more)."""
        if self._redactor:
            data = self._redactor.feed(data)
        return self._masker.feed(data) if self._masker else data

    def finish(self) -> bytes:
        """Whatever waited, at the end of the stream."""
        data = self._redactor.finish() if self._redactor else b""
        return self._masker.feed(data) + self._masker.finish() if self._masker else data
