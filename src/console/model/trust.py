"""Whether a file that decides what runs where may be trusted: nobody else could have written it.

The console reads its inventory, pipelines, scripts, upload sources, known_hosts and secrets
files as the account running it. Another account must not be able to change any of them,
directly or by replacing them: so the file, and every folder on the way to it (through any
symbolic link), must belong to this account or root, and may be writable by a group only when
nobody but this account and root is in that group. A folder that others may write is safe
only with the sticky bit (as /tmp), and only for entries of this account or root.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from functools import cache
from pathlib import Path


def untrusted(path: Path) -> str | None:
    """Why a file must not be used (who else could have written it), or None when it may be."""
    try:
        info = path.stat()
    except OSError:
        return None  # a missing file is reported by whoever needs it
    reader = os.geteuid()
    why = _writers(info, reader)
    if why:
        return f"{why} could change it; {_fix(path, info, reader)}"
    for folder, entry in _folders(path):
        why = _folder_writers(folder, entry, reader)
        if why:
            return f"{why} could replace it; {_fix(folder, folder.stat(), reader)}"
    return None


def _folders(path: Path) -> list[tuple[Path, Path]]:
    """Every folder a lookup of `path` passes through, as written and with links followed,
    each with the entry in it that leads on."""
    seen: dict[Path, Path] = {}
    for chain in (Path(os.path.abspath(path)), path.resolve()):
        for entry in [chain, *chain.parents]:
            if entry.parent != entry:
                seen.setdefault(entry.parent, entry)
    return list(seen.items())


def _writers(info: os.stat_result, reader: int) -> str | None:
    """Who other than the reader and root may write a file or folder with these attributes."""
    if info.st_uid not in (reader, 0):
        return f"its owner {_account(info.st_uid)}"
    if info.st_mode & stat.S_IWOTH:
        return "every account on this machine"
    if info.st_mode & stat.S_IWGRP:
        others = _members(info.st_gid) - {_name(reader), "root"}
        if others:
            return f"the group {_group(info.st_gid)} ({', '.join(sorted(others))})"
    return None


def _folder_writers(folder: Path, entry: Path, reader: int) -> str | None:
    """Who could replace `entry` in `folder`: its writers, unless the sticky bit keeps them
    from touching an entry of the reader's or root's."""
    try:
        info = folder.stat()
    except OSError:
        return None
    who = _writers(info, reader)
    if who is None:
        return None
    if info.st_mode & stat.S_ISVTX and info.st_uid in (reader, 0):
        try:
            if entry.lstat().st_uid in (reader, 0):
                return None
        except OSError:
            return None
    return f"the folder {folder} may be written by {who}, who"


def _fix(path: Path, info: os.stat_result, reader: int) -> str:
    """What to do about it, as a command."""
    if info.st_uid not in (reader, 0):
        return f"it must belong to you or root (run as root: chown root {path})"
    return f"run: chmod go-w {path}"


@cache
def _members(gid: int) -> frozenset[str]:
    """The accounts in a group: those it lists and those whose primary group it is."""
    try:
        listed = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        return frozenset({f"gid {gid}"})  # an unnamed group: assume others are in it
    return frozenset(listed | {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid})


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _account(uid: int) -> str:
    name = _name(uid)
    return name if name.startswith("uid ") else f"{name} (uid {uid})"


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"
