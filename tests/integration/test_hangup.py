"""The operator's SSH session drops: the console goes, the runs it launched go on."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from console.errors import UsageError
from tests.conftest import Estate
from tests.helpers import run_cli, show_json, spawn_cli, state_of, wait_for
from tests.integration.test_runs import GATED
from tests.pty import Terminal

OPSCONSOLE = str(Path(sys.executable).with_name("opsconsole"))


def _status(estate: Estate) -> str:
    """The newest run's status, or '' while there is none."""
    try:
        return state_of(estate).status
    except UsageError:
        return ""


def _console(estate: Estate, name: str) -> Terminal:
    return Terminal(
        [OPSCONSOLE, "--inventory", str(estate.inventory), "--store", str(estate.store)],
        size=(160, 48),
        XDG_CONFIG_HOME=str(estate.root / name),
    )


def test_a_hangup_ends_the_console_but_not_its_run_and_the_next_console_shows_the_gate(
    estate: Estate,
) -> None:
    estate.pipeline("gated", GATED.format(work=estate.work))
    term = _console(estate, "first")
    try:
        term.wait_for("gated", term.started)
        time.sleep(0.5)  # the inventory loads behind the first frame
        term.wait_for("Launch gated", term.press("l"), timeout=10)
        time.sleep(0.3)
        term.press("\r")  # Enter in the form launches it
        wait_for(lambda: _status(estate) == "waiting", 60, "the run to reach its gate")
        run_id = state_of(estate).id
        os.killpg(term.process.pid, signal.SIGHUP)  # what the terminal's hangup delivers
        term.process.wait(10)
    finally:
        term.close()
    time.sleep(0.5)
    assert show_json(estate, run_id)["status"] == "waiting"  # its runner is still there
    again = _console(estate, "second")
    try:
        again.wait_for("1 pending approval", again.started, timeout=20)
    finally:
        again.close()
    approved = spawn_cli(estate, "approve", run_id, "--reason", "after the hangup")
    assert approved.returncode == 0, approved.stderr
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run to end")
    assert run_cli(estate, "audit", "verify") == 0
