"""SFTP transfers that never leave a partial, unverified or unapproved file at the destination.

An upload streams its source to a temporary name beside the destination, hashing the bytes
as they leave; it is renamed into place only when those bytes are the ones the run bound
(so a file changed after its approval never replaces anything) and the host's SHA-256 of
what it received agrees. A download is written under a temporary name and renamed once
the bytes agree with the host's SHA-256.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import posixpath
import secrets
import shlex
import stat
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

import asyncssh

from console.errors import TransferFailed, TransportError
from console.model.trust import untrusted
from console.transport.ssh import SshPool, _lost
from console.transport.target import HostTarget

BLOCK = 1 << 20
"""The most bytes read from a local file at a time."""


def sha256_file(path: Path) -> str:
    """The SHA-256 of a local file."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


async def remote_sha256(pool: SshPool, target: HostTarget, path: str) -> str:
    """The SHA-256 of a remote file, computed on the host with sha256sum."""
    out: list[bytes] = []
    result = await pool.run(
        target, f"sha256sum -- {shlex.quote(path)}", lambda _s, d: out.append(d)
    )
    text = b"".join(out).decode(errors="replace").split()
    if result.exit_code != 0 or not text:
        raise TransferFailed(
            f"cannot compute the checksum of {path} on '{target.name}' "
            "(is sha256sum installed there?)"
        )
    return text[0]


Blocks = Callable[[int, "hashlib._Hash"], AsyncIterator[bytes]]
"""Yields a source's bytes in blocks of at most the given size, each hashed on the way."""


async def upload(
    pool: SshPool,
    target: HostTarget,
    local: Path,
    dest: str,
    mode: str | None,
    expected: str,
    shown: str,
    produced: bool = False,
) -> str:
    """Send a local file to `dest`, reading it once; refused before it is put in place when
    its bytes are not the `expected` SHA-256. `produced`: a file this run's download wrote."""
    handle = _open_source(local, shown, produced)
    with handle:
        return await _deliver(pool, target, dest, mode, expected, shown, _file_blocks(handle))


async def put_bytes(
    pool: SshPool, target: HostTarget, data: bytes, dest: str, mode: str, expected: str, shown: str
) -> str:
    """Send bytes held in memory (a script the store kept) to `dest`, verified the same way."""
    return await _deliver(pool, target, dest, mode, expected, shown, _memory_blocks(data))


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


def _file_blocks(handle: BinaryIO) -> Blocks:
    async def blocks(size: int, digest: hashlib._Hash) -> AsyncIterator[bytes]:
        while block := await asyncio.to_thread(_read_hashed, handle, size, digest):
            yield block

    return blocks


def _read_hashed(handle: BinaryIO, size: int, digest: hashlib._Hash) -> bytes:
    """Read the next block and add it to the hash (in a thread: both let go of the GIL)."""
    block = handle.read(size)
    digest.update(block)
    return block


def _memory_blocks(data: bytes) -> Blocks:
    async def blocks(size: int, digest: hashlib._Hash) -> AsyncIterator[bytes]:
        digest.update(data)
        view = memoryview(data)
        for start in range(0, len(data), size):
            yield bytes(view[start : start + size])

    return blocks


async def _deliver(
    pool: SshPool,
    target: HostTarget,
    dest: str,
    mode: str | None,
    expected: str,
    shown: str,
    blocks: Blocks,
) -> str:
    """Stream to a temporary name beside `dest` and rename it into place once verified."""
    temp = posixpath.join(
        posixpath.dirname(dest) or ".",
        f".{posixpath.basename(dest)}.opsconsole-{secrets.token_hex(4)}",
    )
    conn = await pool.connect(target)
    try:
        async with conn.start_sftp_client() as sftp:
            try:
                sent = await _stream(sftp, temp, blocks, pool.transfer_budget)
                _refuse_changed(sent, expected, shown, target)
                if mode:
                    await sftp.chmod(temp, int(mode, 8))
                actual = await remote_sha256(pool, target, temp)
                if actual != expected:
                    raise TransferFailed(
                        f"checksum mismatch after upload to {dest}: "
                        f"sent {expected}, host has {actual}; nothing was replaced"
                    )
                await sftp.posix_rename(temp, dest)
            except BaseException:
                await _remove_quietly(sftp, temp)
                raise
    except asyncssh.SFTPError as exc:
        raise TransferFailed(f"upload to {dest} failed: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        if isinstance(exc, TransportError):
            raise
        raise _lost(target, exc) from None
    return expected


def _refuse_changed(sent: str, expected: str, shown: str, target: HostTarget) -> None:
    if sent != expected:
        raise TransferFailed(
            f"{shown} changed since it was bound to this run (sha256 {expected[:16]}… then, "
            f"{sent[:16]}… now): it is not what was approved, and nothing was put in place "
            f"on '{target.name}'"
        )


async def _stream(sftp: asyncssh.SFTPClient, temp: str, blocks: Blocks, budget: int) -> str:
    """Write the blocks to `temp` with up to `budget` bytes in flight; their SHA-256."""
    digest = hashlib.sha256()
    size = max(32 << 10, min(BLOCK, budget // 4))
    writes: deque[tuple[asyncio.Future[int], int]] = deque()
    async with sftp.open(temp, "wb") as remote:
        try:
            offset, in_flight = 0, 0
            async for block in blocks(size, digest):
                while writes and in_flight + len(block) > budget:
                    done, length = writes.popleft()
                    await done
                    in_flight -= length
                writes.append((asyncio.ensure_future(remote.write(block, offset)), len(block)))
                offset, in_flight = offset + len(block), in_flight + len(block)
            while writes:
                await writes.popleft()[0]
        finally:
            for pending, _ in writes:
                pending.cancel()
            await asyncio.gather(*(w for w, _ in writes), return_exceptions=True)
    return digest.hexdigest()


async def download(pool: SshPool, target: HostTarget, src: str, local: Path) -> str:
    """Download `src` to a local path through a temporary name; returns the verified SHA-256."""
    expected = await remote_sha256(pool, target, src)
    local.parent.mkdir(parents=True, exist_ok=True)
    temp = local.with_name(f".{local.name}.opsconsole-{secrets.token_hex(4)}")
    conn = await pool.connect(target)
    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.get(src, str(temp))
        temp.chmod(stat.S_IMODE(temp.stat().st_mode) & ~0o022)  # no one else may change it
        actual = sha256_file(temp)
        if actual != expected:
            raise TransferFailed(
                f"checksum mismatch downloading {src}: host has {expected}, "
                f"received {actual}; nothing was written"
            )
        os.replace(temp, local)
    except asyncssh.SFTPError as exc:
        raise TransferFailed(f"download of {src} failed: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        raise _lost(target, exc) from None
    finally:
        temp.unlink(missing_ok=True)
    return expected


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    with contextlib.suppress(asyncssh.Error, OSError):
        await sftp.remove(path)
