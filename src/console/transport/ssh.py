"""SSH connections: one per host, opened on first use with a cap, reused by every step."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from console.errors import HostKeyRejected, TransportError
from console.transport.hostkeys import KeyDecision, KnownHosts, fingerprint
from console.transport.target import HostTarget

OutputSink = Callable[[str, bytes], None]
"""Receives (stream, bytes) as a command writes them; stream is 'stdout' or 'stderr'."""

Pace = Callable[[], Awaitable[None]]
"""Awaited after each piece of output is handed on: returns once there is room for more."""

PARTIAL_FLUSH = 0.1
"""Seconds a partial line may wait for its newline before it is passed on anyway."""

LONG_LINE = 65536
"""Bytes of output handed on at most at once (whole lines where they fit): a flood on one
line cannot fill memory, and no view has to decode more than this for one event."""

WINDOW = 2 << 20
"""Bytes a host may send ahead on a channel before it waits for us, and what one read takes,
when few channels run at once.

Reading the whole window at once matters: asyncssh opens the window again, in full, each
time its buffer drains below its limit, so reading less than a window per pause would let a
host that outpaces the store send more than it is ever asked to wait for."""

IN_FLIGHT = 64 << 20
"""Bytes of windows shared by the channels expected to run at once: each channel holds up
to two windows (the one it has read and the one asyncssh buffers behind it), so 500 hosts
flooding at once while the store stalls hold about 128 MiB, not 2 GiB."""

MIN_WINDOW = LONG_LINE
"""The smallest window a channel gets however many run: one piece of a long line."""

TERM_GRACE = 2.0
"""Seconds between asking a timed-out command to stop and killing it."""

CLOSE_GRACE = 5.0
"""Seconds the connections have to close at the end of a run before they are cut."""

PGID_MARKER = b"opsconsole-pgid="
"""The first stderr line of every command names its process group, so that a timeout or a
cancel can end the whole group even where sshd refuses signal requests (root logins)."""


def cipher_order(cpu_flags: str | None = None) -> list[str]:
    """The ciphers offered, fastest first for this machine: AES-GCM where the processor has AES
    instructions (a 200 MB upload to ten hosts takes 0.6 of the time ChaCha20 takes there),
    else asyncssh's own order, which puts ChaCha20 first."""
    offered = [name.decode() for name in get_default_encryption_algs()]
    if cpu_flags is None:
        try:
            cpu_flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpu_flags = ""
    words = {
        w
        for line in cpu_flags.splitlines()
        if line.startswith(("flags", "Features"))
        for w in line.split()
    }
    if "aes" not in words:
        return offered
    gcm = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
    return [c for c in gcm if c in offered] + [c for c in offered if c not in gcm]


CIPHERS = cipher_order()


@dataclass(frozen=True)
class ExecResult:
    """How a remote command ended."""

    exit_code: int | None
    signal: str | None
    timed_out: bool = False


class _Client(asyncssh.SSHClient):
    """Records the offered host key and trusts a new one only when the operator opted in."""

    def __init__(self, target: HostTarget, known: KnownHosts, decision: KeyDecision) -> None:
        self._target, self._known, self._decision = target, known, decision

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self._decision.offered = key
        self._decision.known = self._known.keys_for(self._target.address, self._target.port)
        if key in self._decision.known:  # recorded by a concurrent handshake to the same address
            return True
        if self._known.accept_new and not self._decision.known:
            self._known.remember(self._target.address, self._target.port, key)
            self._decision.accepted_new = True
            return True
        return False


class SshPool:
    """Opens and caches connections per host; every failure becomes a TransportError sentence."""

    def __init__(
        self,
        accept_new_host_keys: bool = False,
        connect_concurrency: int = 100,
        on_accept: Callable[[str, str, Path], None] | None = None,
        pace: Pace | None = None,
    ) -> None:
        self._accept_new = accept_new_host_keys
        self._pace = pace or _no_wait
        self._gate = asyncio.Semaphore(connect_concurrency)
        self._conns: dict[str, asyncio.Task[asyncssh.SSHClientConnection]] = {}
        self._known: dict[Path, KnownHosts] = {}
        self._on_accept = on_accept
        self._window = WINDOW

    def expect(self, channels: int) -> None:
        """Size the windows of channels opened from now on for `channels` running at once."""
        self._window = max(MIN_WINDOW, min(WINDOW, IN_FLIGHT // max(1, channels)))

    @property
    def transfer_budget(self) -> int:
        """Bytes one file transfer may have in flight: what a channel may hold, two windows."""
        return 2 * self._window

    def _known_hosts(self, path: Path) -> KnownHosts:
        if path not in self._known:
            self._known[path] = KnownHosts(path, self._accept_new)
        return self._known[path]

    async def connect(self, target: HostTarget) -> asyncssh.SSHClientConnection:
        """The host's connection, opened once; later callers share the same attempt."""
        task = self._conns.get(target.name)
        if task is None:
            task = asyncio.ensure_future(self._open(target))
            self._conns[target.name] = task
        return await asyncio.shield(task)

    async def _open(self, target: HostTarget) -> asyncssh.SSHClientConnection:
        tunnel = await self.connect(target.jump) if target.jump else None
        known = self._known_hosts(target.known_hosts)
        decision = KeyDecision()
        async with self._gate:
            try:
                conn = await asyncio.wait_for(
                    self._handshake(target, known, decision, tunnel), target.connect_timeout * 2
                )
            except (TimeoutError, asyncssh.Error, OSError) as exc:
                raise _explain(target, exc, decision) from None
        if decision.accepted_new and decision.offered and self._on_accept:
            self._on_accept(target.name, fingerprint(decision.offered), target.known_hosts)
        return conn

    async def _handshake(
        self,
        target: HostTarget,
        known: KnownHosts,
        decision: KeyDecision,
        tunnel: asyncssh.SSHClientConnection | None,
    ) -> asyncssh.SSHClientConnection:
        keys = [str(target.identity_file)] if target.identity_file else ()
        return await asyncssh.connect(
            target.address,
            port=target.port,
            tunnel=tunnel,
            username=target.user,
            config=[],  # never read ~/.ssh/config: it could turn host-key checks or agent forwarding on
            known_hosts=known.database(),
            client_factory=lambda: _Client(target, known, decision),
            client_keys=keys,
            agent_forwarding=False,
            preferred_auth="publickey",
            password=None,
            kbdint_auth=False,
            encryption_algs=CIPHERS,
            connect_timeout=target.connect_timeout,
            login_timeout=target.connect_timeout,
            keepalive_interval=target.keepalive_interval,
            keepalive_count_max=target.keepalive_count,
        )

    async def run(
        self,
        target: HostTarget,
        command: str,
        sink: OutputSink,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> ExecResult:
        """Run a command, streaming its output to `sink`; a timeout terminates it remotely."""
        conn = await self.connect(target)
        wrapped = f"echo {PGID_MARKER.decode()}$$ >&2; {command}"
        try:
            process = await conn.create_process(
                wrapped, encoding=None, env=env or {}, window=self._window
            )
        except (asyncssh.Error, OSError) as exc:
            raise _lost(target, exc) from None
        flow = _Flow(self._pace, self._window)
        return await _Supervisor(conn, target, process, sink, flow).run(timeout, stdin)

    def forget(self, name: str) -> None:
        """Drop a host's connection, so that the next step connects (and checks its key) afresh."""
        task = self._conns.pop(name, None)
        if task is None:
            return
        if task.done() and not task.cancelled() and task.exception() is None:
            task.result().close()
        else:
            task.cancel()

    async def close(self) -> None:
        """Close every connection that was opened, cutting those that do not close in time."""
        attempts = list(self._conns.values())
        for task in attempts:
            task.cancel()  # a no-op for those already settled
        # A handshake that ends as it is cancelled may still hand back an open connection
        # (asyncio.wait_for before Python 3.12 can lose the cancellation): let every attempt
        # settle, then close what each one holds, or the runner would wait on it forever.
        if attempts:
            await asyncio.wait(attempts, timeout=CLOSE_GRACE)
        opened = [
            t.result() for t in attempts if t.done() and not t.cancelled() and not t.exception()
        ]
        for conn in opened:
            conn.close()
        if not opened:
            return
        _, late = await asyncio.wait(
            [asyncio.ensure_future(c.wait_closed()) for c in opened], timeout=CLOSE_GRACE
        )
        if late:
            for conn in opened:
                conn.abort()  # a peer that never answers the close is not waited for
            for waiter in late:
                waiter.cancel()


@dataclass(frozen=True)
class _Flow:
    """How one channel's output is read: its window, and what each piece waits on."""

    pace: Pace
    window: int


class _Supervisor:
    """Streams one remote command's output and ends it (its whole process group) when told."""

    def __init__(
        self,
        conn: asyncssh.SSHClientConnection,
        target: HostTarget,
        process: asyncssh.SSHClientProcess[bytes],
        sink: OutputSink,
        flow: _Flow,
    ) -> None:
        self.conn, self.target, self.process, self.sink = conn, target, process, sink
        self.flow = flow
        self.pgid: int | None = None

    async def run(self, timeout: float | None, stdin: bytes | None) -> ExecResult:
        """Wait for the command to end, its timeout to pass, or the caller to cancel."""
        process = self.process
        if stdin is not None:
            process.stdin.write(stdin)
        process.stdin.write_eof()
        pumps = asyncio.gather(
            _pump(process.stdout, "stdout", self.sink, self.flow),
            _pump(process.stderr, "stderr", self.sink, self.flow, self._marker),
        )
        try:
            async with asyncio.timeout(timeout):
                await pumps
                completed = await process.wait()
        except TimeoutError:
            await self.stop()
            pumps.cancel()
            return ExecResult(None, None, timed_out=True)
        except asyncio.CancelledError:
            await asyncio.shield(self.stop())
            pumps.cancel()
            raise
        except (asyncssh.Error, OSError) as exc:
            pumps.cancel()
            raise _lost(self.target, exc) from None
        if process.channel.get_exit_status() is None and completed.exit_signal is None:
            raise _lost(self.target, ConnectionError("the channel closed without an exit status"))
        signal = completed.exit_signal[0] if completed.exit_signal else None
        return ExecResult(completed.exit_status if signal is None else None, signal)

    def _marker(self, line: bytes) -> bool:
        if (
            self.pgid is None
            and line.startswith(PGID_MARKER)
            and line[len(PGID_MARKER) :].strip().isdigit()
        ):
            self.pgid = int(line[len(PGID_MARKER) :])
            return True
        return False

    async def stop(self) -> None:
        """TERM, then KILL, the command's process group; then close the channel."""
        for signal in ("TERM", "KILL"):
            with contextlib.suppress(asyncssh.Error, OSError):
                self.process.send_signal(signal)
            if self.pgid:
                with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
                    await asyncio.wait_for(
                        self.conn.run(f"kill -s {signal} -- -{self.pgid}", check=False), TERM_GRACE
                    )
            try:
                await asyncio.wait_for(self.process.wait_closed(), TERM_GRACE)
                return
            except TimeoutError:
                continue
        self.process.close()


async def _pump(
    reader: asyncssh.SSHReader[bytes],
    stream: str,
    sink: OutputSink,
    flow: _Flow,
    intercept: Callable[[bytes], bool] | None = None,
) -> None:
    """Pass whole lines on at once and partial lines after a short wait, reading a window at a
    time no faster than the flow's pace."""
    pending = b""
    while True:
        try:
            wait = PARTIAL_FLUSH if pending else None
            chunk = await asyncio.wait_for(reader.read(flow.window), wait)
        except TimeoutError:
            sink(stream, pending)
            pending = b""
            continue
        if not chunk:
            if pending:
                sink(stream, pending)
            return
        data = pending + chunk
        if intercept is not None:
            first, newline, rest = data.partition(b"\n")
            if not newline and len(data) < 64:
                pending = data
                continue
            if intercept(first):
                data = rest
            intercept = None
        cut = data.rfind(b"\n") + 1
        if len(data) - cut >= LONG_LINE:  # a line with no end in sight goes on in pieces
            cut = len(data)
        for piece in _pieces(data, cut):
            sink(stream, piece)
            await (
                flow.pace()
            )  # unread output stays in the SSH window, which stops the remote writer
        pending = data[cut:]


def _pieces(data: bytes, stop: int) -> Iterator[bytes]:
    """The first `stop` bytes as whole lines in pieces of at most LONG_LINE bytes; a longer
    line alone, in such pieces."""
    start = 0
    while start < stop:
        end = data.rfind(b"\n", start, min(start + LONG_LINE, stop)) + 1
        if end <= start:
            end = min(start + LONG_LINE, stop)
        yield data[start:end]
        start = end


async def _no_wait() -> None:
    return None


def _lost(target: HostTarget, exc: BaseException) -> TransportError:
    return TransportError(
        f"host '{target.name}': the connection was lost mid-step ({_reason(exc)}); "
        "the command may or may not have finished there"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.rstrip(".")


def _explain(target: HostTarget, exc: BaseException, decision: KeyDecision) -> TransportError:
    where = f"host '{target.name}' ({target.address}:{target.port})"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable) or (
        decision.offered
        and not decision.accepted_new
        and isinstance(exc, asyncssh.Error)
        and "host key" in str(exc).lower()
    ):
        return HostKeyRejected(
            decision.describe(target.name, target.address, target.port, target.known_hosts)
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        how = (
            f"the key {target.identity_file}"
            if target.identity_file
            else "the agent's and default keys"
        )
        return TransportError(
            f"{where}: authentication failed for user '{target.user}' with {how}; "
            "check that its public key is in the host's authorized_keys"
        )
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(
            f"{where}: connection refused; is sshd running on port {target.port}?"
        )
    if isinstance(exc, socket.gaierror):
        return TransportError(f"{where}: the address cannot be resolved ({exc.strerror})")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TransportError(
            f"{where}: no SSH answer within {target.connect_timeout:g}s "
            "(connect_timeout); the host may be down or filtered"
        )
    return TransportError(f"{where}: cannot connect ({_reason(exc)})")
