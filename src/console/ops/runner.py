"""Runners: each run executes in a process of its own, detached from whoever started it, with
a log beside the store that every account sharing the store can write; or, for `run` without
`--detach` and the demo, in the process that launched it.

A run that is created but whose runner cannot start never stays queued: the spawner waits
until the runner has taken the run on, and records the run as failed, with the reason, when
the runner could not be started or ended before it began.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from console import events as ev
from console.errors import ConsoleError, UsageError
from console.identity import current_operator
from console.paths import StoreAddress, default_store_path, is_team_store
from console.store import open_store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.engine.runner import Listener
    from console.state import RunState

Spawner = Callable[[str, StoreAddress, bool], None]
"""Starts a runner for a recorded run: its id, the store, whether to accept new host keys."""

Display = Callable[["RunState"], "Listener"]
"""Makes what shows a run's progress as it goes (a listener, perhaps a context manager)."""

STARTUP_WAIT = 30.0
"""Seconds the spawner waits for a runner to take its run on before leaving it to itself."""


def spawn_runner(run_id: str, store: StoreAddress, accept_new: bool) -> None:
    """Start a runner for a created run and wait until it has taken the run on; a runner that
    cannot start ends the run `failed` with the reason, which is raised as a sentence."""
    path = runner_log(store, run_id)
    try:
        log = _open_log(path, shared(store))
    except OSError as exc:
        fail(store, run_id, f"the runner's log {path} cannot be created ({_why(exc)})")
    seen = _newest(store, run_id)
    command = [sys.executable, "-m", "console", "_runner", run_id, "--store", str(store)]
    if accept_new:
        command.append("--accept-new-host-keys")
    with log:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            fail(store, run_id, f"the runner could not be started ({_why(exc)})")
    _wait_taken_on(store, run_id, process, path, seen)


def runner_log(store: StoreAddress, run_id: str) -> Path:
    """Where a run's runner writes what it prints: beside a store file, or in the user's data
    folder for a team store."""
    folder = default_store_path().parent if is_team_store(store) else Path(store).parent
    return folder / "runners" / f"{run_id}.log"


def shared(store: StoreAddress) -> bool:
    """Whether the store file lives in a team's setgid folder (its files are then the group's)."""
    if is_team_store(store):
        return False
    try:
        return bool(Path(store).parent.stat().st_mode & stat.S_ISGID)
    except OSError:
        return False


def _open_log(path: Path, team: bool) -> IO[bytes]:
    """Open (creating it and its folder, with the store's group and permissions) a runner's log."""
    folder_mode, file_mode = (0o2770, 0o660) if team else (0o700, 0o600)
    folder = path.parent
    folder.parent.mkdir(parents=True, exist_ok=True)  # the data folder, on a new bastion
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=folder_mode)
        os.chmod(folder, folder_mode)  # the umask must not take the group's rights away
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, file_mode)
    if os.fstat(fd).st_uid == os.geteuid():
        os.fchmod(fd, file_mode)
    return os.fdopen(fd, "ab")


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return (
            "this account may not write there; the folder must be writable by the group that "
            "shares the store (chmod 2770)"
        )
    return (exc.strerror or str(exc)).lower()


def _newest(store: StoreAddress, run_id: str) -> int:

    reader = open_store(store)
    try:
        return reader.newest_id(run_id)
    finally:
        reader.close()


def _wait_taken_on(
    store: StoreAddress, run_id: str, process: subprocess.Popen[bytes], log: Path, seen: int
) -> None:
    """Wait until the runner has recorded that it started (or ended) the run, after event
    `seen`; if it exits without doing either, record the run as failed with its last line."""

    reader = open_store(store)
    deadline = time.monotonic() + STARTUP_WAIT
    try:
        while time.monotonic() < deadline:
            exited = process.poll() is not None
            found = reader.read(run_id, seen, kinds=(ev.RunStarted.kind, ev.RunFinished.kind))
            if found:
                _refuse_if_never_started(found[-1].event, found[0].event)
                return
            if exited:
                said = _last_line(log) or "it printed nothing"
                fail(
                    store,
                    run_id,
                    f"its runner exited with status {process.returncode} before starting it: {said}",
                )
            time.sleep(0.05)
    finally:
        reader.close()


def _refuse_if_never_started(last: ev.Event, first: ev.Event) -> None:
    """A run that ended before its runner started it (the runner refused it) is refused here."""
    if isinstance(first, ev.RunFinished) and isinstance(last, ev.RunFinished):
        raise UsageError(f"run {last.run_id} could not start: {last.message}")


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = log.read_bytes()[-4096:].decode("utf-8", "replace").strip().splitlines()
        return lines[-1].removeprefix("opsconsole: ") if lines else ""
    return ""


def fail(store: StoreAddress, run_id: str, why: str) -> NoReturn:
    """Record that a run could not start, unless it has ended already, and raise the reason."""

    with contextlib.suppress(ConsoleError):
        writer = open_store(store)
        try:
            ended = writer.read(run_id, kinds=(ev.RunFinished.kind,))
            if not ended:
                writer.append(
                    [ev.RunFinished(run_id=run_id, at=time.time(), status="failed", message=why)]
                )
        finally:
            writer.close()
    raise UsageError(f"run {run_id} could not start: {why}; it is recorded as failed")


async def run_here(
    plan: RunPlan,
    store: StoreAddress,
    accept_new: bool,
    existing: list[ev.Event],
    display: Display | None = None,
    after: Callable[[RunPlan, str], None] | None = None,
) -> str:
    """Execute a created run in this process, showing its progress; Ctrl-C and SIGTERM cancel
    it cleanly; then `after` (what follows the run). Its final status."""
    from console.engine.runner import Engine

    engine = Engine(plan, lambda: open_store(store), accept_new)
    shown = display(engine.state) if display else None
    if shown is not None:
        engine.add_listener(shown)
    loop = asyncio.get_running_loop()
    # Only the main thread may take signals; a run made in another thread (the demo's history)
    # ends with the process that owns it.
    signals = (
        (signal.SIGINT, signal.SIGTERM)
        if threading.current_thread() is threading.main_thread()
        else ()
    )
    for sig in signals:
        loop.add_signal_handler(sig, engine.cancel, current_operator())
    try:
        with (
            open_store(store) as holder,
            shown if isinstance(shown, contextlib.AbstractContextManager) else nullcontext(),
        ):
            holder.hold_run(plan.run_id)  # for as long as this process runs it
            status = await engine.execute(existing)
        if after is not None:
            await asyncio.to_thread(after, engine.plan, status)
        return status
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def as_batch() -> None:
    """Schedule this runner (and the threads it starts) as a batch job, niced by 5.

    A runner works in bursts nobody waits on to the millisecond; the consoles sharing the
    bastion's cores do, with a person at the keys. Under SCHED_BATCH the kernel never lets a
    runner waking up preempt them, and at nice 5 a console gets three times the runner's
    share while both want a core. A runner alone still has every idle core.
    """
    if hasattr(os, "sched_setscheduler"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    with contextlib.suppress(OSError):
        os.nice(5)
    lower_autogroup(5)


def lower_autogroup(nice: int) -> None:
    """Give this runner's session the same lower share among the bastion's sessions.

    Where the kernel groups processes by session (autogroup, on by default in most
    distributions' kernels), a process's own nice counts only inside its session: a runner
    in a session of its own would still weigh as much as any console. The kernel lets only
    one unprivileged process change a group's nice in each tenth of a second, so a runner
    that starts beside another tries again for a moment; nowhere to write means no groups.
    """
    for _ in range(5):
        try:
            Path("/proc/self/autogroup").write_text(f"{nice}\n")
            return
        except BlockingIOError:
            time.sleep(0.11)
        except OSError:
            return
