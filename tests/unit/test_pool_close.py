"""The end of a run: every connection is closed, and none can keep the runner waiting."""

from __future__ import annotations

import asyncio
import contextlib

from console.transport import ssh
from console.transport.ssh import SshPool


class Peer:
    """A connection as the pool sees it; `answers` says whether the far end ever closes."""

    def __init__(self, answers: bool = True) -> None:
        self.answers = answers
        self.closed = self.aborted = False
        self._gone = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        if self.answers:
            self._gone.set()

    def abort(self) -> None:
        self.aborted = True
        self._gone.set()

    async def wait_closed(self) -> None:
        await self._gone.wait()


async def _ready(peer: Peer) -> Peer:
    return peer


async def _stubborn(peer: Peer) -> Peer:
    """A handshake that finishes even though it was cancelled, as wait_for can let happen."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(30)
    return peer


def _closed_by_pool(tasks: dict[str, object]) -> None:
    async def go() -> None:
        pool = SshPool()
        for name, make in tasks.items():
            pool._conns[name] = asyncio.ensure_future(make)  # type: ignore[arg-type]
        await asyncio.sleep(0)
        await asyncio.wait_for(pool.close(), ssh.CLOSE_GRACE * 3)

    asyncio.run(go())


def test_a_peer_that_never_answers_the_close_is_cut_and_the_rest_close_normally(
    monkeypatch,
) -> None:
    monkeypatch.setattr(ssh, "CLOSE_GRACE", 0.2)
    polite, silent = Peer(), Peer(answers=False)
    _closed_by_pool({"a": _ready(polite), "b": _ready(silent)})
    assert polite.closed and silent.closed
    assert silent.aborted


def test_a_connection_handed_back_after_its_cancel_is_still_closed(monkeypatch) -> None:
    monkeypatch.setattr(ssh, "CLOSE_GRACE", 0.2)
    late = Peer()
    _closed_by_pool({"late": _stubborn(late)})
    assert late.closed and not late.aborted
