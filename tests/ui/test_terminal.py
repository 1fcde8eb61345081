"""The console on a real pseudo-terminal: what a person at a keyboard gets, timing included."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.pty import Terminal
from tests.ui import seed

ROOT = Path(__file__).resolve().parents[2]
OPSCONSOLE = str(Path(sys.executable).with_name("opsconsole"))


def test_opening_a_run_leaves_the_keyboard_on_its_matrix(tmp_path: Path) -> None:
    """Hiding the home pane must not hand focus back to it (which would switch panes again)."""
    seed.estate(tmp_path / "store.db").close()
    for attempt in range(3):
        term = Terminal(
            [
                OPSCONSOLE,
                "--inventory",
                str(ROOT / "sample_inventory.toml"),
                "--store",
                str(tmp_path / "store.db"),
            ],
            size=(120, 36),
            XDG_CONFIG_HOME=str(tmp_path / f"config{attempt}"),
        )
        try:
            term.wait_for("Recent runs", term.started)
            time.sleep(0.5)
            term.wait_for("output of", term.press("\t\r"))  # the newest run, in the run view
            time.sleep(0.5)
            term.wait_for("ehr-web-stg-01 · disk space", term.press("l"), timeout=5)
            term.wait_for("ehr-web-stg-02 · disk space", term.press("j"), timeout=5)
        finally:
            term.close()
