"""Secrets: read from their source when a run needs them and handed to the remote shell on
stdin (`console.masking` keeps them out of every byte of output).

A secret's value is never written to a file the console owns, never part of a command line
(local or remote), and never in an event: the command refers to a shell variable that a
prologue fills from stdin.
"""

from __future__ import annotations

import base64
import os
import shlex
import stat
import subprocess
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
