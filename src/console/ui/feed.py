"""Follow the store from a thread: new events of every run become messages for the app."""

from __future__ import annotations

import threading
from collections.abc import Callable

from console import events as ev
from console.paths import StoreAddress
from console.store import open_store
from console.store.base import StoredEvent

POLL_SECONDS = 0.1
BATCH = 10_000
"""Events read per poll at most."""


class StoreFeed:
    """Reads events other processes append (runs, decisions) and hands them to a callback."""

    def __init__(self, path: StoreAddress, deliver: Callable[[list[StoredEvent]], None]) -> None:
        self._path, self._deliver = path, deliver
        self._stop = threading.Event()
        self.last_id = 0

    def backlog(self, runs: int = 200) -> list[StoredEvent]:
        """The events of the newest runs, to fold before following."""
        store = open_store(self._path)
        try:
            self.last_id = store.last_id()
            found: list[StoredEvent] = []
            for summary in reversed(store.runs(limit=runs)):
                found.extend(store.read(summary.id, exclude=(ev.Output.kind,)))
            return found
        finally:
            store.close()

    def run(self) -> None:
        """Follow until stopped (a team store says when there is news; a file is polled);
        meant for a thread worker."""
        store = open_store(self._path)
        try:
            while not self._stop.is_set():
                store.wait_for_news(POLL_SECONDS, self._stop)
                # Read up to the newest id and move past it even when nothing matched: a flood
                # of output must not be scanned again on every poll.
                newest = store.last_id()
                batch = store.read_all(self.last_id, (ev.Output.kind,), BATCH, until=newest)
                if len(batch) == BATCH:
                    newest = batch[-1].id  # more to come: carry on from the last one read
                self.last_id = newest
                if batch:
                    self._deliver(batch)
        finally:
            store.close()

    def stop(self) -> None:
        """Ask the polling loop to end."""
        self._stop.set()
