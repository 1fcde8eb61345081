"""The headless CLI as an operator uses it: limits, listings, env variables, Ctrl-C, progress."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from console import events as ev
from console.render.display import MAX_LINE, cut_mark
from tests.conftest import Estate, write_estate
from tests.helpers import cells, run_cli, spawn_cli, state_of, wait_for
from tests.pty import Terminal
from tests.sshd import Sshd, free_port

OPSCONSOLE = str(Path(sys.executable).with_name("opsconsole"))

ONE = """
    name = "one"
    targets = ["all"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "who"
      run = "echo {{ host.name }}"
"""


def test_limit_narrows_targets_by_name_glob_label_and_group(tmp_path: Path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=4)
    estate.pipeline("one", ONE)
    for limit, expected in (
        ("h2", ["h2"]),
        ("h[34]", ["h3", "h4"]),
        ("n=1,h4", ["h1", "h4"]),
        ("all", None),
    ):
        assert run_cli(estate, "run", "one", "--limit", limit) == 0
        hosts = sorted(h for (_, h) in cells(state_of(estate)))
        assert hosts == (expected or ["h1", "h2", "h3", "h4"])


def test_limit_matching_nothing_and_bad_params_are_refused_before_anything_runs(
    estate: Estate, capsys
) -> None:
    estate.pipeline("one", ONE)
    assert run_cli(estate, "run", "one", "--limit", "nosuch") == 2
    assert "has no target hosts within --limit nosuch" in capsys.readouterr().err
    assert run_cli(estate, "run", "one", "--param", "x=1") == 2
    assert "pipeline 'one' has no param 'x'; it takes none" in capsys.readouterr().err
    assert run_cli(estate, "run", "onne") == 2
    assert "no pipeline 'onne'; did you mean 'one'?" in capsys.readouterr().err
    assert run_cli(estate, "runs") == 0
    assert "no runs yet" in capsys.readouterr().out


def test_runs_and_show_list_what_happened(estate: Estate, capsys) -> None:
    estate.pipeline("one", ONE)
    assert run_cli(estate, "run", "one") == 0
    assert run_cli(estate, "run", "one", "--limit", "h1") == 0
    capsys.readouterr()
    assert run_cli(estate, "runs", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in listed] == ["succeeded", "succeeded"]
    assert listed[0]["targets"] == ["h1"] and listed[1]["targets"] == ["h1", "h2", "h3"]
    assert run_cli(estate, "runs") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["RUN", "PIPELINE", "STATUS", "OPERATOR", "STARTED", "DURATION"]
    assert "✓ succeeded" in table[1]
    assert run_cli(estate, "show", listed[1]["id"]) == 0
    page = capsys.readouterr().out
    assert "status    ✓ succeeded" in page and "who" in page and "h3" in page


def test_show_json_has_the_documented_shape(estate: Estate, capsys) -> None:
    estate.pipeline("one", ONE)
    run_cli(estate, "run", "one")
    capsys.readouterr()
    run_cli(estate, "show", "last", "--json")
    doc = json.loads(capsys.readouterr().out)
    for key in (
        "id",
        "pipeline",
        "status",
        "operator",
        "params",
        "started_at",
        "finished_at",
        "steps",
    ):
        assert key in doc
    step = doc["steps"][0]
    assert set(step) >= {
        "stage",
        "step",
        "host",
        "status",
        "exit_code",
        "started_at",
        "finished_at",
    }
    assert step["started_at"].endswith("Z")


def test_environment_variables_stand_for_the_options(estate: Estate, monkeypatch, capsys) -> None:
    estate.pipeline("one", ONE)
    monkeypatch.setenv("OPSCONSOLE_INVENTORY", str(estate.inventory))
    monkeypatch.setenv("OPSCONSOLE_STORE", str(estate.store))
    monkeypatch.setenv("OPSCONSOLE_PIPELINES", str(estate.pipelines))
    from console.cli import main

    assert main(["run", "one", "--limit", "h1"]) == 0
    assert main(["show", "last", "--json"]) == 0
    assert '"status": "succeeded"' in capsys.readouterr().out


def test_ctrl_c_cancels_the_run_and_exits_130(estate: Estate) -> None:
    estate.pipeline(
        "slow",
        f"""
        name = "slow"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "nap"
          run = "touch {estate.work}/started; sleep 41.5"
    """,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", *estate.cli("run", "slow")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: (estate.work / "started").exists(), 60, "the step to start")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "cancelled" in out and "Traceback" not in err
    state = state_of(estate)
    assert state.status == "cancelled" and state.cancel_requested_by


def test_steps_share_one_connection_per_host(estate: Estate) -> None:
    out = estate.work / "conn"
    steps = "".join(
        f'  [[stages.steps]]\n  name = "s{i}"\n  run = "echo $SSH_CLIENT | tr -d \\" \\" >> {out}-{{{{ host.name }}}}"\n'
        for i in range(3)
    )
    estate.pipeline(
        "p",
        f'name = "p"\ntargets = ["all"]\n[[stages]]\nname = "a"\n{steps}'
        f'[[stages]]\nname = "b"\n{steps}',
    )
    assert run_cli(estate, "run", "p") == 0
    per_host = [(estate.work / f"conn-h{i}").read_text().split() for i in (1, 2, 3)]
    assert [len(lines) for lines in per_host] == [6, 6, 6]
    per_host = [set(lines) for lines in per_host]
    assert all(len(ports) == 1 for ports in per_host)  # six steps, one TCP connection (client port)
    assert len(set.union(*per_host)) == 3


def test_proxy_jump_tunnels_through_another_inventory_host(tmp_path: Path, sshd: Sshd) -> None:
    estate = write_estate(
        tmp_path,
        sshd,
        hosts=1,
        extra=f"""
        [hosts.inner]
        address = "127.0.0.1"
        port = {sshd.port}
        groups = ["all"]
        proxy_jump = "h1"
        """,
    )
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["inner"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "where"
          run = "echo $SSH_CLIENT > {estate.work}/client"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    assert (estate.work / "client").read_text().startswith("127.0.0.1 ")


def test_rich_progress_draws_a_bar_per_stage() -> None:
    from rich.console import Console

    from console.render.progress import RichProgress
    from console.state import fold
    from tests.unit.test_state import _events

    state = fold(_events()[:1])
    buffer = io.StringIO()
    display = RichProgress(
        state, Console(file=buffer, force_terminal=True, width=100, color_system=None)
    )
    stage_started = ev.StageStarted(run_id="r", at=2.5, stage="pre")
    with display:
        for event in [*_events()[1:2], stage_started, *_events()[2:]]:
            state_event = event
            from console.state import apply

            apply(state, state_event)
            display(state_event)
        failure = ev.StepFinished(
            run_id="r",
            at=9,
            stage="pre",
            step="disk",
            host="b",
            status="failed",
            message="exit status 1",
        )
        apply(state, failure)
        display(failure)
    text = buffer.getvalue()
    assert "pre" in text and "2 hosts, 1 failed" in text
    assert "✗ pre / disk @ b: failed" in text
    assert "waiting at gate 'cb'" in text


def test_logs_cut_a_long_line_on_a_terminal_and_keep_it_whole_in_a_pipe(estate: Estate) -> None:
    estate.pipeline(
        "long",
        """
        name = "long"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "long"
          run = "head -c 6000 /dev/zero | tr '\\\\0' y; echo; echo after"
        """,
    )
    assert run_cli(estate, "run", "long") == 0
    piped = spawn_cli(estate, "logs", "last")
    assert piped.returncode == 0, piped.stderr
    assert "y" * 6000 in piped.stdout and "truncated" not in piped.stdout
    mark = cut_mark(MAX_LINE).strip()
    term = Terminal([OPSCONSOLE, *estate.cli("logs", "last")], size=(200, 60))
    try:
        term.wait_for("after", term.started, timeout=20)  # the line after the cut one comes out
        term.wait_for(mark[:40], term.started, timeout=1)
    finally:
        term.close()


TWO_PLACES = """
    name = "two"
    targets = ["all", "q1"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "who"
      run = "echo {{ host.name }}"
"""


def test_a_run_goes_into_one_environment_unless_several_are_named(
    tmp_path: Path, sshd: Sshd, capsys
) -> None:
    """Targets in two environments: nothing runs until one is chosen; both only by name."""
    estate = write_estate(
        tmp_path,
        sshd,
        hosts=2,
        extra=f"""
        [environments.qa]
        approvals = 1

        [hosts.q1]
        address = "127.0.0.1"
        port = {sshd.port}
        environment = "qa"
        """,
    )
    estate.pipeline("two", TWO_PLACES)
    assert run_cli(estate, "run", "two") == 2
    said = capsys.readouterr().err
    assert "its targets are in test and qa, and a run goes into one at a time" in said
    assert "--env test" in said and "--env test,qa" in said
    assert run_cli(estate, "runs") == 0 and "no runs yet" in capsys.readouterr().out
    assert run_cli(estate, "run", "two", "--env", "qa") == 0
    assert sorted(h for (_, h) in cells(state_of(estate))) == ["q1"]
    # a detached runner plans the run again from its record: into both, as chosen
    assert run_cli(estate, "run", "two", "--env", "qa,test", "--detach") == 0
    wait_for(lambda: state_of(estate).status == "succeeded", what="the detached run to succeed")
    assert sorted(h for (_, h) in cells(state_of(estate))) == ["h1", "h2", "q1"]
    assert state_of(estate).launched.environments == ["test", "qa"]
    assert run_cli(estate, "run", "two", "--limit", "h*") == 0  # narrowed into one: no choice
    assert sorted(h for (_, h) in cells(state_of(estate))) == ["h1", "h2"]
    capsys.readouterr()
    assert run_cli(estate, "run", "two", "--env", "prod") == 2
    assert "pipeline 'two' has no target hosts in prod; its targets are in test, qa" in (
        capsys.readouterr().err
    )


def test_host_describes_a_host_its_trusted_key_and_its_steps_last_results(
    estate: Estate, sshd: Sshd, capsys
) -> None:
    estate.pipeline("one", ONE)
    assert run_cli(estate, "run", "one") == 0
    capsys.readouterr()
    assert run_cli(estate, "host", "h2") == 0
    out = capsys.readouterr().out
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(sshd.known_hosts)], capture_output=True, text=True
    ).stdout
    fingerprints = {word for word in listed.split() if word.startswith("SHA256:")}
    assert fingerprints and all(f in out for f in fingerprints)  # the key it must show
    assert f"address     {sshd.user}@127.0.0.1:{sshd.port}" in out
    assert "environment test" in out and "labels      n=2" in out
    assert "from the 1 newest run:" in out
    assert state_of(estate).id in out and "s › who" in out and "✓ ok" in out
    assert run_cli(estate, "host", "h2", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["history"][0]["status"] == "ok" and shown["runs_read"] == 1
    assert shown["history"][0]["run"] == state_of(estate).id
    assert run_cli(estate, "host", "hh2") == 2
    said = capsys.readouterr().err
    assert f"no host 'hh2' in the inventory {estate.inventory}; did you mean 'h2'?" in said
    assert run_cli(estate, "host", "web") == 2
    assert "its hosts are named like h1, h2, h3" in capsys.readouterr().err


def test_logs_say_why_a_step_failed_even_when_it_printed_nothing(
    tmp_path: Path, sshd: Sshd
) -> None:
    """One host exits 3 without a word; another cannot be reached: `logs` says both."""
    estate = write_estate(
        tmp_path,
        sshd,
        hosts=1,
        extra=f"""
        [hosts.gone]
        address = "127.0.0.1"
        port = {free_port()}
        groups = ["all"]
        """,
    )
    estate.pipeline(
        "quiet",
        """
        name = "quiet"
        targets = ["all"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "quiet"
          run = "exit 3"
        """,
    )
    assert run_cli(estate, "run", "quiet") == 1
    piped = spawn_cli(estate, "logs", "last")
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert "h1 quiet✗ failed: exit status 3" in lines
    assert any(line.startswith("gone quiet✗ unreachable: ") for line in lines), lines
    assert "\x1b" not in piped.stdout  # no colour into a pipe
