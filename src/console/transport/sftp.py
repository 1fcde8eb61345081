"""SFTP transfers that never leave a partial or unverified file at the destination.

Each transfer writes to a temporary name beside the destination, compares SHA-256 on both
ends, and only then renames into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import secrets
import shlex
from pathlib import Path

import asyncssh

from console.errors import TransportError
from console.transport.ssh import SshPool, _lost
from console.transport.target import HostTarget


class TransferFailed(Exception):
    """The transfer ran but did not verify (a failed step, not an unreachable host)."""


def sha256_file(path: Path) -> str:
    """The SHA-256 of a local file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


async def upload(
    pool: SshPool, target: HostTarget, local: Path, dest: str, mode: str | None
) -> str:
    """Upload a file to `dest` through a temporary name; returns the verified SHA-256."""
    if not local.is_file():
        raise TransferFailed(f"the local file {local} does not exist")
    expected = sha256_file(local)
    temp = posixpath.join(
        posixpath.dirname(dest) or ".",
        f".{posixpath.basename(dest)}.opsconsole-{secrets.token_hex(4)}",
    )
    conn = await pool.connect(target)
    try:
        async with conn.start_sftp_client() as sftp:
            try:
                await sftp.put(str(local), temp)
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


async def download(pool: SshPool, target: HostTarget, src: str, local: Path) -> str:
    """Download `src` to a local path through a temporary name; returns the verified SHA-256."""
    expected = await remote_sha256(pool, target, src)
    local.parent.mkdir(parents=True, exist_ok=True)
    temp = local.with_name(f".{local.name}.opsconsole-{secrets.token_hex(4)}")
    conn = await pool.connect(target)
    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.get(src, str(temp))
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
