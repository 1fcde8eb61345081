"""A runner lowers its session's CPU group, even when it starts beside another runner."""

from __future__ import annotations

import ctypes
import os
import pwd
import time
from pathlib import Path

import pytest

from console.ops.runner import lower_autogroup as _lower_autogroup
from tests.helpers import SECOND_ACCOUNT

GROUP = Path("/proc/self/autogroup")
PR_SET_DUMPABLE = 4

pytestmark = [
    pytest.mark.skipif(not GROUP.exists(), reason="this kernel has no session groups (autogroup)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as a second account"),
]


def _lower_in_a_new_session(start_at: float) -> tuple[int, int]:
    """Fork a process of the second account, in a session of its own, that lowers its group
    at `start_at` and writes what its group then says; (pid, read end of that pipe)."""
    account = pwd.getpwnam(SECOND_ACCOUNT)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 1
        try:
            os.setsid()  # a new session: a new group
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)  # unprivileged: the kernel's rate limit applies
            # A process that dropped root is kept from its own /proc files until it says
            # otherwise; a runner its account started never held root, so it owns them.
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
            time.sleep(max(0.0, start_at - time.time()))
            _lower_autogroup(5)
            os.write(write, GROUP.read_bytes())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def test_two_runners_starting_at_once_both_lower_their_groups() -> None:
    # The kernel lets one unprivileged process change a group's nice per tenth of a second
    # and refuses the next with EAGAIN: the second runner must try again, not give up.
    start_at = time.time() + 0.3
    children = [_lower_in_a_new_session(start_at) for _ in range(2)]
    said = []
    for pid, read in children:
        with os.fdopen(read, "rb") as pipe:
            said.append(pipe.read().decode())
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert len({s.split()[0] for s in said}) == 2, said  # two sessions, two groups
    assert all(s.split()[-2:] == ["nice", "5"] for s in said), said
