"""Secrets: read from their source when a run needs them, handed to the remote shell on stdin,
and masked out of every byte of output before it is stored or shown.

A secret's value is never written to a file the console owns, never part of a command line
(local or remote), and never in an event: the command refers to a shell variable that a
prologue fills from stdin.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import stat
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from console.errors import UsageError
from console.model.inventory import SecretSource
from console.model.templates import secret_variable
from console.model.trust import untrusted

COMMAND_TIMEOUT = 30.0
"""Seconds a secret's command (a vault client, say) may take."""


def resolve(name: str, source: SecretSource, base_dir: Path) -> str:
    """A secret's value from its source; refused, in words that never hold the value."""
    where = f"secret '{name}'"
    if source.env is not None:
        value = os.environ.get(source.env)
        if value is None:
            raise UsageError(f"{where} comes from ${source.env}, which is not set; export it first")
        return value
    if source.file is not None:
        return _from_file(where, _path(source.file, base_dir))
    assert source.command is not None
    return _from_command(where, source.command)


def _path(text: str, base_dir: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base_dir / path


def _from_file(where: str, path: Path) -> str:
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(
                f"{where} is in {path}, which other accounts may read or change; "
                f"run: chmod 600 {path}"
            )
        if info.st_uid != os.getuid():
            raise UsageError(f"{where} is in {path}, which belongs to another account")
        why = untrusted(path)
        if why:
            raise UsageError(f"{where} is in {path}, which is refused: {why}")
        return path.read_text().removesuffix("\n")
    except OSError as exc:
        raise UsageError(f"{where} cannot be read from {path} ({exc.strerror})") from None


def _from_command(where: str, command: str) -> str:
    try:
        done = subprocess.run(
            shlex.split(command), capture_output=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"{where}: its command could not be run ({exc})") from None
    if done.returncode != 0:
        raise UsageError(
            f"{where}: its command `{command}` exited with status {done.returncode}; "
            "run it yourself to see why"
        )
    return done.stdout.decode("utf-8", "replace").removesuffix("\n")


def prologue(names: list[str]) -> str:
    """Shell that reads each secret, base64-encoded on a line of stdin, into its variable (not
    exported: only the command's own shell sees it), ending in a newline before the command."""
    parts = [f'IFS= read -r _s; {secret_variable(n)}=$(printf %s "$_s" | base64 -d)' for n in names]
    return "; ".join([*parts, "unset _s"]) + "\n"


def stdin_for(values: list[str]) -> bytes:
    """The lines the prologue reads, in the same order as its names."""
    return b"".join(base64.b64encode(v.encode()) + b"\n" for v in values)


@dataclass(frozen=True)
class Form:
    """One way a secret may show up in output, and what replaces it."""

    text: bytes
    mask: bytes


def forms(name: str, value: str) -> list[Form]:
    """The spellings of a secret that are masked: as it is, each line of a multi-line one,
    base64 (standard and URL-safe, padded or not), URL-encoded, hex and JSON-escaped."""
    raw = value.encode()
    spellings = {raw}
    spellings.update(line.encode() for line in value.splitlines() if len(line) >= 4)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(raw)
        spellings.update({encoded, encoded.rstrip(b"=")})
    spellings.add(urllib.parse.quote(value, safe="").encode())
    spellings.add(urllib.parse.quote_plus(value).encode())
    spellings.update({raw.hex().encode(), raw.hex().upper().encode()})
    spellings.add(json.dumps(value)[1:-1].encode())
    mask = f"<secret {name} masked>".encode()
    return [Form(s, mask) for s in sorted(spellings, key=len, reverse=True) if len(s) >= 3]


@dataclass(frozen=True)
class Masks:
    """Every spelling of a run's secrets, longest first, and every proper prefix of them: built
    once per run, so that each chunk of output costs a few lookups, not a scan per spelling."""

    forms: list[Form]
    prefixes: frozenset[bytes]
    longest: int

    @classmethod
    def of(cls, found: list[Form]) -> Masks:
        """The masks for these spellings."""
        ordered = sorted(found, key=lambda f: len(f.text), reverse=True)
        prefixes = frozenset(f.text[:k] for f in ordered for k in range(1, len(f.text)))
        return cls(ordered, prefixes, max((len(f.text) for f in ordered), default=0))


class Masker:
    """Masks every spelling of the run's secrets in one stream of output, across chunks.

    The end of a chunk that could be the start of a secret is held back until the next chunk
    (or the end of the stream) says whether it is one.
    """

    def __init__(self, masks: Masks) -> None:
        self._masks = masks
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """The chunk, masked, less any tail that might begin a secret."""
        text = mask(self._held + data, self._masks.forms)
        keep = self._unsure_tail(text)
        self._held = text[len(text) - keep :] if keep else b""
        return text[: len(text) - keep]

    def finish(self) -> bytes:
        """What was held back, at the end of the stream."""
        held, self._held = self._held, b""
        return held

    def _unsure_tail(self, text: bytes) -> int:
        """The length of the longest end of `text` that begins some spelling."""
        prefixes = self._masks.prefixes
        for keep in range(min(self._masks.longest - 1, len(text)), 0, -1):
            if text[-keep:] in prefixes:
                return keep
        return 0


def mask(data: bytes, masks: list[Form]) -> bytes:
    """Every spelling replaced, longest first."""
    for form in masks:
        if form.text in data:
            data = data.replace(form.text, form.mask)
    return data
