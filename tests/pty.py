"""Drive a full-screen program through a real pseudo-terminal: keys in, screen text out, timed."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence

_ESCAPES = re.compile(
    rb"\x1b\[[0-9;?<>=!]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1bP[^\x1b]*\x1b\\"  # DCS
    rb"|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]"
)


class Terminal:
    """A program running on a pty of a given size, its output collected by a reader thread."""

    def __init__(self, argv: Sequence[str], size: tuple[int, int] = (160, 48), **env: str) -> None:
        master, slave = os.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        environ = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "", "LINES": "", **env}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={k: v for k, v in environ.items() if v != ""},
            start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self._chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._chunks.append((time.perf_counter(), data))
                self._lock.notify_all()

    def wait_for(self, token: str, since: float, timeout: float = 30.0) -> float:
        """When `token` first showed on screen after `since` (perf_counter seconds).

        Each chunk is searched with the tail of the one before it (a token or an escape
        sequence may be split between two reads), so the search keeps up with a flood.
        """
        wanted = token.encode()
        deadline = time.perf_counter() + timeout
        seen, carry = 0, b""
        while time.perf_counter() < deadline:
            with self._lock:  # woken by the reader: no polling to take the CPU from the program
                if len(self._chunks) <= seen:
                    self._lock.wait(max(0.0, deadline - time.perf_counter()))
                fresh = self._chunks[seen:]
                seen += len(fresh)
            for at, data in fresh:
                if at < since:
                    continue
                window = carry + data
                if wanted in _ESCAPES.sub(b"", window):
                    return at
                carry = window[-512:]
        raise TimeoutError(f"'{token}' did not appear within {timeout} s")

    def press(self, keys: str) -> float:
        """Type keys (forgetting output collected so far); the moment they were sent."""
        self.drain()
        now = time.perf_counter()
        os.write(self._master, keys.encode())
        return now

    def drain(self) -> None:
        """Forget collected output (keeps memory flat over long runs)."""
        with self._lock:
            self._chunks.clear()

    def memory_kib(self, field: str = "VmRSS") -> int:
        """A memory figure of the program from /proc (VmRSS now, VmHWM the peak)."""
        return memory_kib(self.process.pid, field)

    def close(self) -> None:
        """End the program and its process group."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(5)
        except ProcessLookupError:
            self.process.wait()  # it had ended already (a test hung it up)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        os.close(self._master)


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process from /proc (VmRSS now, VmHWM the peak); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    raise ValueError(field)


def onto_first_cell(term: Terminal, first: str, second: str) -> int:
    """Move the run matrix's cursor onto the first host's step cell (the logs pane names it
    `first`, or `second` for the next row); the row it is on."""
    try:
        term.wait_for(first, term.press("l"), timeout=5)
        return 0
    except TimeoutError:  # the cursor was already on the step column
        term.wait_for(second, term.press("j"), timeout=10)
        return 1
