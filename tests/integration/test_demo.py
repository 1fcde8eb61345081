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
    """Into staging, whose gates need no approvals: the gate's health checks pass it."""
    result = _demo()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "embedded SSH hosts on loopback" in out
    assert "waiting at gate 'change board'" in out and "its checks decide it" in out
    assert "✓ gate 'change board': 4 check(s) passed" in out
    assert "approved gate" not in out  # nobody did: the board is not asked in staging
    run_id = out.split(" as run ")[1].split()[0]
    said = f"demo: webhook ehr-ops got: deploy-ehr-web 4.2.0 in staging succeeded (run {run_id})"
    assert said in out  # the sample's notification, sent to the demo's receiver
    assert "✓ rollout / health @ ehr-web-stg-02: ok" in out
    assert f"run {out.split(' as run ')[1].split()[0]} succeeded\n" in out


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
    of the simulated change board approve one after the other, and the run finish (prod takes
    only a version that succeeded in staging: the demo's headless run put 4.2.0 there)."""
    import time
    from pathlib import Path

    from tests.pty import Terminal

    opsconsole = str(Path(sys.executable).with_name("opsconsole"))
    places = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    staged = subprocess.run(
        [opsconsole, "demo", "--plain"],
        capture_output=True,
        text=True,
        env={**os.environ, **places},
    )  # 4.2.0 into staging; a store with a run writes no history
    assert staged.returncode == 0, staged.stdout + staged.stderr
    term = Terminal([opsconsole, "demo"], size=(160, 48), **places)
    try:
        term.wait_for("✓ succeeded", term.started, timeout=60)  # the staging run
        time.sleep(0.5)
        term.wait_for("Launch deploy-ehr-web", term.press("l"))
        # version; the environment: dev, staging, prod (the second next), chosen; past the
        # limit to the typed confirmation
        for keys in ("4.2.0", "\t", "\x1b[B", "\x1b[B", " ", "\t", "\t", "prod"):
            term.press(keys)
            time.sleep(0.3)
        term.wait_for(
            "prod takes deploy-ehr-web version=4.2.0: it succeeded in staging", term.started
        )
        sent = term.press("\r")
        term.wait_for("change-board got: deploy-ehr-web", sent, timeout=60)  # the webhook
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


def test_the_demo_writes_weeks_of_history_by_running_the_sample_pipelines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A first start of the demo: its history is made by running the sample pipelines on
    hosts of its own, and shows in the delivery pane; what the runs did is in the store, set
    back in time, the audit trail whole."""
    import time
    from pathlib import Path

    from tests.pty import Terminal

    opsconsole = str(Path(sys.executable).with_name("opsconsole"))
    places = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    term = Terminal([opsconsole, "demo"], size=(160, 48), **places)
    try:
        term.wait_for("28 days of history (about a minute)", term.started, timeout=60)
        term.wait_for("35 runs over the last 28 days", term.started, timeout=240)
        time.sleep(0.5)
        shown = term.press("5")
        term.wait_for("Delivery · last 90 days", shown, timeout=30)
    finally:
        term.close()
    _check_history(tmp_path / "data" / "opsconsole" / "demo.db")


def _check_history(path) -> None:  # type: ignore[no-untyped-def]
    """The demo's history as the store holds it: what the schedule chose, and what ran."""
    import time

    from console.delivery.measures import History
    from console.ops.audit import check_trail
    from console.ops.metrics import period_of, run_records
    from console.ops.runs import read_state
    from console.store import open_store

    with open_store(path) as store:
        assert check_trail(store, None).verdict.intact
        runs = store.runs()
        assert len(runs) == 35
        now = time.time()
        assert all(now - 29 * 86400 < r.created_at < now - 86400 for r in runs)
        states = {r.id: read_state(store, r.id) for r in runs}
        book = run_records(store)
    for state in states.values():  # prod took each version only after staging had it
        if "prod" in state.environments and state.pipeline == "deploy-ehr-web":
            assert state.launched is not None
            met = state.launched.promotion["prod"]
            earlier = states[met["run"]]
            assert earlier.status == "succeeded" and earlier.environments == ["staging"]
            assert earlier.params["version"] == state.params["version"]
            assert earlier.finished_at is not None
            assert met["succeeded_at"] == earlier.finished_at < state.created_at
    by_status = sorted(s.status for s in states.values())
    assert by_status.count("failed") == 2 and by_status.count("rejected") == 1
    failed = [s for s in states.values() if s.status == "failed"]
    for state in failed:  # the release could not unpack on the broken host, and no other
        broken = {h for (stage, step, h), c in state.cells.items() if c.status == "failed"}
        assert broken in ({"ehr-web-stg-02"}, {"ehr-web-02"}), broken
    history = History(book.records.values(), book.releases)
    period = period_of(None, None, 40)
    prod = history.measure(period, "prod")
    assert len(prod.deployments) == 11 and len(prod.failed) == 1 and not prod.unrecovered
    assert prod.gates_rejected == 1
    waited = history.measure(period, "dev").gate_wait.median
    assert waited is not None and 240 <= waited < 250  # the board's 4 minutes, and the real wait
    assert prod.lead_time.count == 8  # each release that reached prod, from its dev launch


def test_a_history_stopped_part_way_leaves_the_store_as_it_was(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The console closed while the history was being made: nothing of it is copied."""
    import asyncio
    import threading

    from console.demo.estate import sample_dir
    from console.demo.history import write_history
    from console.store import open_store

    stop = threading.Event()
    threading.Timer(3.0, stop.set).start()  # some runs made by then, not all
    made = asyncio.run(
        write_history(tmp_path / "demo.db", sample_dir() / "sample_inventory.toml", stop)
    )
    assert made == 0
    with open_store(tmp_path / "demo.db") as store:
        assert not store.runs() and store.audit_head()[0] == 0


def test_a_new_server_is_provisioned_hardened_and_given_the_ehr_release_one_run_after_another() -> (
    None
):
    """The sample's chain: provision-server, then harden-baseline, then deploy-ehr-web, each a
    run of its own launched by the one before when it succeeds; the demo waits for them all."""
    result = _demo("provision-server", "-p", "team=ehr", "--env", "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    said = [line for line in out.splitlines() if line.startswith("demo: then ")]
    assert [line.split()[2] for line in said] == ["harden-baseline", "deploy-ehr-web"]
    assert out.count(") succeeded\n") == 2  # both followers' runs
    assert "deploy-ehr-web 4.2.0 in staging succeeded" in out  # its notification, too
