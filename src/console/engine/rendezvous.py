"""Where the hosts of a stage meet at a step that sends one file to many, so one read serves all.

A step that sends a file does not start on a host at once: it waits until every host running
the stage that still has the step ahead of it has either reached it or dropped out (failed an
earlier step, or been cancelled). Then the destinations that want the same bytes are sent
them together, from one read of the source. Hosts that reach the step later (a retry) meet
again among themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from console.errors import TransferFailed
from console.transport.landing import Landing

Start = Callable[[list[Landing]], Awaitable[None]]
"""Sends one source to the landings gathered; each landing ends done, put in place or failed."""


@dataclass(eq=False)
class _Group:
    start: Start
    landings: list[Landing] = field(default_factory=list)


class Rendezvous:
    """Tracks where each host of a stage is, and starts a group once nobody else can join it."""

    def __init__(self) -> None:
        self._at: dict[str, int] = {}
        self._ahead: dict[str, frozenset[int]] = {}
        self._waiting: dict[str, int] = {}
        self._groups: dict[tuple[int, Hashable], _Group] = {}
        self._running: set[asyncio.Task[None]] = set()

    def enter(self, host: str, indices: list[int]) -> None:
        """A host starts the stage; `indices` are the places of the steps it will run."""
        self._ahead[host] = frozenset(indices)
        self._at[host] = -1

    def at(self, host: str, index: int) -> None:
        """A host goes on to the step at `index` of its stage."""
        self._at[host] = index
        self._release()

    def leave(self, host: str) -> None:
        """A host is done with the stage (finished, failed or cancelled)."""
        self._at.pop(host, None)
        self._ahead.pop(host, None)
        self._waiting.pop(host, None)
        self._release()

    async def meet(
        self, host: str, index: int, key: Hashable, landing: Landing, start: Start
    ) -> None:
        """Wait at the step with the others that want the same bytes (`key`) until the group is
        sent; returns when this host's landing is done."""
        group = self._groups.setdefault((index, key), _Group(start))
        group.landings.append(landing)
        self._waiting[host] = index
        self._release()
        try:
            await landing.done.wait()
        except asyncio.CancelledError:
            landing.dropped = True
            if landing in group.landings and (index, key) in self._groups:
                group.landings.remove(landing)  # not started yet: it simply leaves
            raise
        finally:
            self._waiting.pop(host, None)

    def _release(self) -> None:
        for (index, key), group in list(self._groups.items()):
            if not self._ready(index):
                continue
            del self._groups[(index, key)]
            if group.landings:
                task = asyncio.ensure_future(together(group.start, group.landings))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    def _ready(self, index: int) -> bool:
        """Nobody who has the step at `index` ahead of them is still on their way to it."""
        for host, place in self._at.items():
            if self._waiting.get(host) == index:
                continue
            if place <= index and index in self._ahead.get(host, frozenset()):
                return False
        return True


async def together(start: Start, landings: list[Landing]) -> None:
    """Send to the landings; whatever happens, each ends done (failed, if nothing said why)."""
    try:
        await start(landings)
    except Exception as exc:  # the group's failure is each landing's outcome
        for landing in landings:
            if landing.live:
                landing.fail(exc)
    finally:
        for landing in landings:
            if landing.error is None and not landing.dropped and not landing.delivered:
                landing.fail(TransferFailed("the transfer ended without an outcome"))
            landing.done.set()


async def alone(landing: Landing, start: Start) -> None:
    """Send to one landing outside a stage's fan-out (a rollback step)."""
    task = asyncio.ensure_future(together(start, [landing]))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        landing.dropped = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task  # it ends once it sees the landing dropped
        raise
