"""Where a file's bytes come from: a file on the bastion, bytes in memory, or a file on a host.

Each source reads a range at a time and can say the SHA-256 of a range, computed where the
bytes are (a host's digest computed on that host), so that what the runner streamed can be
checked against what the source holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shlex
from typing import BinaryIO, Protocol

import asyncssh

from console.errors import TransferCut, TransferFailed
from console.transport.ssh import SshPool
from console.transport.target import HostTarget


class Source(Protocol):
    """A file's bytes, read by range."""

    shown: str
    """How messages name it: a local path, or `host:path`."""
    size: int
    mode: int
    """Its permission bits, which a destination keeps when no mode is given."""

    async def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset`."""
        ...

    async def digest(self, start: int, end: int) -> str:
        """The SHA-256 of the bytes from `start` to `end`, computed where they are."""
        ...


class LocalSource:
    """A file on the bastion, open for reading (its bound digest is known already)."""

    def __init__(self, handle: BinaryIO, shown: str, sealed: str) -> None:
        info = os.fstat(handle.fileno())
        self.handle, self.shown, self.sealed = handle, shown, sealed
        self.size, self.mode = info.st_size, info.st_mode & 0o777

    async def read(self, offset: int, length: int) -> bytes:
        """A thread reads (the event loop goes on meanwhile)."""
        return await asyncio.to_thread(os.pread, self.handle.fileno(), length, offset)

    async def digest(self, start: int, end: int) -> str:
        """The bound digest for the whole file; a part is read and hashed here."""
        if (start, end) == (0, self.size) and self.sealed:
            return self.sealed
        return await asyncio.to_thread(_hash_range, self.handle, start, end)


class MemorySource:
    """Bytes the store kept (a script), sent as they are."""

    def __init__(self, data: bytes, shown: str, mode: int) -> None:
        self.data, self.shown, self.size, self.mode = data, shown, len(data), mode

    async def read(self, offset: int, length: int) -> bytes:
        """A slice of the bytes."""
        return self.data[offset : offset + length]

    async def digest(self, start: int, end: int) -> str:
        """Hashed here: the bytes are here."""
        return hashlib.sha256(self.data[start:end]).hexdigest()


class HostSource:
    """A file on a managed host, read over SFTP; its digests are computed on that host."""

    def __init__(
        self, pool: SshPool, target: HostTarget, path: str, remote: asyncssh.SFTPClientFile
    ) -> None:
        self.pool, self.target, self.path, self.remote = pool, target, path, remote
        self.shown = f"{target.name}:{path}"
        self.size, self.mode = 0, 0o600

    async def read(self, offset: int, length: int) -> bytes:
        """Read with the SFTP client's parallel requests."""
        try:
            data = await self.remote.read(length, offset)
        except asyncssh.SFTPError as exc:
            raise TransferFailed(f"reading {self.shown} failed: {exc.reason}") from None
        except (asyncssh.Error, OSError) as exc:
            raise TransferCut(
                f"the connection to '{self.target.name}' was lost while {self.path} was read "
                f"({str(exc).strip().rstrip('.') or type(exc).__name__})"
            ) from None
        assert isinstance(data, bytes)
        return data

    async def digest(self, start: int, end: int) -> str:
        """The SHA-256 of the range, computed on the host (only the range is read there)."""
        quoted = shlex.quote(self.path)
        if (start, end) == (0, self.size):
            command = hashed(f"< {quoted}")
        else:
            command = hashed(f"tail -c +{start + 1} < {quoted} | head -c {end - start}")
        return await host_digest(self.pool, self.target, command, self.shown)


HASHER = (
    'if command -v openssl >/dev/null 2>&1; then h="openssl dgst -sha256 -r"; '
    "else h=sha256sum; fi; "
)
"""Chooses how a host hashes: OpenSSL where it is installed (it uses the processor's SHA
instructions: 1 GB/s here, where coreutils' sha256sum reads 240 MB/s), else sha256sum. Both
print the digest first."""


def hashed(feed: str) -> str:
    """A shell command that prints the SHA-256 of a file (`feed` is `< PATH`) or of what a
    pipeline writes (`feed` is that pipeline)."""
    if feed.startswith("<"):
        return f"{HASHER}$h {feed}"
    return f"{HASHER}{feed} | $h"


async def host_digest(pool: SshPool, target: HostTarget, command: str, shown: str) -> str:
    """The digest a `hashed` command prints on a host."""
    out: list[bytes] = []
    result = await pool.run(target, command, lambda _s, d: out.append(d))
    words = b"".join(out).decode(errors="replace").split()
    if result.exit_code != 0 or not words or len(words[0]) != 64:
        raise TransferFailed(
            f"cannot compute the checksum of {shown} on '{target.name}' "
            "(is openssl or sha256sum installed there, and the file readable?)"
        )
    return words[0]


def _hash_range(handle: BinaryIO, start: int, end: int) -> str:
    digest = hashlib.sha256()
    offset = start
    while offset < end:
        block = os.pread(handle.fileno(), min(1 << 20, end - offset), offset)
        if not block:
            break
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()
