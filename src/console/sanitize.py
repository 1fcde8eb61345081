"""Make untrusted remote output safe for a terminal: colours may pass, nothing else does.

Raw bytes are stored untouched; every view passes them through a `Sanitizer`, which keeps
state across chunks so that an escape sequence split between two reads is still removed.
Colours may not hide text either: conceal is dropped, and while the host's foreground and
background would be too alike to read, both go back to the terminal's defaults.
"""

from __future__ import annotations

import codecs
import re

from console import sgr

_SGR = re.compile(r"^[0-9;:]*$")
_VISIBLE_ESCAPE = frozenset(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x061C]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
MAX_SEQUENCE = 4096
"""Characters of an escape sequence's payload kept; a control string longer than this is
dropped and what follows is shown as text."""

DROPPED = "␛…"
"""Shown where an over-long control string was cut off."""

_TEXT, _ESC, _CSI, _STRING, _STRING_ESC = range(5)
_STRING_STARTERS = {"]": "osc", "P": "dcs", "_": "apc", "^": "pm", "X": "sos"}
_C1_STRINGS = {0x9D: "osc", 0x90: "dcs", 0x9F: "apc", 0x9E: "pm", 0x98: "sos"}


class Sanitizer:
    """Turns a stream of raw output bytes into text that cannot control the terminal."""

    def __init__(self, keep_colour: bool = True) -> None:
        self.keep_colour = keep_colour
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._state = _TEXT
        self._buffer: list[str] = []
        self._string_kind = ""
        self._pending_cr = False
        self._wanted = sgr.DEFAULT
        """The colours the host has set, as it meant them."""
        self._shown = sgr.DEFAULT
        """The colours set by what this sanitizer emitted: the host's, unless they would hide text."""

    def feed(self, data: bytes) -> str:
        """Sanitize the next chunk of a stream."""
        return self._run(self._decoder.decode(data))

    def finish(self) -> str:
        """Flush what a truncated stream left half-decoded."""
        text = self._run(self._decoder.decode(b"", final=True))
        if self._pending_cr:
            self._pending_cr = False
            text += "␍"
        return text

    def _run(self, text: str) -> str:
        out: list[str] = []
        for ch in text:
            if self._pending_cr:
                self._pending_cr = False
                if ch != "\n":
                    out.append("␍")
            self._step(ch, out)
        return "".join(out)

    def _step(self, ch: str, out: list[str]) -> None:
        state = self._state
        if state == _TEXT:
            self._text(ch, out)
        elif state == _ESC:
            self._escape(ch)
        elif state == _CSI:
            self._csi(ch, out)
        else:
            self._string(ch, out)

    def _text(self, ch: str, out: list[str]) -> None:
        code = ord(ch)
        if ch == "\x1b":
            self._state = _ESC
        elif code == 0x9B:
            self._state, self._buffer = _CSI, []
        elif code in _C1_STRINGS:
            self._state, self._string_kind, self._buffer = _STRING, _C1_STRINGS[code], []
        elif ch == "\r":
            self._pending_cr = True
        elif ch in "\t\n" or (code >= 0x20 and code != 0x7F and not 0x80 <= code <= 0x9F):
            out.append(f"<U+{code:04X}>" if code in _VISIBLE_ESCAPE else ch)
        elif code < 0x20:
            out.append(chr(0x2400 + code))  # a visible picture of the control, never its effect
        elif code == 0x7F:
            out.append("␡")

    def _escape(self, ch: str) -> None:
        if ch == "[":
            self._state, self._buffer = _CSI, []
        elif ch in _STRING_STARTERS:
            self._state, self._string_kind, self._buffer = _STRING, _STRING_STARTERS[ch], []
        else:
            self._state = _TEXT  # a two-character escape (ESC 7, ESC c, ...): dropped whole

    def _csi(self, ch: str, out: list[str]) -> None:
        if "\x40" <= ch <= "\x7e":
            params = "".join(self._buffer)
            if ch == "m" and self.keep_colour and _SGR.match(params):
                self._colours(params, out)
            self._state, self._buffer = _TEXT, []
        elif ch == "\x1b" or ord(ch) < 0x20:
            self._state, self._buffer = (_ESC if ch == "\x1b" else _TEXT), []
        elif len(self._buffer) < MAX_SEQUENCE:
            self._buffer.append(ch)

    def _colours(self, params: str, out: list[str]) -> None:
        """Emit the host's SGR sequence, changed where it would hide text."""
        self._wanted, self._shown, sequence = sgr.step(self._wanted, self._shown, params)
        if sequence is not None:
            out.append(sequence)

    def _string(self, ch: str, out: list[str]) -> None:
        if self._state == _STRING_ESC:
            if ch == "\\":
                self._end_string(out)
                return
            self._state = _STRING
        if ch == "\x07" or ord(ch) == 0x9C:
            self._end_string(out)
        elif ch == "\x1b":
            self._state = _STRING_ESC
        elif len(self._buffer) < MAX_SEQUENCE:
            self._buffer.append(ch)
        else:  # an endless control string must not swallow the output after it
            self._state, self._buffer = _TEXT, []
            out.append(DROPPED)

    def _end_string(self, out: list[str]) -> None:
        payload = "".join(self._buffer)
        if self._string_kind == "osc" and payload.startswith("8;"):
            url = payload.split(";", 2)[-1]
            if url:
                out.append(Sanitizer(keep_colour=False).feed(f"<{url}> ".encode()))
        self._state, self._buffer = _TEXT, []


def sanitize(data: bytes, keep_colour: bool = True) -> str:
    """Sanitize one complete piece of output."""
    cleaner = Sanitizer(keep_colour)
    return cleaner.feed(data) + cleaner.finish()


def printable(text: str) -> str:
    """Make a short untrusted string (a host name, a message) safe to print on one line."""
    return sanitize(text.encode("utf-8", "replace"), keep_colour=False).replace("\n", "␤")
