"""Runs that several accounts start on one team's store: every runner gets a log the group can
write, and a run whose runner cannot start ends failed, in words, instead of waiting forever."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import main
from console.engine.plan import plan_run
from console.identity import current_operator
from console.model.load import load_config
from console.ops.launch import record as create_run
from console.store.sqlite import SQLiteStore
from tests.conftest import Estate, write_estate
from tests.helpers import (
    SECOND_ACCOUNT,
    fork_as,
    shared_file,
    show_json,
    spawn_cli,
    state_of,
    wait_for,
)
from tests.integration.test_runs import GATED
from tests.sshd import Sshd

ONE = """
    name = "one"
    targets = ["h1"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "hello"
      run = "echo hello from $(id -un)"
"""
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)


@pytest.fixture(scope="module")
def installed_for_everyone() -> Iterator[None]:
    """Let every account pass through the folders that lead to this interpreter and package,
    as on a bastion where opsconsole is installed for all (here they may sit under /root)."""
    import console

    changed: list[tuple[Path, int]] = []
    for start in (Path(os.path.realpath(sys.executable)), Path(console.__file__), Path(sys.prefix)):
        for folder in start.parents:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                changed.append((folder, mode))
                folder.chmod(mode | stat.S_IXOTH)
    yield
    for folder, mode in reversed(changed):
        folder.chmod(stat.S_IMODE(mode))


def _team(tmp_path: Path, sshd: Sshd) -> Estate:
    """A team store, the second account an operator, and a deploy key both may read."""
    estate = shared_file(write_estate(tmp_path, sshd, hosts=1))
    group = pwd.getpwnam(SECOND_ACCOUNT).pw_gid
    key = tmp_path / "deploy_key"
    key.write_bytes(sshd.client_key.read_bytes())
    os.chown(key, 0, group)
    key.chmod(0o640)
    text = estate.inventory.read_text().replace(str(sshd.client_key), str(key))
    estate.inventory.write_text(text + f'\n[operators.{SECOND_ACCOUNT}]\nroles = ["ops"]\n')
    estate.pipeline("one", ONE)
    estate.pipeline("gated", GATED.format(work=estate.work))
    return estate


def _as_second(estate: Estate, *args: str) -> tuple[int, str, str]:
    code, out, err = fork_as(SECOND_ACCOUNT, estate.cli(*args)).result()
    assert "Traceback" not in err, err
    return code, out, err


@needs_root
def test_a_second_operators_detached_launch_works_beside_the_first(
    tmp_path: Path, sshd: Sshd, installed_for_everyone: None
) -> None:
    estate = _team(tmp_path, sshd)
    first = spawn_cli(estate, "run", "one", "--detach")
    assert first.returncode == 0, first.stderr
    code, out, err = _as_second(estate, "run", "one", "--detach")
    assert code == 0, err
    run_id = out.strip()
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run")
    assert show_json(estate, run_id)["operator"] == SECOND_ACCOUNT
    runners = estate.store.parent / "runners"
    info = runners.stat()
    assert stat.S_IMODE(info.st_mode) == 0o2770 and info.st_gid == estate.store.parent.stat().st_gid
    log = runners / f"{run_id}.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o660
    assert log.stat().st_uid == pwd.getpwnam(SECOND_ACCOUNT).pw_uid


@needs_root
def test_a_second_operator_resumes_a_run_detached(
    tmp_path: Path, sshd: Sshd, installed_for_everyone: None
) -> None:
    estate = _team(tmp_path, sshd)
    launched = spawn_cli(estate, "run", "gated", "--detach")
    assert launched.returncode == 0, launched.stderr
    run_id = launched.stdout.strip()
    wait_for(lambda: show_json(estate, run_id)["status"] == "waiting", 60, "the gate")
    pid = subprocess.run(["pgrep", "-f", f"_runner {run_id}"], capture_output=True, text=True)
    os.kill(int(pid.stdout.split()[0]), signal.SIGKILL)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 30, "the interruption")
    code, _, err = _as_second(estate, "resume", run_id, "--yes", "--detach")
    assert code == 0, err
    wait_for(lambda: show_json(estate, run_id)["status"] == "waiting", 60, "the gate again")
    assert spawn_cli(estate, "approve", run_id).returncode == 0
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run")


@needs_root
def test_a_runner_whose_log_cannot_be_created_ends_the_run_failed(
    tmp_path: Path, sshd: Sshd, installed_for_everyone: None
) -> None:
    estate = _team(tmp_path, sshd)
    (estate.store.parent / "runners").mkdir(mode=0o755)  # as an older opsconsole left it
    code, out, err = _as_second(estate, "run", "one", "--detach")
    assert code == 2 and out == ""
    assert "could not start: the runner's log" in err and "cannot be created" in err
    assert "this account may not write there" in err and "it is recorded as failed" in err
    state = show_json(estate, "last")
    assert state["status"] == "failed" and "cannot be created" in state["message"]


def test_a_runner_that_dies_before_starting_ends_the_run_failed(
    estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    estate.pipeline("one", ONE)
    broken = estate.root / "broken-python"
    broken.write_text("#!/bin/sh\necho 'cannot import the console: a broken install' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr("console.ops.runner.sys.executable", str(broken))
    assert main(estate.cli("run", "one", "--detach")) == 2
    err = capsys.readouterr().err
    assert "its runner exited with status 3 before starting it" in err
    assert "cannot import the console: a broken install" in err
    assert state_of(estate).status == "failed"  # (sys.executable is the broken one here)


def test_a_run_cancelled_before_its_runner_started_ends_and_the_runner_leaves_it(
    estate: Estate,
) -> None:
    estate.pipeline("one", ONE)
    plan = plan_run(load_config(estate.inventory), "one", {}, current_operator())
    store = SQLiteStore(estate.store)
    create_run(store, plan)
    store.close()
    assert show_json(estate, plan.run_id)["status"] == "queued"
    assert spawn_cli(estate, "cancel", plan.run_id).returncode == 0
    state = show_json(estate, plan.run_id)
    assert state["status"] == "cancelled"
    assert state["message"] == f"cancelled by {current_operator()} before it started"
    late = spawn_cli(estate, "_runner", plan.run_id)
    assert late.returncode == 0
    assert show_json(estate, plan.run_id) == state  # nothing ran, nothing more was recorded
