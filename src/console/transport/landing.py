"""One destination of a file: written under a private part name beside where it goes, and
renamed into place only once the host's SHA-256 of it is the source's.

The part's name is the same for every attempt of one step in one run, so a later attempt (a
retry, or the run resumed by another runner) finds what an earlier one wrote and goes on from
the end of it, once the host has shown that those bytes are the source's first bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import shlex
import stat
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncssh

from console.errors import TransferCut, TransferFailed, TransportError
from console.sizes import size_text
from console.transport.sources import hashed, host_digest
from console.transport.ssh import SshPool, _lost
from console.transport.target import HostTarget

BLOCK = 1 << 20
"""Bytes read from a source and written to its destinations at a time; a part is resumed from
a whole number of blocks."""


@dataclass(eq=False)
class Landing:
    """A destination host, the path the file ends at, and how far its bytes have come."""

    target: HostTarget
    dest: str
    mode: int | None
    tag: str
    """Names the part: the same for every attempt of one step of one run."""
    say: Callable[[str], None] = lambda _text: None
    keep_part: bool = False
    """Leave a part that got cut off where it is, for a later attempt to go on from."""
    offset: int = 0
    """Where the bytes this attempt sends begin: 0, or the end of a part shown to be good."""
    resumed_from: int = 0
    error: BaseException | None = None
    dropped: bool = False
    """Its step was cancelled: it takes no more bytes and keeps no part."""
    delivered: bool = False
    """Verified and renamed into place."""
    digest: str = ""
    """The SHA-256 it was verified against."""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _sftp: asyncssh.SFTPClient | None = None
    _file: asyncssh.SFTPClientFile | None = None
    _writes: deque[tuple[asyncio.Future[int], int]] = field(default_factory=deque)
    _in_flight: int = 0

    @property
    def part(self) -> str:
        """The private name the bytes are written under until they are verified."""
        folder, name = posixpath.split(self.dest)
        return posixpath.join(folder or ".", f".{name[:180]}.opsconsole-{self.tag}.part")

    @property
    def live(self) -> bool:
        """Still taking bytes (or about to be put in place)."""
        return self.error is None and not self.dropped and not self.delivered

    def fail(self, exc: BaseException) -> None:
        """Stop sending here, keeping the first reason."""
        if self.error is None:
            self.error = exc
        for pending, _ in self._writes:
            pending.cancel()

    async def open(self, pool: SshPool, size: int) -> int:
        """Connect, look for a part to go on from and check the room; the part's length."""
        conn = await pool.connect(self.target)
        try:
            self._sftp = await conn.start_sftp_client()
            found = await self._found_part(size)
            await self._check_room(size - found)
        except asyncssh.SFTPError as exc:
            raise TransferFailed(
                f"cannot write {self.dest} on '{self.target.name}': {exc.reason}"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            raise _lost(self.target, exc) from None
        return found

    async def _found_part(self, size: int) -> int:
        """The whole blocks of a part an earlier attempt left, if it is this account's own."""
        assert self._sftp is not None
        try:
            info = await self._sftp.lstat(self.part)
        except asyncssh.SFTPNoSuchFile:
            return 0
        mode = info.permissions or 0
        own = stat.S_ISREG(mode) and not mode & 0o077 and (info.size or 0) <= size
        if not own:  # not one this console wrote: start afresh
            await self._sftp.remove(self.part)
            return 0
        return (info.size or 0) // BLOCK * BLOCK

    async def _check_room(self, needed: int) -> None:
        assert self._sftp is not None
        folder = posixpath.dirname(self.dest) or "."
        try:
            room = await self._sftp.statvfs(folder)
        except asyncssh.SFTPOpUnsupported:
            return  # a server that cannot say: the write itself fails when the disk is full
        free = room.bavail * room.frsize
        if needed > free:
            raise TransferFailed(
                f"{folder} on '{self.target.name}' has {size_text(free)} free and the file "
                f"needs {size_text(needed)} more; free some space there or send it elsewhere; "
                "nothing was sent"
            )

    async def prefix_digest(self, pool: SshPool, length: int) -> str:
        """The host's SHA-256 of the part's first `length` bytes."""
        command = hashed(f"head -c {length} < {shlex.quote(self.part)}")
        return await host_digest(pool, self.target, command, f"{self.target.name}:{self.part}")

    async def begin(self, offset: int) -> None:
        """Open the part to be written from `offset` (a fresh, private file from 0)."""
        assert self._sftp is not None
        self.offset = self.resumed_from = offset
        try:
            if offset:
                self._file = await self._sftp.open(self.part, "r+b")
                await self._file.truncate(offset)
                return
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await self._sftp.remove(self.part)
            attrs = asyncssh.SFTPAttrs(permissions=0o600)
            self._file = await self._sftp.open(self.part, "xb", attrs)
        except asyncssh.SFTPError as exc:
            raise TransferFailed(
                f"cannot write {self.dest} on '{self.target.name}': {exc.reason}"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            raise self._cut(exc) from None

    async def put(self, block: bytes, offset: int, budget: int) -> None:
        """Write a block, waiting while `budget` bytes are already on their way here."""
        assert self._file is not None
        while self._writes and self._in_flight + len(block) > budget:
            if not await self._settle_oldest():
                return
        self._writes.append((asyncio.ensure_future(self._file.write(block, offset)), len(block)))
        self._in_flight += len(block)

    async def _settle_oldest(self) -> bool:
        pending, length = self._writes.popleft()
        self._in_flight -= length
        try:
            await pending
        except asyncio.CancelledError:
            if self.error is None and not self.dropped:
                raise
            return False
        except (asyncssh.Error, OSError) as exc:
            self.fail(self._cut(exc))
            return False
        return True

    def _cut(self, exc: BaseException) -> TransferFailed:
        if isinstance(exc, asyncssh.SFTPError):
            return TransferFailed(
                f"writing {self.dest} on '{self.target.name}' failed: {exc.reason}"
            )
        if isinstance(exc, TransferFailed):
            return exc
        kept = "; the part received stays for the next attempt" if self.keep_part else ""
        return TransferCut(
            f"the connection to '{self.target.name}' was lost while {self.dest} was written "
            f"({str(exc).strip().rstrip('.') or type(exc).__name__}){kept}"
        )

    async def settle(self) -> None:
        """Wait for every write on its way."""
        while self._writes and self.live:
            await self._settle_oldest()

    async def finish(self, pool: SshPool, digest: str, mode: int) -> None:
        """Check the host's SHA-256 of the part, give it its mode and rename it into place."""
        assert self._sftp is not None and self._file is not None
        try:
            await self._file.close()
            shown = f"{self.target.name}:{self.part}"
            quoted = shlex.quote(self.part)
            held = await host_digest(pool, self.target, hashed(f"< {quoted}"), shown)
            if held != digest:
                self.keep_part = False
                raise TransferFailed(
                    f"checksum mismatch on '{self.target.name}': sent sha256 {digest[:16]}…, "
                    f"the host has {held[:16]}…; nothing was put at {self.dest}"
                )
            # private until verified; its own mode just before it takes the final name
            await self._sftp.chmod(self.part, self.mode if self.mode is not None else mode)
            await self._sftp.posix_rename(self.part, self.dest)
            self.delivered, self.digest = True, digest
        except asyncssh.SFTPError as exc:
            raise TransferFailed(
                f"cannot put {self.dest} in place on '{self.target.name}': {exc.reason}"
            ) from None
        except (asyncssh.Error, OSError, TransportError) as exc:
            raise self._cut(exc) from None

    async def close(self, pool: SshPool) -> None:
        """Let go of the host; a part that is not to be gone on from is removed."""
        for pending, _ in self._writes:
            pending.cancel()
        await asyncio.gather(*(w for w, _ in self._writes), return_exceptions=True)
        self._writes.clear()
        sftp = self._sftp
        if sftp is None:
            return
        cut = isinstance(self.error, TransferCut | TransportError)
        with contextlib.suppress(asyncssh.Error, OSError):
            if self._file is not None and not cut:
                await self._file.close()
            if self.dropped or (self.error is not None and not self.keep_part):
                await sftp.remove(self.part)
        sftp.exit()
        if cut:
            pool.forget(self.target.name)  # the next attempt connects afresh
            return
        with contextlib.suppress(asyncssh.Error, OSError):
            await sftp.wait_closed()
