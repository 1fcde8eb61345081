"""Small helpers the tests share: run the CLI, read a run's state, wait for a condition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from console.cli import main
from console.services import run_state
from console.state import RunState
from console.store.sqlite import SQLiteStore
from tests.conftest import Estate


def run_cli(estate: Estate, *args: str) -> int:
    """Run `opsconsole` in this process with the estate's inventory and store."""
    return main(estate.cli(*args))


def state_of(estate: Estate, ref: str = "last") -> RunState:
    """The folded state of a run in the estate's store."""
    store = SQLiteStore(estate.store)
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
