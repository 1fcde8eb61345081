"""The transport's output pump: lines as they come, and no line held whole however long."""

from __future__ import annotations

import asyncio

from console.transport.ssh import LONG_LINE, _pump


class Reader:
    """Chunks as an SSH channel would deliver them, then the end."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    async def read(self, size: int) -> bytes:
        return self.chunks.pop(0)[:size] if self.chunks else b""


def _pumped(chunks: list[bytes]) -> list[bytes]:
    got: list[bytes] = []
    asyncio.run(_pump(Reader(chunks), "stdout", lambda _s, data: got.append(data)))  # type: ignore[arg-type]
    return got


def test_a_flood_on_one_line_is_passed_on_in_bounded_pieces() -> None:
    chunk = b"x" * 65536
    got = _pumped([chunk] * 160 + [b"end\n"])  # 10 MiB without a newline
    assert b"".join(got) == chunk * 160 + b"end\n"
    assert max(len(g) for g in got) <= LONG_LINE + 65536


def test_whole_lines_go_on_at_once_and_a_partial_one_at_the_end() -> None:
    assert _pumped([b"a\nb", b"c\nd"]) == [b"a\n", b"bc\n", b"d"]
