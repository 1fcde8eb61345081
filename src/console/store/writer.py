"""Batched appends: events queue up and a writer thread commits them every few milliseconds.

A flood of output then costs one commit per batch, not one per line, and the asyncio loop
never waits on the disk. A SIGKILL loses at most what arrived since the last commit.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from console.events import Event
from console.store.sqlite import SQLiteStore

_STOP = object()


class BatchWriter:
    """Appends events to the store from a thread of its own, in batches."""

    def __init__(self, path: Path, interval: float = 0.05, max_batch: int = 5000) -> None:
        self._store = SQLiteStore(path)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._interval, self._max_batch = interval, max_batch
        self._error: BaseException | None = None
        self._flushed = threading.Condition()
        self._submitted = self._committed = 0
        self._thread = threading.Thread(target=self._loop, name="store-writer", daemon=True)
        self._thread.start()

    def put(self, event: Event) -> None:
        """Queue an event; it is committed within one interval."""
        if self._error:
            raise self._error
        self._submitted += 1
        self._queue.put(event)

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
            deadline = time.monotonic() + self._interval
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            self._commit(batch)

    def _commit(self, batch: list[Event]) -> None:
        try:
            self._store.append(batch)
        except BaseException as exc:  # surfaced to the engine on its next put or flush
            self._error = exc
        with self._flushed:
            self._committed += len(batch)
            self._flushed.notify_all()
