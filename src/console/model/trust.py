"""Whether a file that decides what runs where may be trusted: nobody else could have written it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def untrusted(path: Path) -> str | None:
    """Why a configuration or known_hosts file must not be used, or None when it may be.

    Another account must not be able to change what the console runs or which host keys it
    believes: so the file may not be writable by every account, and may not be reached
    through a symbolic link into a folder owned by another account (who could swap it).
    """
    try:
        info = path.stat()
    except OSError:
        return None  # a missing file is reported by whoever needs it
    if info.st_mode & stat.S_IWOTH:
        return f"it is writable by every account on this machine; run: chmod o-w {path}"
    if path.is_symlink():
        folder = path.resolve().parent
        owner = folder.stat().st_uid
        if owner not in (os.getuid(), 0):
            return (
                f"it is a symbolic link into {folder}, a folder of another account (uid {owner}) "
                "who could replace it; copy the file instead"
            )
    return None
