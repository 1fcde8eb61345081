"""Cancelling a production run asks first on a terminal, and only there: a stray command
does not stop a change midway, and a script can still stop one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from console.identity import current_operator
from console.store import open_store
from tests.pty import Terminal
from tests.ui import seed

ROOT = Path(__file__).resolve().parents[2]
OPSCONSOLE = str(Path(sys.executable).with_name("opsconsole"))
RUN = "20261201-090000-prod"


def _estate(tmp_path: Path) -> list[str]:
    """A copy of the sample inventory where this account may launch, and a store holding a
    running production run; the options that point the command line at them."""
    inventory = tmp_path / "inventory.toml"
    text = (ROOT / "sample_inventory.toml").read_text()
    inventory.write_text(text + f'\n[operators.{current_operator()}]\nroles = ["ops"]\n')
    for folder in ("pipelines", "scripts", "artifacts"):  # what the pipelines name, beside it
        (tmp_path / folder).symlink_to(ROOT / folder)
    with open_store(tmp_path / "store.db", "runner") as store:
        seed.launch(store, RUN, seed.T0, env="prod")  # its runner is on another machine
    return ["--inventory", str(inventory), "--store", str(tmp_path / "store.db")]


def _cancels(tmp_path: Path) -> int:
    with open_store(tmp_path / "store.db", "auditor") as store:
        return len(store.read(RUN, kinds=("cancel_requested",)))


def test_cancelling_a_production_run_on_a_terminal_asks_first(tmp_path: Path) -> None:
    options = _estate(tmp_path)
    term = Terminal([OPSCONSOLE, "cancel", RUN, *options], size=(120, 30))
    try:
        term.wait_for(f"Cancel run {RUN} (deploy-ehr-web) in prod?", term.started)
        sent = term.press("n\r")
        term.wait_for(f"run {RUN} was not cancelled", sent)
        assert term.process.wait(10) == 1
    finally:
        term.close()
    assert _cancels(tmp_path) == 0
    term = Terminal([OPSCONSOLE, "cancel", RUN, *options], size=(120, 30))
    try:
        term.wait_for("in prod?", term.started)
        term.press("y\r")
        assert term.process.wait(10) == 0
    finally:
        term.close()
    assert _cancels(tmp_path) == 1


def test_a_script_cancels_without_being_asked(tmp_path: Path) -> None:
    options = _estate(tmp_path)
    done = subprocess.run(
        [OPSCONSOLE, "cancel", RUN, *options],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert _cancels(tmp_path) == 1
