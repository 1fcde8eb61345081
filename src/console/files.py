"""Writing a file so that it appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from console.errors import UsageError


def write_whole(path: Path, chunks: Iterable[str]) -> None:
    """Write text beside `path` and rename it into place once complete; an error (or an
    interruption) leaves no partial file behind."""
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {_why(exc)}; nothing was written, choose another --out"
        ) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # the mode a shell redirection would give, not 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(chunks)
        os.replace(temp, path)
    except BaseException as exc:
        os.unlink(temp)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {_why(exc)}; nothing was written") from None
        raise


def _why(exc: OSError) -> str:
    """An operating system's refusal in words."""
    if isinstance(exc, PermissionError):
        return "this account may not write in its folder"
    return (exc.strerror or str(exc)).lower()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
