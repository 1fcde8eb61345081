"""Messages that carry store events to the app; bursts collapse into one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from console.store.base import StoredEvent


class EventsArrived(Message):
    """New events (without output bytes) from any run in the store."""

    def __init__(self, events: list[StoredEvent]) -> None:
        super().__init__()
        self.events = events
