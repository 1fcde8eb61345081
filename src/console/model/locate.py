"""Find the line on which a key path is written in a TOML file.

`tomllib` gives positions only for syntax errors, so this pass reads the text again and
records where each table header and each key starts. It understands headers, arrays of
tables, dotted keys and inline tables well enough to point a person at the right line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)
_INLINE_KEY = re.compile(r"""[{,]\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _split_key(text: str) -> list[str]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+', text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


class KeyLocator:
    """Maps key paths such as ("stages", 1, "steps", 0, "run") to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        self._counts: dict[Path, int] = {}
        self._scan(text.splitlines())

    def _scan(self, lines: Sequence[str]) -> None:
        table: Path = ()
        in_multiline: str | None = None
        for number, line in enumerate(lines, start=1):
            if in_multiline:
                if in_multiline in line:
                    in_multiline = None
                continue
            header = _HEADER.match(line)
            if header and not _KEY.match(line):
                table = self._enter_table(header.group(1) == "[[", _split_key(header.group(2)))
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = table + tuple(_split_key(key.group(1)))
            self.lines.setdefault(path, number)
            rest = line[key.end() :]
            for inline in _INLINE_KEY.finditer(rest):
                self.lines.setdefault(path + (_split_key(inline.group(1))[0],), number)
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote

    def _enter_table(self, is_array: bool, names: list[str]) -> Path:
        path: Path = ()
        for i, name in enumerate(names):
            path = path + (name,)
            last = i == len(names) - 1
            if path in self._counts and not (last and is_array):
                path = path + (self._counts[path] - 1,)
        if is_array:
            index = self._counts.get(path, 0)
            self._counts[path] = index + 1
            path = path + (index,)
        return path

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the longest prefix of `path` that appears in the file."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None
