"""Addresses that misbehave the way networks do: one that never speaks, one that never answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP (the kernel completes the handshake) and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@contextmanager
def black_hole() -> Iterator[int]:
    """A port whose SYNs go unanswered, as behind a firewall: a listener whose accept queue is
    full and never drained, so the kernel drops further handshakes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    try:
        yield listener.getsockname()[1]
    finally:
        for s in [listener, *fillers]:
            s.close()
