"""Batched appends: events queue up and a writer thread commits them every few milliseconds.

A flood of output then costs one commit per batch, not one per line, and the asyncio loop
never waits on the disk. A SIGKILL loses at most what arrived since the last commit. Output
that arrives faster than the disk takes it waits at the source (`caught_up`), not in memory.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time

from console.events import Event, Output
from console.store.base import Store

_STOP = object()

BACKLOG = 32 << 20
"""Bytes of output queued and not yet committed above which the sources are asked to wait."""

BATCH_BYTES = 8 << 20
"""Bytes of output in one commit, so that a batch of long pieces stays a few megabytes."""


class BatchWriter:
    """Appends events to a store (a connection of the writer's own, which it closes) from a
    thread of its own, in batches."""

    def __init__(self, store: Store, interval: float = 0.05, max_batch: int = 5000) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._interval, self._max_batch = interval, max_batch
        self._error: BaseException | None = None
        self._flushed = threading.Condition()
        self._submitted = self._committed = 0
        # Two counters, each written by one thread only, so that neither update can be lost.
        self._bytes_in = self._bytes_out = 0
        self._thread = threading.Thread(target=self._loop, name="store-writer", daemon=True)
        self._thread.start()

    def put(self, event: Event) -> None:
        """Queue an event; it is committed within one interval."""
        if self._error:
            raise self._error
        self._submitted += 1
        if isinstance(event, Output):
            self._bytes_in += len(event.data)
        self._queue.put(event)

    async def caught_up(self) -> None:
        """Wait while more output is queued than the backlog allows (the disk sets the pace)."""
        while self._bytes_in - self._bytes_out > BACKLOG and self._error is None:
            await asyncio.sleep(0.005)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is committed."""
        target = self._submitted
        with self._flushed:
            self._flushed.wait_for(
                lambda: self._committed >= target or self._error is not None, timeout
            )
        if self._error:
            raise self._error

    def close(self) -> None:
        """Commit what is queued and stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()
        self._store.close()
        if self._error:
            raise self._error

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            batch: list[Event] = []
            size = 0
            deadline = time.monotonic() + self._interval
            while len(batch) < self._max_batch and size < BATCH_BYTES:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                if isinstance(item, Output):
                    size += len(item.data)
            self._commit(batch, size)

    def _commit(self, batch: list[Event], size: int) -> None:
        try:
            self._store.append(batch)
        except BaseException as exc:  # surfaced to the engine on its next put or flush
            self._error = exc
        self._bytes_out += size
        with self._flushed:
            self._committed += len(batch)
            self._flushed.notify_all()
