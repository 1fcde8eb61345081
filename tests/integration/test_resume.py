"""`opsconsole resume RUN`: a run whose runner was killed goes on from its unfinished steps."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from console import events as ev
from console.errors import RunChanged
from console.ops.resume import record_resume
from console.ops.runs import read_state as run_state
from console.store import open_store
from console.store.sqlite import SQLiteStore
from tests.conftest import Estate, on_each_store
from tests.helpers import cells, run_cli, show_json, spawn_cli, state_of, wait_for

TWO_STAGES = """
    name = "twostage"
    targets = ["all"]
    [[stages]]
    name = "prepare"
      [[stages.steps]]
      name = "mark"
      run = "echo marked >> {work}/mark-{{{{ host.name }}}}"
      [[stages.steps]]
      name = "nap"
      run = "if test -e {work}/resumed; then echo again; else touch {work}/napping-{{{{ host.name }}}}; sleep 31.25; fi"
    [[stages]]
    name = "finish"
      [[stages.steps]]
      name = "done"
      run = "touch {work}/done-{{{{ host.name }}}}"
"""


def _kill_mid_step(estate: Estate) -> str:
    """Launch the pipeline in a runner of its own and SIGKILL it while every host naps."""
    estate.pipeline("twostage", TWO_STAGES.format(work=estate.work))
    result = spawn_cli(estate, "run", "twostage", "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    wait_for(lambda: len(list(estate.work.glob("napping-*"))) == 3, 60, "every host to nap")
    wait_for(  # the runner writes events in 50 ms batches: let the naps' starts be stored
        lambda: (
            {cells(state_of(estate, run_id))[("nap", f"h{i}")] for i in (1, 2, 3)} == {"running"}
        ),
        10,
        "the naps to be recorded",
    )
    pid = state_of(estate, run_id).runner_pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    subprocess.run(["pkill", "-f", "sleep 31.25"], check=False)
    return run_id


def _kinds(estate: Estate, run_id: str) -> list[ev.Event]:
    with open_store(estate.store) as store:
        return [s.event for s in store.read(run_id, exclude=("output",))]


@on_each_store
def test_a_killed_run_is_recorded_interrupted_and_resumes_from_its_unfinished_steps(
    estate: Estate, capsys
) -> None:
    run_id = _kill_mid_step(estate)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 30, "interrupted")
    interrupted = state_of(estate, run_id)
    assert {cells(interrupted)[("nap", h)] for h in ("h1", "h2", "h3")} == {"unknown"}
    assert cells(interrupted)[("mark", "h1")] == "ok"
    assert not [e for e in _kinds(estate, run_id) if isinstance(e, ev.RunInterrupted)]  # reads
    # write nothing: the interruption is recorded where a write is meant, by the resume

    (estate.work / "resumed").touch()
    capsys.readouterr()
    assert run_cli(estate, "resume", run_id, "--yes") == 0
    recorded = [e for e in _kinds(estate, run_id) if isinstance(e, ev.RunInterrupted)]
    assert len(recorded) == 1 and recorded[0].unknown == [f"h{i} prepare › nap" for i in (1, 2, 3)]
    said = capsys.readouterr().out
    assert "h1: from prepare › nap" in said and "h2 prepare › nap" in said
    state = state_of(estate, run_id)
    assert state.status == "succeeded" and set(cells(state).values()) == {"ok"}
    for host in ("h1", "h2", "h3"):  # the step that had finished did not run twice
        assert (estate.work / f"mark-{host}").read_text() == "marked\n"
        assert (estate.work / f"done-{host}").exists()
    started = [e for e in _kinds(estate, run_id) if isinstance(e, ev.StepStarted)]
    assert sum(1 for e in started if e.step == "mark") == 3
    assert sum(1 for e in started if e.step == "nap") == 6

    assert run_cli(estate, "audit", "verify") == 0
    capsys.readouterr()
    assert run_cli(estate, "audit", "export", "--run", run_id) == 0
    trail = capsys.readouterr().out
    assert '"action":"run_interrupted"' in trail and '"action":"run_resumed"' in trail


def test_resume_asks_first_and_refuses_what_is_not_interrupted(estate: Estate) -> None:
    run_id = _kill_mid_step(estate)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 30, "interrupted")
    unconfirmed = spawn_cli(estate, "resume", run_id)  # no terminal to ask on
    assert unconfirmed.returncode == 2 and "add --yes" in unconfirmed.stderr
    assert state_of(estate, run_id).status == "interrupted"

    (estate.work / "resumed").touch()
    assert run_cli(estate, "resume", run_id, "--yes") == 0
    again = spawn_cli(estate, "resume", run_id, "--yes")
    assert again.returncode == 2
    assert "has ended (succeeded); nothing to resume" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_run_killed_at_its_gate_waits_at_the_same_gate_when_resumed(estate: Estate) -> None:
    from tests.integration.test_runs import GATED

    estate.pipeline("gated", GATED.format(work=estate.work))
    result = spawn_cli(estate, "run", "gated", "--detach")
    run_id = result.stdout.strip()
    wait_for(lambda: show_json(estate, run_id)["status"] == "waiting", 60, "the gate")
    os.kill(state_of(estate, run_id).runner_pid or 0, signal.SIGKILL)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 30, "interrupted")
    resumed = spawn_cli(estate, "resume", run_id, "--yes", "--detach")
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: show_json(estate, run_id)["status"] == "waiting", 60, "the gate again")
    approved = spawn_cli(estate, "approve", run_id, "--reason", "after the restart")
    assert approved.returncode == 0, approved.stderr
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the end")
    events = _kinds(estate, run_id)
    assert sum(1 for e in events if isinstance(e, ev.GateOpened)) == 1
    assert sum(1 for e in events if isinstance(e, ev.StepStarted) and e.step == "prepare") == 3


BUSY = """
    name = "busy"
    targets = ["all"]
    [[stages]]
    name = "one"
      [[stages.steps]]
      name = "count"
      run = "for i in $(seq 1 40); do echo {{{{ host.name }}}} $i; sleep 0.01; done"
      [[stages.steps]]
      name = "again"
      run = "seq 1 300"
    [[stages]]
    name = "two"
      [[stages.steps]]
      name = "last"
      run = "sleep 0.2; echo done"
"""


def test_killed_at_random_moments_the_store_stays_whole_and_every_run_resumes(
    estate: Estate,
) -> None:
    import random
    import sqlite3
    import time

    estate.pipeline("busy", BUSY)
    rng = random.Random(7)
    interrupted = 0
    for _ in range(3):
        result = spawn_cli(estate, "run", "busy", "--detach")
        run_id = result.stdout.strip()
        wait_for(lambda r=run_id: state_of(estate, r).runner_pid is not None, 30, "the runner")
        time.sleep(rng.uniform(0.05, 1.2))
        state = state_of(estate, run_id)
        if state.runner_pid is not None and not state.is_final:
            os.kill(state.runner_pid, signal.SIGKILL)
        wait_for(lambda r=run_id: show_json(estate, r)["status"] != "running", 30, "the kill seen")
        db = sqlite3.connect(estate.store)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
        assert spawn_cli(estate, "audit", "verify").returncode == 0
        state = state_of(estate, run_id)
        assert state.status in ("interrupted", "succeeded")
        assert "running" not in set(cells(state).values())  # finished, pending or unknown
        if state.status == "interrupted":
            interrupted += 1
            assert run_cli(estate, "resume", run_id, "--yes") == 0
        assert state_of(estate, run_id).status == "succeeded"
    assert interrupted  # at least one kill landed mid-run (the moments are seeded)


def test_two_people_resuming_at_once_start_one_runner_and_the_second_is_told(
    estate: Estate,
) -> None:
    run_id = _kill_mid_step(estate)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 30, "interrupted")
    store = SQLiteStore(estate.store)
    try:
        reading = run_state(store, run_id)  # the second person, reading the outline
        seen = store.newest_id(run_id)
        (estate.work / "resumed").touch()
        first = spawn_cli(estate, "resume", run_id, "--yes", "--detach")  # the first confirms
        assert first.returncode == 0, first.stderr
        with pytest.raises(RunChanged, match="changed while you were deciding"):
            record_resume(store, reading, "second", seen)
    finally:
        store.close()
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run to end")
    resumed = [e for e in _kinds(estate, run_id) if isinstance(e, ev.RunResumed)]
    started = [e for e in _kinds(estate, run_id) if isinstance(e, ev.RunStarted)]
    assert len(resumed) == 1 and len(started) == 2  # the first runner, and the one resume
