"""SFTP transfers that never leave a partial, unverified or unapproved file at the destination.

Uploads and host-to-host transfers go through `broadcast.send`: one read of the source for
every destination, each written under a private part name and renamed into place only once
its host's SHA-256 is the source's (and, for an upload, the one the run bound). A download is
hashed as it is written here, checked against the host's own SHA-256 computed meanwhile, and
renamed into place; it is refused before it starts when it would not fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import asyncssh

from console.errors import TransferFailed
from console.model.trust import untrusted
from console.sizes import size_text
from console.transport.broadcast import READ_AHEAD, send
from console.transport.landing import BLOCK, Landing
from console.transport.sources import HostSource, LocalSource, MemorySource
from console.transport.ssh import SshPool, _lost
from console.transport.target import HostTarget


@contextlib.asynccontextmanager
async def host_source(pool: SshPool, target: HostTarget, path: str) -> AsyncIterator[HostSource]:
    """A regular file on a host, open for reading over SFTP while the context lasts."""
    conn = await pool.connect(target)
    try:
        async with conn.start_sftp_client() as client:
            info = await client.stat(path)
            if not stat.S_ISREG(info.permissions or 0):
                raise TransferFailed(
                    f"{target.name}:{path} is not a regular file; nothing was sent"
                )
            async with client.open(path, "rb") as remote:
                source = HostSource(pool, target, path, remote)
                source.size, source.mode = info.size or 0, (info.permissions or 0o600) & 0o777
                yield source
    except asyncssh.SFTPNoSuchFile:
        raise TransferFailed(f"{target.name}:{path} does not exist; nothing was sent") from None
    except asyncssh.SFTPError as exc:
        raise TransferFailed(f"cannot read {target.name}:{path}: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        raise _lost(target, exc) from None


@contextlib.asynccontextmanager
async def local_source(
    local: Path, shown: str, produced: bool, sealed: str
) -> AsyncIterator[LocalSource]:
    """An upload's bound file, open for reading while the context lasts."""
    with _open_source(local, shown, produced) as handle:
        yield LocalSource(handle, shown, sealed)


async def put_bytes(
    pool: SshPool, target: HostTarget, data: bytes, dest: str, mode: str, expected: str, shown: str
) -> str:
    """Send bytes held in memory (a script the store kept) to `dest`, verified the same way."""
    landing = Landing(target, dest, int(mode, 8), secrets.token_hex(6))
    await send(pool, MemorySource(data, shown, int(mode, 8)), [landing], expected)
    if landing.error is not None:
        raise landing.error
    return expected


def _open_source(local: Path, shown: str, produced: bool) -> BinaryIO:
    """Open an upload's source, refusing one another account could have written.

    A file this run's download wrote may sit in a folder the operators share: it must still
    be this account's own single link, which nobody else can make, and its bytes are checked
    against what the download verified as they stream.
    """
    if not produced:
        why = untrusted(local)
        if why:
            raise TransferFailed(f"the upload source {shown} is refused: {why}; nothing was sent")
    try:
        handle = open(local, "rb", opener=_no_follow if produced else None)  # noqa: SIM115
    except FileNotFoundError:
        raise TransferFailed(f"the local file {shown} does not exist; nothing was sent") from None
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise TransferFailed(
            f"the local file {shown} cannot be read ({why}); nothing was sent"
        ) from None
    info = os.fstat(handle.fileno())
    if produced and (
        info.st_uid != os.geteuid()
        or info.st_nlink != 1
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        handle.close()
        raise TransferFailed(
            f"{shown} is no longer the file this run downloaded (another account's, linked "
            "elsewhere or writable by others); nothing was sent"
        )
    return handle


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


async def download(
    pool: SshPool, target: HostTarget, src: str, local: Path, sizes: list[int] | None = None
) -> str:
    """Download `src` to a local path through a private temporary name; its verified SHA-256
    (its size goes into `sizes` once known).

    Refused before a byte moves when the local folder has too little room for it."""
    local.parent.mkdir(parents=True, exist_ok=True)
    temp = local.with_name(f".{local.name}.opsconsole-{secrets.token_hex(4)}")
    try:
        async with host_source(pool, target, src) as source:
            if sizes is not None:
                sizes.append(source.size)
            _check_local_room(local.parent, source.size, source.shown)
            host = asyncio.ensure_future(source.digest(0, source.size))
            try:
                read = await _write_local(source, temp)
                held = await host
            finally:
                host.cancel()
                await asyncio.gather(host, return_exceptions=True)
        if read != held:
            raise TransferFailed(
                f"checksum mismatch downloading {src}: host has {held}, "
                f"received {read}; nothing was written"
            )
        os.replace(temp, local)
    except OSError as exc:
        raise TransferFailed(f"cannot write {local}: {exc.strerror}; nothing was kept") from None
    finally:
        temp.unlink(missing_ok=True)
    return held


def _check_local_room(folder: Path, size: int, shown: str) -> None:
    room = os.statvfs(folder)
    free = room.f_bavail * room.f_frsize
    if size > free:
        raise TransferFailed(
            f"{shown} is {size_text(size)} and {folder} has {size_text(free)} free; free some "
            "space there or download it elsewhere; nothing was written"
        )


async def _write_local(source: HostSource, temp: Path) -> str:
    """Read the source once, writing it to a file only this account may read (it may hold
    patients' data, on a machine operators share); the SHA-256 of the bytes."""
    digest = hashlib.sha256()
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        reads: list[asyncio.Future[bytes]] = []
        offset = 0
        try:
            while offset < source.size or reads:
                while offset < source.size and len(reads) < READ_AHEAD:
                    length = min(BLOCK, source.size - offset)
                    reads.append(asyncio.ensure_future(source.read(offset, length)))
                    offset += length
                block = await reads.pop(0)
                if not block:
                    raise TransferFailed(f"{source.shown} became shorter while it was read")
                digest.update(block)
                await asyncio.to_thread(out.write, block)
        finally:
            for pending in reads:
                pending.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
    return digest.hexdigest()
