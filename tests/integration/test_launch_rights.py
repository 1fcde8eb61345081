"""Re-running, resuming and cancelling a run are launch rights, tried by a second account on the
same machine: through the commands, and around them with plain SQL on a team's store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from console import events as ev
from console.store.sqlite import _INSERT, _encode
from tests.conftest import Estate
from tests.helpers import SECOND_ACCOUNT, as_account, fork_as, shared_file, show_json, spawn_cli
from tests.integration.test_approvals import ME, _audit, _estate, _launch
from tests.sshd import Sshd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)


def _team(tmp_path: Path, sshd: Sshd, second: str = "") -> Estate:
    """A team store; the second account named in the inventory only when `second` says how."""
    estate = shared_file(_estate(tmp_path, sshd, "approvals = 1"))
    if second:
        estate.inventory.write_text(
            estate.inventory.read_text() + f"\n[operators.{SECOND_ACCOUNT}]\n{second}\n"
        )
    return estate


def _as_second(estate: Estate, *args: str) -> tuple[int, str]:
    code, _, err = fork_as(SECOND_ACCOUNT, estate.cli(*args)).result()
    assert "Traceback" not in err, err
    return code, err


def _refusals(estate: Estate) -> list[tuple[str, str, str]]:
    return [(a, who, str(d["why"])) for a, who, d in _audit(estate) if a.endswith("_refused")]


def test_an_account_the_inventory_does_not_name_cannot_cancel_rerun_or_decide(
    tmp_path: Path, sshd: Sshd
) -> None:
    estate = _team(tmp_path, sshd)
    run_id = _launch(estate)
    code, err = _as_second(estate, "cancel", run_id)
    refusal = (
        f"{SECOND_ACCOUNT} may not cancel run {run_id}: {SECOND_ACCOUNT} is not an operator in "
        "the inventory's [operators] table, so may watch but not launch into test"
    )
    assert code == 2 and refusal in err
    code, err = _as_second(estate, "rerun", run_id)
    assert code == 2 and f"{SECOND_ACCOUNT} may not re-run run {run_id}" in err
    code, err = _as_second(estate, "approve", run_id, "--reason", "me too")
    assert code == 2 and "may watch but not decide gates" in err
    assert show_json(estate, run_id)["status"] == "waiting"
    refused = _refusals(estate)
    assert [(a, who) for a, who, _ in refused] == [
        ("cancel_refused", SECOND_ACCOUNT),
        ("rerun_refused", SECOND_ACCOUNT),
        ("approve_refused", SECOND_ACCOUNT),
    ]
    assert refusal in refused[0][2]
    assert spawn_cli(estate, "cancel", run_id).returncode == 0  # the launcher may


def test_an_operator_without_the_launch_role_is_refused_like_a_stranger(
    tmp_path: Path, sshd: Sshd
) -> None:
    estate = _team(tmp_path, sshd, 'roles = ["ops"]')
    estate.inventory.write_text(
        estate.inventory.read_text()
        .replace(
            "[environments.test]\napprovals = 1", '[environments.test]\nlaunch_roles = ["release"]'
        )
        .replace(f'[operators.{ME}]\nroles = ["ops"]', f'[operators.{ME}]\nroles = ["release"]')
    )
    run_id = _launch(estate)
    code, err = _as_second(estate, "run", "gated")
    assert code == 2
    assert f"{SECOND_ACCOUNT} may not launch into test: that needs the role release" in err
    code, err = _as_second(estate, "cancel", run_id)
    assert code == 2 and "(they have ops)" in err
    assert spawn_cli(estate, "cancel", run_id).returncode == 0


def test_a_cancel_written_around_the_command_is_not_honoured(tmp_path: Path, sshd: Sshd) -> None:
    estate = _team(tmp_path, sshd)
    run_id = _launch(estate)
    request = ev.CancelRequested(run_id=run_id, at=time.time(), actor=SECOND_ACCOUNT)

    def write() -> None:
        sqlite3.connect(estate.store, isolation_level=None).execute(_INSERT, _encode(request))

    assert as_account(SECOND_ACCOUNT, write) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _refusals(estate):
        time.sleep(0.1)
    assert _refusals(estate) == [
        (
            "cancel_refused",
            SECOND_ACCOUNT,
            f"{SECOND_ACCOUNT} may not cancel run {run_id}: {SECOND_ACCOUNT} is not an operator "
            "in the inventory's [operators] table, so may watch but not launch into test; ask "
            f"for an [operators.{SECOND_ACCOUNT}] entry",
        )
    ]
    time.sleep(0.5)
    assert show_json(estate, run_id)["status"] == "waiting"  # the runner goes on waiting
    assert spawn_cli(estate, "cancel", run_id).returncode == 0


def test_an_interrupted_run_is_resumed_only_by_someone_who_may_launch_it(
    tmp_path: Path, sshd: Sshd
) -> None:
    estate = _team(tmp_path, sshd)
    run_id = _launch(estate)
    pid = subprocess.run(
        ["pgrep", "-f", f"_runner {run_id}"], capture_output=True, text=True
    ).stdout.split()[0]
    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and show_json(estate, run_id)["status"] != "interrupted":
        time.sleep(0.1)
    code, err = _as_second(estate, "resume", run_id, "--yes")
    assert code == 2 and f"{SECOND_ACCOUNT} may not resume run {run_id}" in err
    assert show_json(estate, run_id)["status"] == "interrupted"
    assert [(a, who) for a, who, _ in _refusals(estate)] == [("resume_refused", SECOND_ACCOUNT)]
