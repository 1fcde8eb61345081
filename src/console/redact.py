"""Patient data masked out of output before it is stored: the inventory's `[redact]` patterns,
applied to whole lines, with a count of masks per pattern for the audit trail."""

from __future__ import annotations

import functools
import re
from collections import Counter

from console.secrets import Masker, Masks


class Redactor:
    """Masks the patterns in one stream of output; a line still being written waits for its end."""

    def __init__(self, patterns: dict[str, str]) -> None:
        self._patterns = [
            (name, re.compile(p.encode(), re.MULTILINE)) for name, p in patterns.items()
        ]
        self._partial = b""
        self.counts: Counter[str] = Counter()

    def feed(self, data: bytes) -> bytes:
        """The complete lines so far, masked; an unfinished line is kept for the next chunk."""
        data = self._partial + data
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        return self._mask(data[:cut])

    def finish(self) -> bytes:
        """The last, unfinished line, masked, at the end of the stream."""
        rest, self._partial = self._partial, b""
        return self._mask(rest)

    def _mask(self, data: bytes) -> bytes:
        for name, pattern in self._patterns:
            data = pattern.sub(functools.partial(self._replace, name=name), data)
        return data

    def _replace(self, match: re.Match[bytes], name: str) -> bytes:
        self.counts[name] += 1
        mask = f"<{name} redacted>".encode()
        if "redact" not in match.re.groupindex or match.start("redact") < 0:
            return mask
        start, end = match.span("redact")
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + mask + whole[end - offset :]


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
