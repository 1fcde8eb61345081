"""`opsconsole demo`: the sample estate served by embedded SSH hosts, end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "console", "demo", "--plain", "--fresh", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_demo_runs_the_default_pipeline_through_its_gate() -> None:
    result = _demo()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "embedded SSH hosts on loopback" in out
    assert "waiting at gate 'change board'" in out
    assert "okafor approved gate 'change board' (simulated change board)" in out
    assert "✓ rollout / health @ ehr-web-stg-02: ok" in out
    assert out.rstrip().endswith("succeeded")


def test_demo_reaches_production_databases_through_the_jump_host() -> None:
    result = _demo(
        "migrate-ehr-db", "-p", "migration=7", "--limit", "ehr-db-01", "--confirm", "prod"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ migrate / apply @ ehr-db-01: ok" in result.stdout


def test_headless_run_does_not_import_the_tui() -> None:
    code = (
        "import sys; from console.cli import main, launch, views, demo\n"
        "from console.engine import runner\n"
        "assert not [m for m in sys.modules if m.startswith('textual')], 'textual imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def test_a_production_launch_needs_the_environment_typed() -> None:
    result = _demo("migrate-ehr-db", "-p", "migration=7", "--limit", "ehr-db-01")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "launching into prod needs its name typed: run it on a terminal, or add --confirm prod; "
        "nothing was launched" in result.stderr
    )
    wrong = _demo("migrate-ehr-db", "-p", "migration=7", "--limit", "ehr-db-01", "--confirm", "dev")
    assert wrong.returncode == 2 and "--confirm dev does not name the environment" in wrong.stderr


def test_the_demo_console_shows_a_production_change_through_to_the_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a newcomer does first: launch into prod from the console, watch the two members
    of the simulated change board approve one after the other, and the run finish."""
    import time
    from pathlib import Path

    from tests.pty import Terminal

    opsconsole = str(Path(sys.executable).with_name("opsconsole"))
    term = Terminal(
        [opsconsole, "demo"],
        size=(160, 48),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    try:
        term.wait_for("never run", term.started, timeout=60)
        time.sleep(0.5)
        term.wait_for("Launch deploy-ehr-web", term.press("l"))
        # version; the environment: dev, staging, prod (the second next), chosen; past the
        # limit to the typed confirmation
        for keys in ("4.2.0", "\t", "\x1b[B", "\x1b[B", " ", "\t", "\t", "prod"):
            term.press(keys)
            time.sleep(0.3)
        sent = term.press("\r")
        term.wait_for("okafor approved gate 'change board'", sent, timeout=60)
        term.wait_for("lindqvist approved gate 'change board'", sent, timeout=60)
        term.wait_for("✓ succeeded", sent, timeout=60)
    finally:
        term.close()


def test_the_demo_keeps_its_history_and_leaves_nothing_behind_when_its_terminal_closes(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    import signal
    import time
    from pathlib import Path

    from tests.pty import Terminal

    opsconsole = str(Path(sys.executable).with_name("opsconsole"))
    temp = tmp_path / "tmp"
    temp.mkdir()
    places = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TMPDIR": str(temp),
    }
    first = subprocess.run(
        [opsconsole, "demo", "--plain"],
        capture_output=True,
        text=True,
        env={**os.environ, **places},
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "data" / "opsconsole" / "demo.db").exists()
    assert not list(temp.iterdir())  # the hosts' keys and sandboxes went with the demo
    term = Terminal([opsconsole, "demo"], size=(160, 48), **places)
    try:
        term.wait_for("✓ succeeded", term.started, timeout=60)  # the first session's run
        assert list(temp.iterdir())  # its hosts are up
        os.killpg(term.process.pid, signal.SIGHUP)  # what closing the terminal delivers
        assert term.process.wait(20) != 0
    finally:
        term.close()
    time.sleep(0.2)
    assert not list(temp.iterdir())
    fresh = Terminal([opsconsole, "demo", "--fresh"], size=(160, 48), **places)
    try:
        fresh.wait_for("never run", fresh.started, timeout=60)
        with pytest.raises(TimeoutError):  # --fresh starts with no history
            fresh.wait_for("✓ succeeded", fresh.started, timeout=4)
    finally:
        fresh.close()
