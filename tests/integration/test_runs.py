"""Runs across processes: gates decided elsewhere, cancel from another terminal, detached runs."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.conftest import Estate, on_each_store
from tests.helpers import run_cli, show_json, spawn_cli, state_of, wait_for

GATED = """
    name = "gated"
    targets = ["all"]
    [[stages]]
    name = "before"
      [[stages.steps]]
      name = "prepare"
      run = "touch {work}/before-{{{{ host.name }}}}"
    [[stages]]
    name = "approval"
      [[stages.steps]]
      name = "change board"
      gate = "Ship it to {{{{ version }}}}"
    [[stages]]
    name = "after"
      [[stages.steps]]
      name = "ship"
      run = "touch {work}/after-{{{{ host.name }}}}"
    [params.version]
    default = "1.2.3"
"""


def _detached(estate: Estate, *args: str) -> str:
    result = spawn_cli(estate, "run", *args, "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    assert run_id and "\n" not in run_id
    return run_id


def _status(estate: Estate, run_id: str) -> str:
    return str(show_json(estate, run_id)["status"])


@on_each_store
def test_gate_approved_from_another_process_resumes_the_run(estate: Estate) -> None:
    estate.pipeline("gated", GATED.format(work=estate.work))
    run_id = _detached(estate, "gated")
    wait_for(lambda: _status(estate, run_id) == "waiting", 60, "the run to wait at its gate")
    assert not list(estate.work.glob("after-*"))
    doc = show_json(estate, run_id)
    assert doc["gates"][0]["message"] == "Ship it to 1.2.3"
    result = spawn_cli(
        estate, "approve", run_id, "--reason", "looks good", "--ticket", "CHG0000042"
    )
    assert result.returncode == 0, result.stderr
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run to finish")
    assert sorted(p.name for p in estate.work.glob("after-*")) == [
        "after-h1",
        "after-h2",
        "after-h3",
    ]
    decision = show_json(estate, run_id)["gates"][0]["decisions"][0]
    assert (decision["decision"], decision["reason"], decision["ticket"]) == (
        "approve",
        "looks good",
        "CHG0000042",
    )


@on_each_store
def test_rejection_ends_the_run_rejected_and_runs_nothing_after(estate: Estate) -> None:
    estate.pipeline("gated", GATED.format(work=estate.work))
    run_id = _detached(estate, "gated")
    wait_for(lambda: _status(estate, run_id) == "waiting", 60, "the gate")
    refused = spawn_cli(estate, "reject", run_id, "--reason", "  ")
    assert refused.returncode == 2 and "needs a reason" in refused.stderr
    assert spawn_cli(estate, "reject", run_id, "--reason", "not in this window").returncode == 0
    wait_for(lambda: _status(estate, run_id) == "rejected", 60, "the rejection")
    assert not list(estate.work.glob("after-*"))
    assert "change board" in show_json(estate, run_id)["message"]
    # the rejection has its own record on the audit trail, and the trail verifies with it
    from console.store import open_store

    with open_store(str(estate.store), "auditor") as store:
        actions = [r.action for r in store.audit_records() if r.subject.endswith("/change board")]
    assert "gate_rejected" in actions
    verified = spawn_cli(estate, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_same_approver_counts_once(tmp_path, sshd) -> None:
    from tests.conftest import write_estate

    estate = write_estate(tmp_path, sshd, hosts=1)
    estate.inventory.write_text(
        estate.inventory.read_text().replace("approvals = 1", "approvals = 2")
    )
    estate.pipeline("gated", GATED.format(work=estate.work))
    run_id = _detached(estate, "gated")
    wait_for(lambda: _status(estate, run_id) == "waiting", 60, "the gate")
    assert spawn_cli(estate, "approve", run_id).returncode == 0
    again = spawn_cli(estate, "approve", run_id)
    assert again.returncode == 2 and "already approved" in again.stderr
    time.sleep(1)
    assert _status(estate, run_id) == "waiting"
    assert spawn_cli(estate, "cancel", run_id).returncode == 0
    wait_for(lambda: _status(estate, run_id) == "cancelled", 60, "the cancel")


@on_each_store
def test_approve_without_an_open_gate_says_so(estate: Estate) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "x"
          run = "true"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    result = spawn_cli(estate, "approve", "last")
    assert result.returncode == 2
    assert "has no gate waiting for a decision (it is succeeded)" in result.stderr
    assert "Traceback" not in result.stderr


@on_each_store
def test_cancel_from_another_terminal_stops_the_running_steps(estate: Estate) -> None:
    estate.pipeline(
        "slow",
        f"""
        name = "slow"
        targets = ["all"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "nap"
          run = "touch {estate.work}/started-{{{{ host.name }}}}; sleep 37.25"
          [[stages.steps]]
          name = "never"
          run = "touch {estate.work}/never"
    """,
    )
    run_id = _detached(estate, "slow")
    wait_for(lambda: len(list(estate.work.glob("started-*"))) == 3, 60, "the steps to start")
    result = spawn_cli(estate, "cancel", run_id)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: _status(estate, run_id) == "cancelled", 30, "the run to cancel")

    def running() -> bool:
        return subprocess.run(["pgrep", "-f", "sleep 37.25"], capture_output=True).returncode == 0

    wait_for(lambda: not running(), 15, "the remote sleeps to end")
    assert not (estate.work / "never").exists()
    doc = show_json(estate, run_id)
    assert {s["status"] for s in doc["steps"] if s["step"] == "nap"} == {"failed"}
    assert {s["status"] for s in doc["steps"] if s["step"] == "never"} == {"skipped"}
    assert spawn_cli(estate, "cancel", run_id).returncode == 2


@on_each_store
def test_detached_run_survives_its_parent_and_reports_through_the_store(estate: Estate) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["all"]
        [params.n]
        type = "int"
        default = 3
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "count"
          run = "seq {{ n }}"
    """,
    )
    run_id = _detached(estate, "p", "--param", "n=5")
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the detached run")
    doc = show_json(estate, run_id)
    assert doc["params"] == {"n": 5}
    assert doc["operator"] and doc["started_at"] and doc["finished_at"]
    assert {(s["host"], s["status"], s["exit_code"]) for s in doc["steps"]} == {
        ("h1", "ok", 0),
        ("h2", "ok", 0),
        ("h3", "ok", 0),
    }
    logs = spawn_cli(estate, "logs", run_id, "--host", "h1")
    assert logs.stdout.splitlines() == [f"h1 count| {i}" for i in range(1, 6)]


@on_each_store
def test_logs_follow_prints_until_the_run_ends(estate: Estate) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "tick"
          run = "for i in 1 2 3; do echo tick $i; sleep 0.3; done"
    """,
    )
    run_id = _detached(estate, "p")
    result = spawn_cli(estate, "logs", run_id, "--follow")
    assert result.returncode == 0
    assert [line for line in result.stdout.splitlines() if "tick" in line] == [
        "h1 tick| tick 1",
        "h1 tick| tick 2",
        "h1 tick| tick 3",
    ]
    assert state_of(estate, run_id).status == "succeeded"


def test_gate_that_nobody_decides_expires(tmp_path, sshd) -> None:
    from tests.conftest import write_estate

    estate = write_estate(tmp_path, sshd, hosts=1)
    estate.inventory.write_text(
        estate.inventory.read_text().replace("approvals = 1", 'approvals = 1\ngate_timeout = "1s"')
    )
    estate.pipeline("gated", GATED.format(work=estate.work))
    assert run_cli(estate, "run", "gated") == 1
    state = state_of(estate)
    assert state.status == "expired"
    assert state.gates[("approval", "change board")].outcome == "expired"
    assert not list(estate.work.glob("after-*"))


@on_each_store
def test_a_killed_runner_shows_its_run_as_interrupted(estate: Estate) -> None:
    import os
    import signal

    estate.pipeline(
        "slow",
        f"""
        name = "slow"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "nap"
          run = "touch {estate.work}/started; sleep 33.75"
    """,
    )
    run_id = _detached(estate, "slow")
    wait_for(lambda: (estate.work / "started").exists(), 60, "the step to start")
    pid = state_of(estate, run_id).runner_pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _status(estate, run_id) == "interrupted", 30, "the run to show as interrupted")
    assert spawn_cli(estate, "cancel", run_id).returncode == 0
    assert _status(estate, run_id) == "cancelled"
    subprocess.run(["pkill", "-f", "sleep 33.75"], check=False)


def test_a_detached_runner_is_scheduled_as_a_batch_job_so_consoles_come_first(
    estate: Estate,
) -> None:
    estate.pipeline("gated", GATED.format(work=estate.work))
    run_id = _detached(estate, "gated")
    wait_for(lambda: _status(estate, run_id) == "waiting", 60, "the run to wait at its gate")
    try:
        pid = state_of(estate, run_id).runner_pid
        assert pid is not None
        assert os.sched_getscheduler(pid) == os.SCHED_BATCH
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + 5
        )
        group = Path(f"/proc/{pid}/autogroup")
        if group.exists():  # kernels built without session groups have no such file
            # its session's share is lowered too, or its nice would count only inside it
            assert group.read_text().split()[-2:] == ["nice", "5"]
            assert group.read_text() != Path("/proc/self/autogroup").read_text()
    finally:  # a runner left waiting at its gate would outlive the test
        cancelled = spawn_cli(estate, "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stderr
