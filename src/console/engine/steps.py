"""Execute one step on one host through the transport, and say how it ended."""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from console import events as ev
from console.engine import transfers
from console.engine.files import FileBook
from console.engine.transfers import Spot, Transfers
from console.errors import HostKeyRejected, TransferFailed, TransportError
from console.model.base import Scalar
from console.model.pipeline import Step
from console.model.templates import refer_to_secrets, render, render_shell, secrets_in
from console.secrets import prologue, stdin_for
from console.transport import sftp
from console.transport.ssh import OutputSink, SshPool
from console.transport.target import HostTarget


@dataclass(frozen=True)
class Outcome:
    """How a step ended on a host, in the terms of StepFinished."""

    status: ev.StepStatus
    exit_code: int | None = None
    signal: str | None = None
    message: str = ""
    key_refused: bool = False
    """The host's key was unknown or changed: the audit trail must say so."""
    file: str = ""
    digest: str = ""
    """A transfer's local file (as rendered) and the SHA-256 of what it moved."""


@dataclass(frozen=True)
class StepContext:
    """What a step needs beyond itself: the host, its template values and where local files are."""

    target: HostTarget
    values: dict[str, Scalar]
    base_dir: Path
    pool: SshPool
    sink: OutputSink
    secrets: Mapping[str, str] = field(default_factory=dict)
    """The run's secret values by name (held in memory only, handed over on stdin)."""
    files: FileBook = field(default_factory=FileBook)
    """The local files the run's plan binds: scripts' bytes, uploads' digests."""
    transfers: Transfers | None = None
    """The run's file sends (uploads and transfers meet there to share one read)."""
    spot: Spot | None = None
    """Where in the run this attempt is, for a step that sends a file."""


async def execute(step: Step, ctx: StepContext) -> Outcome:
    """Run one attempt of a step; transport failures become `unreachable`."""
    try:
        return await _dispatch(step, ctx)
    except HostKeyRejected as exc:
        return Outcome("unreachable", message=str(exc), key_refused=True)
    except TransportError as exc:
        return Outcome("unreachable", message=str(exc))
    except TransferFailed as exc:
        return Outcome("failed", message=str(exc))


async def _dispatch(step: Step, ctx: StepContext) -> Outcome:
    if step.run is not None or step.check is not None:
        text = step.run if step.run is not None else step.check or ""
        names = secrets_in(text)
        command = render_shell(refer_to_secrets(text), ctx.values)
        if not names:
            return await _command(command, step, ctx)
        stdin = stdin_for([ctx.secrets[n] for n in names])
        return await _command(prologue(names) + command, step, ctx, stdin)
    if step.script is not None:
        return await _script(step, ctx)
    if step.upload is not None:
        return await _upload(step, ctx)
    if step.transfer is not None:
        assert ctx.transfers is not None and ctx.spot is not None
        args = (ctx.transfers, ctx.spot, ctx.target, ctx.values, step, ctx.sink)
        dest, digest = await transfers.transfer(*args)
        return Outcome("ok", 0, file=dest, digest=digest)
    if step.download is not None:
        return await _download(step, ctx)
    raise AssertionError(f"step kind {step.kind} is not executed on hosts")


async def _command(
    command: str, step: Step, ctx: StepContext, stdin: bytes | None = None
) -> Outcome:
    result = await ctx.pool.run(ctx.target, command, ctx.sink, step.timeout, stdin=stdin)
    if result.timed_out:
        return Outcome(
            "timed_out", message=f"stopped after the step's timeout of {step.timeout:g}s"
        )
    if result.signal:
        return Outcome("failed", signal=result.signal, message=f"killed by signal {result.signal}")
    status: ev.StepStatus = "ok" if result.exit_code == 0 else "failed"
    return Outcome(
        status,
        result.exit_code,
        message="" if status == "ok" else f"exit status {result.exit_code}",
    )


async def _upload(step: Step, ctx: StepContext) -> Outcome:
    """Send a local file bound to the plan; its bytes must be the ones bound."""
    assert step.upload is not None and ctx.transfers is not None and ctx.spot is not None
    path = os.path.normpath(render(step.upload.src, ctx.values, None))
    expected, produced = ctx.files.expected(path)
    local = (ctx.base_dir, path, expected, produced)
    args = (ctx.transfers, ctx.spot, ctx.target, ctx.values, step, local, ctx.sink)
    path, digest = await transfers.upload(*args)
    return Outcome("ok", 0, file=path, digest=digest)


async def _download(step: Step, ctx: StepContext) -> Outcome:
    """Bring a host's file here, verified; recorded whether or not it came."""
    assert step.download is not None and ctx.transfers is not None and ctx.spot is not None
    src = render(step.download.src, ctx.values, None)
    rendered = render(step.download.dest, ctx.values, None)
    shown = f"{ctx.target.name}:{src}"
    sizes: list[int] = []
    try:
        local = _inside(ctx.base_dir, rendered)
        digest = await sftp.download(ctx.pool, ctx.target, src, local, sizes)
    except (TransferFailed, TransportError) as exc:
        ctx.transfers.received(ctx.spot, shown, rendered, sizes, "", str(exc))
        raise
    ctx.transfers.received(ctx.spot, shown, rendered, sizes, digest, "ok")
    ctx.sink("stdout", f"downloaded {src} to {local} (sha256 {digest})\n".encode())
    return Outcome("ok", 0, file=os.path.normpath(rendered), digest=digest)


async def _script(step: Step, ctx: StepContext) -> Outcome:
    """Send the script's bytes as the run bound them to a private temp path, run it with params
    in its environment, remove it."""
    assert step.script is not None
    data, digest = ctx.files.script(step.script)
    remote = f"/tmp/.opsconsole-script-{secrets.token_hex(8)}"
    await sftp.put_bytes(ctx.pool, ctx.target, data, remote, "0700", digest, step.script)
    env = " ".join(f"{_env_name(k)}={shlex.quote(str(v))}" for k, v in ctx.values.items())
    command = f"env {env} {remote}; status=$?; rm -f {remote}; exit $status"
    return await _command(command, step, ctx)


def _inside(base: Path, rendered: str) -> Path:
    """A download's local path, refused when its rendered name (a var holding `../`, an
    absolute path, a link) would put it outside the inventory's folder."""
    local = base / rendered
    if not local.resolve().is_relative_to(base.resolve()):
        raise TransferFailed(
            f"the download's destination {rendered!r} leads outside the inventory's folder "
            f"{base}; nothing was written"
        )
    return local


def _env_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in name).upper()
    return f"OPSCONSOLE_{cleaned}"
