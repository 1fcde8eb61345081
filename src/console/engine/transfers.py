"""A run's file sends: uploads from the bastion and transfers between hosts.

The destinations of one step that reach it together are sent the file from one read (see
`rendezvous`), and each read is recorded as a `FileTransferred` event: source, size, digest
and every destination's result, never the content.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Hashable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from console import events as ev
from console.engine.rendezvous import Rendezvous, Start, alone
from console.errors import TransferFailed, TransportError
from console.model.base import Scalar
from console.model.pipeline import Step
from console.model.templates import render
from console.sizes import size_text
from console.transport import sftp
from console.transport.broadcast import Sent, send
from console.transport.landing import Landing
from console.transport.sources import Source
from console.transport.ssh import OutputSink, SshPool
from console.transport.target import HostTarget

SourceOf = Callable[[Step, str], tuple[HostTarget, str]]
"""The host a transfer step on a host reads from and the path there; refused (TransferFailed)
when the run may not read from it."""


@dataclass(frozen=True)
class Spot:
    """Where in the run a send happens: its stage, step, attempt and the step's place."""

    stage: str
    step: str
    index: int | None
    """The step's place in its stage; None outside a stage's fan-out (a rollback step)."""
    more: bool
    """Another attempt follows this one if it fails."""


class Transfers:
    """Sends a run's files and records each send."""

    def __init__(
        self,
        run_id: str,
        pool: SshPool,
        emit: Callable[[ev.Event], None],
        masked: Callable[[str], str],
        source_of: SourceOf,
    ) -> None:
        self.run_id, self.pool, self.emit = run_id, pool, emit
        self.masked, self.source_of = masked, source_of
        self.rendezvous = Rendezvous()

    def tag(self, spot: Spot) -> str:
        """Names a destination's part: the same for every attempt of one step in this run."""
        return hashlib.sha256(f"{self.run_id}/{spot.stage}/{spot.step}".encode()).hexdigest()[:12]

    async def land(
        self, spot: Spot, host: str, key: Hashable, landing: Landing, start: Start
    ) -> Landing:
        """Send to one destination with the others of its step; the landing, done."""
        if spot.index is None:
            await alone(landing, start)
        else:
            await self.rendezvous.meet(host, spot.index, key, landing, start)
        return landing

    def record(self, spot: Spot, shown: str, sent: Sent, landings: list[Landing]) -> None:
        """The send as an event (and so an audit record)."""
        self.emit(
            ev.FileTransferred(
                run_id=self.run_id,
                at=time.time(),
                stage=spot.stage,
                step=spot.step,
                source=shown,
                size=sent.size,
                sha256=sent.digest,
                destinations={
                    landing.target.name: {
                        "path": landing.dest,
                        "result": "ok" if landing.delivered else self._why(landing),
                        "resumed_from": landing.resumed_from,
                    }
                    for landing in landings
                },
            )
        )

    def received(
        self, spot: Spot, shown: str, path: str, sizes: list[int], digest: str, result: str
    ) -> None:
        """A download as an event: the bastion is its one destination."""
        self.emit(
            ev.FileTransferred(
                run_id=self.run_id,
                at=time.time(),
                stage=spot.stage,
                step=spot.step,
                source=shown,
                size=sizes[0] if sizes else 0,
                sha256=digest,
                destinations={
                    "bastion": {"path": path, "result": self.masked(result), "resumed_from": 0}
                },
            )
        )

    def _why(self, landing: Landing) -> str:
        if landing.dropped:
            return "cancelled"
        return self.masked(str(landing.error or "not sent"))


async def upload(
    transfers: Transfers,
    spot: Spot,
    target: HostTarget,
    values: dict[str, Scalar],
    step: Step,
    local: tuple[Path, str, str, bool],
    sink: OutputSink,
) -> tuple[str, str]:
    """Send a local file the plan bound; (its path as rendered, its SHA-256)."""
    assert step.upload is not None
    base, path, expected, produced = local
    dest = render(step.upload.dest, values, None)
    landing = _landing(transfers, spot, target, dest, step.upload.mode, sink)

    async def start(landings: list[Landing]) -> None:
        opened = sftp.local_source(base / path, path, produced, expected)
        await _send_from(transfers, spot, f"bastion:{path}", opened, landings, expected)

    await transfers.land(spot, target.name, ("upload", path), landing, start)
    return path, _outcome(landing, sink, f"uploaded {path} to {dest}")


async def transfer(
    transfers: Transfers,
    spot: Spot,
    target: HostTarget,
    values: dict[str, Scalar],
    step: Step,
    sink: OutputSink,
) -> tuple[str, str]:
    """Send a file from the host `from` names to this host, through memory; (dest, SHA-256)."""
    spec = step.transfer
    assert spec is not None
    origin, src = transfers.source_of(step, target.name)
    dest = render(spec.dest, values, None)
    landing = _landing(transfers, spot, target, dest, spec.mode, sink)

    async def start(landings: list[Landing]) -> None:
        opened = sftp.host_source(transfers.pool, origin, src)
        await _send_from(transfers, spot, f"{origin.name}:{src}", opened, landings, "")

    await transfers.land(spot, target.name, ("transfer", origin.name, src), landing, start)
    return dest, _outcome(landing, sink, f"received {origin.name}:{src} as {dest}")


def _landing(
    transfers: Transfers,
    spot: Spot,
    target: HostTarget,
    dest: str,
    mode: str | None,
    sink: OutputSink,
) -> Landing:
    return Landing(
        target,
        dest,
        int(mode, 8) if mode else None,
        transfers.tag(spot),
        say=lambda text: sink("stdout", text.encode()),
        keep_part=spot.more,
    )


async def _send_from(
    transfers: Transfers,
    spot: Spot,
    shown: str,
    opened: AbstractAsyncContextManager[Source],
    landings: list[Landing],
    expected: str,
) -> None:
    """Send what `opened` opens to the landings and record it; a source that cannot be opened
    fails them all, and is recorded too."""
    sent: Sent | None = None
    try:
        async with opened as source:
            sent = await send(transfers.pool, source, landings, expected)
            transfers.record(spot, shown, sent, landings)
    except (TransferFailed, TransportError) as exc:
        if sent is not None:
            return  # the source went away as it was let go: what was sent is recorded
        for landing in landings:
            landing.fail(exc)
        transfers.record(spot, shown, Sent(0, ""), landings)


def _outcome(landing: Landing, sink: OutputSink, what: str) -> str:
    """Say how it went on the host's output; raise its failure."""
    if landing.error is not None:
        raise landing.error
    if not landing.delivered:
        raise TransferFailed("cancelled before the file was put in place")
    resumed = f", going on from {size_text(landing.resumed_from)}" if landing.resumed_from else ""
    sink("stdout", f"{what} (sha256 {landing.digest}{resumed})\n".encode())
    return landing.digest
