"""Small helpers the tests share: run the CLI, read a run's state, wait for a condition."""

from __future__ import annotations

import ctypes
import importlib
import io
import json
import os
import pkgutil
import pwd
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from console.cli import main
from console.ops.runs import read_state as run_state
from console.state import RunState
from console.store import open_store
from tests.conftest import Estate


def run_cli(estate: Estate, *args: str) -> int:
    """Run `opsconsole` in this process with the estate's inventory and store."""
    return main(estate.cli(*args))


def state_of(estate: Estate, ref: str = "last") -> RunState:
    """The folded state of a run in the estate's store."""
    store = open_store(estate.store)
    try:
        return run_state(store, ref)
    finally:
        store.close()


def cells(state: RunState) -> dict[tuple[str, str], str]:
    """(step, host) -> status."""
    return {(c.step, c.host): c.status for c in state.cells.values()}


def spawn_cli(estate: Estate, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `opsconsole` as another process, as a second operator's shell would."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "console", *estate.cli(*args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def show_json(estate: Estate, ref: str = "last") -> dict[str, Any]:
    """`opsconsole show RUN --json` from another process, parsed."""
    result = spawn_cli(estate, "show", ref, "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until `condition()` holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


SECOND_ACCOUNT = "opsconsole-ssh"
"""A second operating-system account (the test sshd's login user, created when run as root)."""


@dataclass
class Child:
    """`opsconsole` running in a forked process that has become another account."""

    pid: int
    out: int
    err: int

    def result(self) -> tuple[int, str, str]:
        """Wait for it: exit status, standard output and standard error."""
        with os.fdopen(self.out) as out, os.fdopen(self.err) as err:
            stdout, stderr = out.read(), err.read()
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status), stdout, stderr


def _load_every_module() -> None:
    """Import all of `console` (and so what it imports) before a child drops to another
    account: the commands import lazily, and this interpreter's files may live where that
    account cannot read (under /root), unlike an install on a bastion."""
    import concurrent.futures.thread  # noqa: F401  (asyncio's thread pool, loaded on first use)

    import console

    for found in pkgutil.walk_packages(console.__path__, "console."):
        if not found.name.endswith("__main__"):
            importlib.import_module(found.name)


def fork_as(
    user: str,
    argv: list[str],
    start_at: float | None = None,
    machine: str | None = None,
    home: Path | None = None,
) -> Child:
    """Run `console.cli.main(argv)` as `user`: a real process of that account, no sudo needed.

    The child is forked from this interpreter (modules already loaded), drops to the account's
    uid and gid, and then runs the command exactly as that person's shell would; with
    `machine`, on a machine of that name (a UTS namespace of its own, which the processes it
    starts share), with `home` as its home folder.
    """
    account = pwd.getpwnam(user)
    _load_every_module()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 99
        try:
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
            if machine is not None:
                _become_machine(machine)
            if home is not None:
                os.environ["HOME"] = str(home)
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            if start_at is not None:
                time.sleep(max(0.0, start_at - time.time()))
            code = main(argv)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    return Child(pid, out_r, err_r)


def _become_machine(name: str) -> None:
    """Give this process (and its children) a host name of its own, as another machine has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUTS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUTS)")
    socket.sethostname(name)


CLONE_NEWUTS = 0x04000000
"""From <sched.h>: a new UTS namespace (host name) for the calling process."""


def shared_file(estate: Estate, user: str = SECOND_ACCOUNT) -> Estate:
    """The estate with its store a file `user`'s group may write, in a setgid folder of that
    group, as a team sharing a SQLite file had it (its administrator made the file 0660:
    opsconsole itself creates a store for one account)."""
    team = estate.root / "team"
    team.mkdir()
    os.chown(team, -1, pwd.getpwnam(user).pw_gid)
    team.chmod(0o2770)
    store = team / "store.db"
    fd = os.open(store, os.O_CREAT | os.O_WRONLY, 0o660)
    os.fchmod(fd, 0o660)  # SQLite gives its journal files the same mode
    os.close(fd)
    return replace(estate, store=store)


def as_account(user: str, action: Callable[[], None]) -> int:
    """Call `action` in a forked process that has become `user`; its exit status (0: it
    returned, 1: it raised)."""
    account = pwd.getpwnam(user)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            action()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
