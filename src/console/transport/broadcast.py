"""Send one source's bytes to many destinations from a single read.

The runner reads a block, hashes it and hands the same bytes to every destination still
taking them; it reads ahead only a few blocks, and a destination with its write budget in
flight holds the reading back, so memory stays bounded by the slowest host however large the
file. A destination that fails drops out; the rest go on. At the end the runner's SHA-256 of
what it read must be the source's own, and each destination's the same, before its part is
renamed into place.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from dataclasses import dataclass

from console.errors import TransferCut, TransferFailed, TransportError
from console.sizes import size_text
from console.transport.landing import BLOCK, Landing
from console.transport.sources import Source
from console.transport.ssh import SshPool

READ_AHEAD = 4
"""Blocks read from the source before the first of them has been handed on."""

PROGRESS_FROM = 32 << 20
"""Files at least this large tell their destinations how far they have come, every tenth."""


@dataclass(frozen=True)
class Sent:
    """What a transfer moved: its size and the SHA-256 the source and runner agreed on."""

    size: int
    digest: str


async def send(pool: SshPool, source: Source, landings: list[Landing], expected: str = "") -> Sent:
    """Send the source to every landing; each ends put in place or with its `error` set.

    `expected`: the digest the source must have (bound at launch); unset, the source's own
    digest is computed where it lives, while the bytes stream."""
    try:
        await _open_all(pool, source, landings)
        live = [landing for landing in landings if landing.live]
        if not live:
            return Sent(source.size, expected)
        start = min(landing.offset for landing in live)
        whole = asyncio.ensure_future(_whole(source, expected))
        tail = asyncio.ensure_future(source.digest(start, source.size)) if start else None
        try:
            read = await _stream(source, live, start, pool.transfer_budget)
            if not any(landing.live for landing in live):
                return Sent(source.size, expected)  # every destination failed on its own
            digest = await whole
            agreed = await tail if tail else digest
            if read != agreed:
                raise TransferFailed(_changed(source, expected, agreed, read))
        finally:
            for task in (whole, tail):
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(*(t for t in (whole, tail) if t), return_exceptions=True)
        await asyncio.gather(*(_finish(pool, landing, digest, source.mode) for landing in live))
        return Sent(source.size, digest)
    except (TransferFailed, TransportError) as exc:  # the source failed, or changed
        bad = isinstance(exc, TransferFailed) and not isinstance(exc, TransferCut)
        for landing in landings:
            if landing.live:
                landing.keep_part = landing.keep_part and not bad
                landing.fail(exc)
        return Sent(source.size, expected)
    except BaseException as exc:  # the runner stops: what has come so far may be gone on from
        for landing in landings:
            landing.fail(TransferCut(f"stopped while {source.shown} was sent ({exc!r})"))
        raise
    finally:
        await asyncio.gather(*(landing.close(pool) for landing in landings))


async def _whole(source: Source, expected: str) -> str:
    return expected or await source.digest(0, source.size)


def _changed(source: Source, expected: str, agreed: str, read: str) -> str:
    if expected:
        return (
            f"{source.shown} changed since it was bound to this run (sha256 {expected[:16]}… "
            f"then, {read[:16]}… now): it is not what was approved, and nothing was put in place "
            "on any host"
        )
    return (
        f"{source.shown} changed while it was read (the host's sha256 {agreed[:16]}…, the "
        f"bytes read {read[:16]}…); nothing was put in place"
    )


async def _open_all(pool: SshPool, source: Source, landings: list[Landing]) -> None:
    """Connect to every destination, and go on from each one's part where the host shows
    that part to be the source's first bytes."""
    found = await asyncio.gather(
        *(landing.open(pool, source.size) for landing in landings), return_exceptions=True
    )
    prefixes: dict[int, asyncio.Future[str]] = {}
    checks = []
    for landing, length in zip(landings, found, strict=True):
        if isinstance(length, BaseException):
            landing.fail(length)
        elif length:
            if length not in prefixes:
                prefixes[length] = asyncio.ensure_future(source.digest(0, length))
            checks.append(_resume_or_restart(pool, landing, length, prefixes[length]))
        else:
            checks.append(_begin(landing, 0))
    await asyncio.gather(*checks)


async def _resume_or_restart(
    pool: SshPool, landing: Landing, length: int, source_prefix: asyncio.Future[str]
) -> None:
    try:
        held = await landing.prefix_digest(pool, length)
        same = held == await source_prefix
    except TransferFailed:
        same = False
    if same:
        landing.say(f"going on from {size_text(length)} received and verified before\n")
    await _begin(landing, length if same else 0)


async def _begin(landing: Landing, offset: int) -> None:
    try:
        await landing.begin(offset)
    except Exception as exc:  # a destination's failure is its own outcome
        landing.fail(exc)


async def _stream(source: Source, landings: list[Landing], start: int, budget: int) -> str:
    """Read from `start` to the end once, handing each block to every destination that still
    needs it; the SHA-256 of what was read."""
    digest = hashlib.sha256()
    reads: deque[tuple[int, asyncio.Future[bytes]]] = deque()
    offset, told = start, 0
    try:
        while True:
            while offset < source.size and len(reads) < READ_AHEAD:
                length = min(BLOCK, source.size - offset)
                reads.append((offset, asyncio.ensure_future(source.read(offset, length))))
                offset += length
            if not reads or not any(landing.live for landing in landings):
                break
            at, pending = reads.popleft()
            block = await pending
            if len(block) != min(BLOCK, source.size - at):
                raise TransferFailed(f"{source.shown} became shorter while it was read")
            digest.update(block)
            for landing in landings:
                if landing.live and at >= landing.offset:
                    await landing.put(block, at, budget)
            told = _progress(landings, at + len(block), source.size, told)
        await asyncio.gather(*(landing.settle() for landing in landings))
    finally:
        for _, pending in reads:
            pending.cancel()
        await asyncio.gather(*(p for _, p in reads), return_exceptions=True)
    return digest.hexdigest()


def _progress(landings: list[Landing], done: int, size: int, told: int) -> int:
    if size < PROGRESS_FROM:
        return told
    tenth = done * 10 // size
    if tenth > told and done < size:
        for landing in landings:
            if landing.live:
                landing.say(f"sent {size_text(done)} of {size_text(size)} ({tenth * 10}%)\n")
        return tenth
    return told


async def _finish(pool: SshPool, landing: Landing, digest: str, mode: int) -> None:
    if not landing.live:
        return
    try:
        await landing.finish(pool, digest, mode)
    except Exception as exc:  # a destination's failure is its own outcome
        landing.fail(exc)
