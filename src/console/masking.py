"""Masking a run's secrets out of every byte of output, however the host spells them: as they
are, line by line, URL- or JSON-escaped, base64 at any offset and wrapped at any width, and hex
bare or in the dumps of xxd, od and hexdump; across chunk boundaries, holding back only what
could still begin one."""

from __future__ import annotations

import base64
import bisect
import functools
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

MaskKind = Literal["plain", "base64", "hex"]

PIECE = 48
"""Bytes of a secret looked for at once in base64 and hex: a longer secret is looked for in
pieces of at most this many bytes (each masked wherever it shows), so that the patterns stay
small however long the secret."""

WRAPPED = 16
"""The shortest line of wrapped base64 recognised as such while it waits for its next line."""


@dataclass(frozen=True)
class Form:
    """One way a secret may show up in output, and what replaces it.

    `kind` says how `text` is looked for: "plain" as it is; "base64" as characters of a base64
    stream, line breaks anywhere among them, with a character that carries part of the secret
    before it (`edges[0]`) or after it (`edges[1]`) masked too; "hex" as the hex of the bytes in
    `text`, in either case, bare or as `xxd`, `xxd -p`, `od -tx1` and `hexdump -C` print them.
    """

    text: bytes
    mask: bytes
    kind: MaskKind = "plain"
    edges: tuple[bool, bool] = (False, False)


def forms(name: str, value: str) -> list[Form]:
    """The spellings of a secret that are masked: as it is, each line of a multi-line one,
    URL-encoded and JSON-escaped; and its bytes in base64 (at any of the three offsets in the
    stream, either alphabet, wrapped or not) and in hex (bare, wrapped or dumped)."""
    raw = value.encode()
    spellings = {raw}
    spellings.update(line.encode() for line in value.splitlines() if len(line) >= 4)
    spellings.add(urllib.parse.quote(value, safe="").encode())
    spellings.add(urllib.parse.quote_plus(value).encode())
    spellings.add(json.dumps(value)[1:-1].encode())
    mask = f"<secret {name} masked>".encode()
    found = [Form(s, mask) for s in sorted(spellings, key=len, reverse=True) if len(s) >= 3]
    if len(raw) >= 3:
        for piece in _pieces(raw):
            found += [*_base64_forms(piece, mask), Form(piece, mask, "hex")]
    return found


def _pieces(raw: bytes) -> list[bytes]:
    """`raw` cut into as few pieces of at most PIECE bytes as can be, of about equal length."""
    count = -(-len(raw) // PIECE)
    size = -(-len(raw) // count)
    return [raw[at : at + size] for at in range(0, len(raw), size)]


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _base64_forms(raw: bytes, mask: bytes) -> list[Form]:
    """For each offset of `raw` in a base64 stream (0, 1 or 2 bytes past a group's start), the
    characters its bits alone decide, in both alphabets, and whether a character shared with
    the bytes around it comes before or after them."""
    found = {}
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw)
        first, end = -(-8 * offset // 6), 8 * (offset + len(raw)) // 6
        edges = (8 * offset % 6 != 0, 8 * (offset + len(raw)) % 6 != 0)
        for text in (encoded[first:end], encoded[first:end].translate(_URLSAFE)):
            found[text, edges] = Form(text, mask, "base64", edges)
    return [f for f in found.values() if len(f.text) >= 3]


Span = tuple[int, int, bytes]
"""Where a mask goes in a text (start, end) and the mask."""


@dataclass(frozen=True)
class Masks:
    """Every form of a run's secrets, made ready to look for: built once per run, so that each
    chunk of output costs a few searches, not a scan per spelling."""

    forms: list[Form]
    plain: _Plain
    base64: _Base64
    hexes: tuple[_Hex, ...]

    @classmethod
    def of(cls, found: list[Form]) -> Masks:
        """The masks for these forms."""
        return cls(
            found,
            _Plain([f for f in found if f.kind == "plain"]),
            _Base64([f for f in found if f.kind == "base64"]),
            tuple(_Hex(f) for f in found if f.kind == "hex"),
        )

    def scan(self, text: bytes, final: bool, head: bytes = b"") -> tuple[list[Span], int]:
        """Where masks go in `text`, and where the end of it that could still begin (or end)
        a secret starts (`len(text)` at the end of the stream, where nothing waits); `head` is
        the beginning of the line `text` begins in, passed on already."""
        scans = [self.plain.scan(text, final), self.base64.scan(text, final)]
        scans += [one.scan(text, final, head) for one in self.hexes]
        merged = _merged([span for spans, _ in scans for span in spans])
        cut = min(unsure for _, unsure in scans)
        for start, end, _ in merged:  # a mask is never cut through: it waits whole
            if start < cut < end:
                cut = start
        return merged, cut


class Masker:
    """Masks every form of the run's secrets in one stream of output, across chunks.

    The end of a chunk that could be the start of a secret is held back until the next chunk
    (or the end of the stream) says whether it is one; the rest is passed on at once.
    """

    def __init__(self, masks: Masks) -> None:
        self._masks = masks
        self._held = b""
        self._head = b""  # the beginning of the line passed on last: is it a dump's?

    def feed(self, data: bytes) -> bytes:
        """The chunk, masked, less any tail that might begin a secret."""
        text = self._held + data
        spans, cut = self._masks.scan(text, False, self._head)
        self._held = text[cut:]
        self._head = _line_head(self._head, text, cut)
        return _render(text, spans, cut)

    def finish(self) -> bytes:
        """What was held back, masked, at the end of the stream."""
        text, self._held = self._held, b""
        spans, _ = self._masks.scan(text, True, self._head)
        return _render(text, spans, len(text))


HEAD = 128
"""Bytes of a line's beginning kept to tell a dump line from others (a dump's offset and the
hex before its characters column take less)."""


def _line_head(head: bytes, text: bytes, end: int) -> bytes:
    """The first HEAD + 1 bytes of the line `text[:end]` ends in (`head` being those of the line
    it began in)."""
    begin = text.rfind(b"\n", 0, end) + 1
    return (text[begin:end] if begin else head + text[:end])[: HEAD + 1]


def mask(data: bytes, masks: list[Form]) -> bytes:
    """Every form replaced in a text complete in itself (a message, say)."""
    spans, _ = _masks_of(tuple(masks)).scan(data, final=True)
    return _render(data, spans, len(data))


@functools.lru_cache(maxsize=4)
def _masks_of(found: tuple[Form, ...]) -> Masks:
    """The masks for these forms, built once for the messages of a run."""
    return Masks.of(list(found))


def _merged(spans: list[Span]) -> list[Span]:
    """The spans in order, those that overlap or touch made one (with the first one's mask)."""
    merged: list[Span] = []
    for start, end, mask in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
        else:
            merged.append((start, end, mask))
    return merged


def _render(text: bytes, spans: list[Span], cut: int) -> bytes:
    """`text[:cut]` with each span in it masked."""
    if not spans:
        return text[:cut]
    parts, at = [], 0
    for start, end, mask in spans:
        if end > cut:
            break
        parts += [text[at:start], _covered(text[start:end], mask)]
        at = end
    parts.append(text[at:cut])
    return b"".join(parts)


def _covered(hidden: bytes, mask: bytes) -> bytes:
    """The mask in place of `hidden`, once for each of its lines: line breaks are kept, so a
    masked dump or wrapped block keeps its lines."""
    if b"\n" not in hidden:
        return mask + b"\r" if hidden.endswith(b"\r") else mask
    lines = hidden.split(b"\n")
    return b"\n".join(_covered(line, mask) if line.strip(b"\r") else line for line in lines)


def _finds(text: bytes, part: bytes) -> Iterator[int]:
    """Every place `part` starts in `text`, overlapping ones included."""
    at = text.find(part)
    while at >= 0:
        yield at
        at = text.find(part, at + 1)


def _by_last_byte(prefixes: frozenset[bytes]) -> dict[int, tuple[int, ...]]:
    """The lengths of the prefixes, longest first, grouped by their last byte: a text's end is
    looked up only at lengths that end in its last byte."""
    lengths: dict[int, set[int]] = {}
    for prefix in prefixes:
        lengths.setdefault(prefix[-1], set()).add(len(prefix))
    return {byte: tuple(sorted(found, reverse=True)) for byte, found in lengths.items()}


class _Plain:
    """Spellings looked for as they are."""

    def __init__(self, found: list[Form]) -> None:
        self._forms = sorted(found, key=lambda f: len(f.text), reverse=True)
        self._prefixes = frozenset(f.text[:k] for f in self._forms for k in range(1, len(f.text)))
        self._lengths = _by_last_byte(self._prefixes)

    def scan(self, text: bytes, final: bool) -> tuple[list[Span], int]:
        """Every spelling in `text`, and where a last part that begins one starts."""
        found = [f for f in self._forms if f.text in text]
        spans = [(at, at + len(f.text), f.mask) for f in found for at in _finds(text, f.text)]
        return spans, len(text) if final or not text else self._begun(text)

    def _begun(self, text: bytes) -> int:
        for keep in self._lengths.get(text[-1], ()):
            if keep <= len(text) and text[-keep:] in self._prefixes:
                return len(text) - keep
        return len(text)


_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
"""Both alphabets' characters."""
_IN_BASE64 = frozenset(_BASE64)
_BREAKS = b"\r\n"
_BREAK = re.compile(b"[\r\n]")
_STREAM = _BASE64 + _BREAKS


class _Base64:
    """Base64 characters of the secrets, looked for in the text with its line breaks taken out,
    so that wrapping at any width (76 for `base64`, 64 for PEM, `\\n` or `\\r\\n`) hides nothing."""

    def __init__(self, found: list[Form]) -> None:
        self._forms = found
        self._prefixes = frozenset(
            f.text[:k] for f in found for k in range(1, len(f.text) + f.edges[1])
        )  # a whole form with a shared character after it waits for that character
        self._lengths = _by_last_byte(self._prefixes)
        self._leads = any(f.edges[0] for f in found)

    def scan(self, text: bytes, final: bool) -> tuple[list[Span], int]:
        """Every form in `text`, with its shared characters, and where an end that could begin
        one starts."""
        flat = text.translate(None, _BREAKS)
        hits = [(at, f) for f in self._forms if f.text in flat for at in _finds(flat, f.text)]
        spans = _Unwrapped(text).spans(flat, hits) if hits else []
        if final:
            return spans, len(text)
        return spans, min(self._begun(text), self._shared(text))

    def _begun(self, text: bytes) -> int:
        """Where the longest end of `text` that begins a form starts, line breaks ignored (as
        long as it can be wrapped base64)."""
        run = len(text) - len(text.rstrip(_STREAM))
        flat = text[len(text) - run :].translate(None, _BREAKS)
        for keep in self._lengths.get(flat[-1], ()) if flat else ():
            if keep <= len(flat) and flat[-keep:] in self._prefixes:
                start = _last_characters(text, keep)
                if not _BREAK.search(text, start) or _wrapped(text, start, len(text) - run):
                    return start
        return len(text)

    def _shared(self, text: bytes) -> int:
        """Where the last character of a base64 stream the text ends in starts: it may share
        bits with a secret's first byte, so it waits for the next chunk."""
        end = len(text) - text.endswith(b"\n") - text.endswith(b"\r\n")
        if not self._leads or end < WRAPPED or text[end - 1] not in _IN_BASE64:
            return len(text)
        begin = text.rfind(b"\n", 0, end) + 1 if end < len(text) else end - WRAPPED
        if end - begin >= WRAPPED and not text[begin:end].strip(_BASE64):
            return end - 1
        return len(text)


def _last_characters(text: bytes, count: int) -> int:
    """Where the last `count` characters of `text` that are not line breaks begin."""
    at = len(text)
    while count:
        at -= 1
        count -= text[at] not in _BREAKS
    return at


def _wrapped(text: bytes, start: int, run: int) -> bool:
    """Whether `text[start:]` can be the beginning of wrapped base64: its first line (from the
    line's own start, which must be in the run of base64 and line breaks that ends the text
    from `run` on) and each one after it but the last, WRAPPED characters or more."""
    begin = text.rfind(b"\n", 0, start) + 1
    lines = text[begin:].split(b"\n")[:-1]
    return begin >= run and all(len(line.rstrip(b"\r")) >= WRAPPED for line in lines)


class _Unwrapped:
    """Where each character of a text with its line breaks taken out stood in the text."""

    def __init__(self, text: bytes) -> None:
        self._shifts = [at - n for n, at in enumerate(m.start() for m in _BREAK.finditer(text))]

    def at(self, index: int) -> int:
        """The place in the text of the character at `index` once line breaks are out."""
        return index + bisect.bisect_right(self._shifts, index)

    def spans(self, flat: bytes, hits: list[tuple[int, Form]]) -> list[Span]:
        """The spans in the text of forms found at these places in `flat`, each with the
        characters it shares with the bytes around it."""
        spans = []
        for at, form in hits:
            start, end = at, at + len(form.text)
            start -= form.edges[0] and at > 0 and flat[at - 1] in _IN_BASE64
            end += form.edges[1] and end < len(flat) and flat[end] in _IN_BASE64
            spans.append((self.at(start), self.at(end - 1) + 1, form.mask))
        return spans


_SPACES = rb" {0,48}"
_OFFSET = rb"[0-9a-fA-F]{7,8}[: ]"
_LINE_END = rb"(?: {2,48}[ -~]{1,64})?" + _SPACES + rb"\r?\n(?:" + _OFFSET + rb")?" + _SPACES
_INLINE = rb" {0,2}"
_BETWEEN = rb"(?:" + _LINE_END + rb"|" + _INLINE + rb")"
"""What a dump puts between two bytes: nothing or spaces on a line; at a line's end, the
characters column, the line break, and the next line's offset."""
_BETWEEN_BEGUN = (
    rb"(?: {2,48}[ -~]{1,64})?"
    + _SPACES
    + rb"(?:\r|\r?\n(?:[0-9a-fA-F]{0,8}[: ]?)?"
    + _SPACES
    + rb")?"
)
"""Every beginning of what a dump puts between two bytes."""
_PAIR_REACH = 2 + 48 + 64 + 48 + 2 + 9 + 48
"""The most a byte and what follows it take in a dump."""
_DUMP_HEAD = re.compile(rb"(?:" + _OFFSET + rb" *)?[ 0-9a-fA-F]*")
_DUMP_REST = 256
"""Bytes after a secret's hex that the rest of its dump line is waited for: a dump's columns
take less, so a longer line is no dump's, and it is masked as far as it has come."""
_DUMP_OFFSET = re.compile(_OFFSET)


class _Hex:
    """A secret's bytes in hex: bare, `xxd -p` (wrapped), `od -An -tx1` and `od -tx1` (spaced,
    with offsets), `xxd` and `hexdump -C` (with a column of the characters, which shows the
    secret itself: a dump line that shows any of the secret is masked to its end)."""

    def __init__(self, form: Form) -> None:
        pairs = [(_digit(byte >> 4), _digit(byte & 15)) for byte in form.text]
        self._mask = form.mask
        self._whole = re.compile(_BETWEEN.join(a + b for a, b in pairs))
        self._inline = re.compile(_INLINE.join(a + b for a, b in pairs))
        self._begun = re.compile(_beginnings(pairs, _BETWEEN, _BETWEEN_BEGUN) + rb"\Z")
        self._begun_inline = re.compile(_beginnings(pairs, _INLINE, _INLINE) + rb"\Z")
        self._reach = len(pairs) * _PAIR_REACH

    def scan(self, text: bytes, final: bool, head: bytes) -> tuple[list[Span], int]:
        """Every dump of the secret in `text`, to the end of its last line if that is a dump
        line, and where an end that could begin one starts."""
        spans: list[Span] = []
        for start, end in self._matches(text, head):
            stop = _dump_line_end(text, end, final, head)
            if stop is None:  # the rest of the line, characters column and all, is to come
                return spans, min(start, self._begun_at(text, head))
            spans.append((start, stop, self._mask))
        return spans, len(text) if final else self._begun_at(text, head)

    def _matches(self, text: bytes, head: bytes) -> Iterator[tuple[int, int]]:
        """Where the secret's hex is, across line breaks only inside a dump."""
        at = 0
        while found := self._whole.search(text, at):
            start, end = found.span()
            if b"\n" in text[start:end] and not _dump_head(text, start, head):
                inline = self._inline.match(text, start)
                if inline is None:
                    at = start + 1
                    continue
                end = inline.end()
            yield start, end
            at = end

    def _begun_at(self, text: bytes, head: bytes) -> int:
        """Where the earliest end of `text` that begins the secret's hex starts."""
        at = max(0, len(text) - self._reach)
        while found := self._begun.search(text, at):
            start = found.start()
            if self._begun_inline.match(text, start) or _dump_head(text, start, head):
                return start
            at = start + 1
        return len(text)


def _digit(value: int) -> bytes:
    """A pattern for one hex digit, in either case."""
    c = f"{value:x}"
    return c.encode() if value < 10 else f"[{c}{c.upper()}]".encode()


def _beginnings(pairs: list[tuple[bytes, bytes]], between: bytes, begun: bytes) -> bytes:
    """A pattern for every non-empty beginning of the pairs of digits joined by `between`
    (`begun` being every beginning of `between`)."""
    first, second = pairs[-1]
    pattern = first + b"(?:" + second + b")?"
    for first, second in reversed(pairs[:-1]):
        pattern = first + b"(?:" + second + b"(?:" + between + pattern + b"|" + begun + b")?)?"
    return pattern


def _line_before(text: bytes, at: int, head: bytes) -> bytes:
    """The part of the line `text[at]` is on that comes before it (the first HEAD + 1 bytes of
    it, then the rest in `text`, if the line began before `text`)."""
    begin = text.rfind(b"\n", 0, at) + 1
    return text[begin:at] if begin else head + text[:at]


def _dump_head(text: bytes, start: int, head: bytes) -> bool:
    """Whether the line `start` is on holds only an offset, spaces and hex digits before it."""
    before = _line_before(text, start, head)
    return len(before) <= HEAD and _DUMP_HEAD.fullmatch(before) is not None


def _dump_line_end(text: bytes, end: int, final: bool, head: bytes) -> int | None:
    """Where the line a match ends on ends, if it is a dump line (it begins with an offset);
    `end` if it is not; None while the dump line is still being written."""
    if not _DUMP_OFFSET.match(_line_before(text, end, head)):
        return end
    stop = text.find(b"\n", end)
    if stop < 0:
        return len(text) if final or len(text) - end > _DUMP_REST else None
    return stop - 1 if stop > end and text[stop - 1] == 13 else stop
