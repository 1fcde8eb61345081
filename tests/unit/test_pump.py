"""The transport's output pump: lines as they come, and no line held whole however long."""

from __future__ import annotations

import asyncio

from console.transport.ssh import (
    IN_FLIGHT,
    LONG_LINE,
    MIN_WINDOW,
    WINDOW,
    SshPool,
    _Flow,
    _no_wait,
    _pump,
)


class Reader:
    """Chunks as an SSH channel would deliver them, then the end."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.sizes: list[int] = []

    async def read(self, size: int) -> bytes:
        self.sizes.append(size)
        return self.chunks.pop(0)[:size] if self.chunks else b""


def _pumped(chunks: list[bytes]) -> list[bytes]:
    got: list[bytes] = []
    flow = _Flow(_no_wait, WINDOW)
    asyncio.run(_pump(Reader(chunks), "stdout", lambda _s, data: got.append(data), flow))  # type: ignore[arg-type]
    return got


def test_a_flood_on_one_line_is_passed_on_in_bounded_pieces() -> None:
    chunk = b"x" * 65536
    got = _pumped([chunk] * 160 + [b"end\n"])  # 10 MiB without a newline
    assert b"".join(got) == chunk * 160 + b"end\n"
    assert max(len(g) for g in got) <= LONG_LINE


def test_a_read_of_many_lines_is_handed_on_in_whole_lines_waiting_for_room_after_each() -> None:
    lines = b"".join(b"line %07d of a long read\n" % i for i in range(70_000))  # a window
    got: list[bytes] = []
    waits: list[int] = []

    async def pace() -> None:
        waits.append(len(got))

    flow = _Flow(pace, WINDOW)
    asyncio.run(_pump(Reader([lines]), "stdout", lambda _s, data: got.append(data), flow))  # type: ignore[arg-type]
    assert b"".join(got) == lines
    assert all(g.endswith(b"\n") and len(g) <= LONG_LINE for g in got)
    assert waits == list(range(1, len(got) + 1))  # room is asked for before each next piece


def test_whole_lines_go_on_at_once_and_a_partial_one_at_the_end() -> None:
    assert _pumped([b"a\nb", b"c\nd"]) == [b"a\n", b"bc\n", b"d"]


def test_each_read_takes_the_channels_whole_window() -> None:
    reader = Reader([b"a\n", b"b\n"])
    flow = _Flow(_no_wait, 300_000)
    asyncio.run(_pump(reader, "stdout", lambda _s, _d: None, flow))  # type: ignore[arg-type]
    assert reader.sizes == [300_000] * 3


def test_windows_shrink_as_more_channels_are_expected_so_their_sum_stays_bounded() -> None:
    pool = SshPool()
    assert pool._window == WINDOW
    pool.expect(10)  # a few hosts keep the full window each
    assert pool._window == WINDOW
    for channels in (100, 500):
        pool.expect(channels)
        assert pool._window * channels <= IN_FLIGHT
    pool.expect(5000)
    assert pool._window == MIN_WINDOW
