"""What goes wrong with hosts: timeouts, unreachable hosts, bad keys, lost connections."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from console.state import RunState
from console.store.sqlite import SQLiteStore
from tests.conftest import Estate, on_each_store, write_estate
from tests.helpers import cells, run_cli, state_of, wait_for
from tests.net import black_hole, silent_port
from tests.sshd import Sshd, free_port


def _one_step(estate: Estate, command: str, targets: str = '["all"]', extra: str = "") -> None:
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = {targets}
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "step"
          run = "{command}"
          {extra}
    """,
    )


def _running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


@on_each_store
def test_step_timeout_terminates_the_remote_command(estate: Estate) -> None:
    _one_step(estate, "sleep 29.123", '["h1"]', 'timeout = "1s"')
    assert run_cli(estate, "run", "p") == 1
    cell = state_of(estate).cells[("s", "step", "h1")]
    assert cell.status == "timed_out"
    assert "timeout of 1s" in cell.message
    wait_for(lambda: not _running("sleep 29.123"), 10, "the remote sleep to be killed")


def test_unreachable_host_fails_alone_and_nothing_else_waits(tmp_path: Path, sshd: Sshd) -> None:
    closed = free_port()
    estate = write_estate(
        tmp_path,
        sshd,
        hosts=2,
        extra=f"""
        [hosts.down]
        address = "127.0.0.1"
        port = {closed}
        groups = ["all"]
        """,
    )
    _one_step(estate, "true", extra="")
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["all"]
        [[stages]]
        name = "s"
        max_fail_percentage = 50
          [[stages.steps]]
          name = "step"
          run = "true"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    state = state_of(estate)
    cell = state.cells[("s", "step", "down")]
    assert cell.status == "unreachable"
    assert "connection refused" in cell.message and f"127.0.0.1:{closed}" in cell.message
    assert cells(state)[("step", "h1")] == cells(state)[("step", "h2")] == "ok"


def test_authentication_failure_is_unreachable_with_a_reason(tmp_path: Path, sshd: Sshd) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    estate = write_estate(tmp_path, sshd, hosts=1, host_extra=f'identity_file = "{other}"')
    _one_step(estate, f"touch {estate.work}/ran")
    assert run_cli(estate, "run", "p") == 1
    cell = state_of(estate).cells[("s", "step", "h1")]
    assert cell.status == "unreachable"
    assert "authentication failed" in cell.message and sshd.user in cell.message
    assert not (estate.work / "ran").exists()


def test_changed_host_key_is_refused_and_nothing_runs(tmp_path: Path, sshd: Sshd, capsys) -> None:
    estate = write_estate(tmp_path, sshd, hosts=1)
    wrong = tmp_path / "wrong"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    known = tmp_path / "known_hosts"
    pub = wrong.with_suffix(".pub").read_text().split()
    known.write_text(f"[127.0.0.1]:{sshd.port} {pub[0]} {pub[1]}\n")
    text = estate.inventory.read_text().replace(str(sshd.known_hosts), str(known))
    estate.inventory.write_text(text)
    _one_step(estate, f"touch {estate.work}/ran")
    assert run_cli(estate, "run", "p", "--accept-new-host-keys") == 1
    cell = state_of(estate).cells[("s", "step", "h1")]
    assert cell.status == "unreachable"
    assert "host key changed" in cell.message and "SHA256:" in cell.message
    assert "h1" in cell.message and "127.0.0.1" in cell.message
    assert not (estate.work / "ran").exists()
    assert known.read_text().count("\n") == 1  # the stored key was not replaced
    assert run_cli(estate, "audit", "export") == 0
    refused = [line for line in capsys.readouterr().out.splitlines() if "host_key_refused" in line]
    assert len(refused) == 1 and "host key changed" in refused[0] and "SHA256:" in refused[0]


def test_unknown_host_key_needs_explicit_opt_in(tmp_path: Path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=2)
    known = tmp_path / "empty_known_hosts"
    estate.inventory.write_text(
        estate.inventory.read_text().replace(str(sshd.known_hosts), str(known))
    )
    _one_step(estate, f"touch {estate.work}/ran-{{{{ host.name }}}}")
    assert run_cli(estate, "run", "p") == 1
    cell = state_of(estate).cells[("s", "step", "h1")]
    assert "unknown host key" in cell.message and "--accept-new-host-keys" in cell.message
    assert not list(estate.work.glob("ran-*"))
    assert not known.exists()
    assert run_cli(estate, "run", "p", "--accept-new-host-keys") == 0
    assert sorted(p.name for p in estate.work.glob("ran-*")) == ["ran-h1", "ran-h2"]
    assert sshd.host_key.split()[1] in known.read_text()
    store = SQLiteStore(estate.store)
    accepted = [r for r in store.audit_records() if r.action == "host_key_accepted"]
    store.close()
    assert len(accepted) == 1  # both hosts share the test sshd's address: one key was recorded
    assert accepted[0].details["fingerprint"].startswith("SHA256:")
    assert accepted[0].details["known_hosts"] == str(known)
    assert run_cli(estate, "run", "p") == 0  # now known, no opt-in needed


def test_user_ssh_config_cannot_turn_checks_off(tmp_path: Path, sshd: Sshd, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  ForwardAgent yes\n"
        "  ProxyCommand false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    estate = write_estate(tmp_path, sshd, hosts=1)
    known = tmp_path / "empty_known_hosts"
    estate.inventory.write_text(
        estate.inventory.read_text().replace(str(sshd.known_hosts), str(known))
    )
    _one_step(estate, f"touch {estate.work}/ran")
    assert run_cli(estate, "run", "p") == 1
    assert "unknown host key" in state_of(estate).cells[("s", "step", "h1")].message
    assert not (estate.work / "ran").exists()


@on_each_store
def test_connection_killed_mid_step_is_unreachable(estate: Estate) -> None:
    pidfile = estate.work / "session.pid"
    _one_step(estate, f"echo $PPID > {pidfile}; sleep 30", '["h1"]')

    def killer() -> None:
        wait_for(
            lambda: pidfile.exists() and pidfile.read_text().strip() != "", 30, "the step to start"
        )
        time.sleep(0.2)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    started = time.monotonic()
    code = run_cli(estate, "run", "p")
    thread.join()
    assert code == 1
    assert time.monotonic() - started < 25
    cell = state_of(estate).cells[("s", "step", "h1")]
    assert cell.status == "unreachable"
    assert "connection was lost mid-step" in cell.message


@on_each_store
def test_param_values_cannot_inject_shell(estate: Estate) -> None:
    out = estate.work / "out"
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["h1"]
        [params.text]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "echo"
          run = "printf '%s' {{{{ text }}}} > {out}"
    """,
    )
    hostile = (
        f"a; touch {estate.work}/p1 $(touch {estate.work}/p2) `touch {estate.work}/p3`\n-rf '\" | x"
    )
    assert run_cli(estate, "run", "p", "--param", f"text={hostile}") == 0
    assert out.read_text() == hostile
    assert not list(estate.work.glob("p[123]"))


def test_a_launch_whose_audit_record_cannot_be_written_runs_nothing(estate: Estate, capsys) -> None:
    from console.store.sqlite import SQLiteStore
    from tests.unit.test_store_faults import fail_audit_writes

    _one_step(estate, f"touch {estate.work}/ran-{{{{ host.name }}}}")
    SQLiteStore(estate.store).close()
    fail_audit_writes(estate.store)
    assert run_cli(estate, "run", "p") == 2
    err = capsys.readouterr().err
    assert "refused a write" in err and "nothing was recorded" in err and "Traceback" not in err
    assert SQLiteStore(estate.store).runs() == []
    assert not list(estate.work.glob("ran-*"))


def test_agent_forwarding_is_never_requested(estate: Estate, monkeypatch, capsys) -> None:
    socket_path = estate.root / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        wait_for(socket_path.exists, 10, "the agent's socket")
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        _one_step(estate, "echo agent=${SSH_AUTH_SOCK:-none}", '["h1"]')
        assert run_cli(estate, "run", "p") == 0
        capsys.readouterr()
        assert run_cli(estate, "logs", "last") == 0
        assert "agent=none" in capsys.readouterr().out
    finally:
        agent.terminate()
        agent.wait(10)


def _with_a_bad_host(tmp_path: Path, sshd: Sshd, name: str, port: int) -> RunState:
    """Run one step on h1, h2 and a host at `port` (2 s to connect); the run's state."""
    estate = write_estate(
        tmp_path,
        sshd,
        hosts=2,
        extra=f"""
        [hosts.{name}]
        address = "127.0.0.1"
        port = {port}
        groups = ["all"]
        connect_timeout = "2s"
        """,
    )
    _one_step(estate, "true")
    estate.pipeline(
        "p",
        (estate.pipelines / "p.toml")
        .read_text()
        .replace('name = "s"', 'name = "s"\nmax_fail_percentage = 50', 1),
    )
    assert run_cli(estate, "run", "p") == 0
    return state_of(estate)


def test_a_host_that_accepts_tcp_and_never_speaks_ssh_is_unreachable_alone(
    tmp_path: Path, sshd: Sshd
) -> None:
    with silent_port() as port:
        state = _with_a_bad_host(tmp_path, sshd, "mute", port)
    mute = state.cells[("s", "step", "mute")]
    assert mute.status == "unreachable" and "mute" in mute.message
    assert "Traceback" not in mute.message
    assert cells(state)[("step", "h1")] == cells(state)[("step", "h2")] == "ok"


def test_a_host_that_freezes_mid_step_is_noticed_by_keepalive(tmp_path: Path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=2)
    estate.inventory.write_text(
        estate.inventory.read_text().replace(
            "[ssh]\n", '[ssh]\nkeepalive_interval = "1s"\nkeepalive_count = 2\n', 1
        )
    )
    pidfile = estate.work / "frozen.pid"
    on_h1 = f"echo $PPID > {pidfile}; sleep 21.5"
    _one_step(estate, f"if test {{{{ host.name }}}} = h1; then {on_h1}; else sleep 1; fi")
    frozen: list[int] = []

    def freeze() -> None:  # stop h1's sshd session process: it neither answers nor closes
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "", 30, "the step")
        frozen.append(int(pidfile.read_text()))
        os.kill(frozen[0], signal.SIGSTOP)

    thread = threading.Thread(target=freeze)
    thread.start()
    try:
        assert run_cli(estate, "run", "p") == 1
    finally:
        thread.join()
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["pkill", "-f", "sleep 21.5"], check=False)
    state = state_of(estate)
    stuck = state.cells[("s", "step", "h1")]
    assert stuck.status == "unreachable" and "may or may not have finished" in stuck.message
    assert stuck.attempts == 1  # not retried on its own: it may have run
    assert state.cells[("s", "step", "h2")].status == "ok"


def test_hostile_stage_and_step_names_are_shown_escaped_everywhere(estate: Estate, capsys) -> None:
    from console.ui.widgets.stages import stage_text

    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "deploy\\u202eexe.txt"
          [[stages.steps]]
          name = "copy\\u001b]52;c;ZXZpbA==\\u0007 files"
          run = "true"
        """,
    )
    assert run_cli(estate, "run", "p", "--plain") == 0
    assert run_cli(estate, "show", "last") == 0
    printed = capsys.readouterr().out
    assert "\x1b]52" not in printed and "\u202e" not in printed
    assert "deploy<U+202E>exe.txt" in printed
    state = state_of(estate)
    assert "deploy<U+202E>exe.txt" in stage_text(state, state.stages[0], 0.0).plain
    assert run_cli(estate, "export", "last", "--format", "cast") == 0
    assert "\u202e" not in capsys.readouterr().out


def test_a_black_holed_address_is_unreachable_within_its_connect_timeout(
    tmp_path: Path, sshd: Sshd
) -> None:
    with black_hole() as port:
        state = _with_a_bad_host(tmp_path, sshd, "dark", port)
    dark = state.cells[("s", "step", "dark")]
    assert dark.status == "unreachable" and "dark" in dark.message
    assert cells(state)[("step", "h1")] == cells(state)[("step", "h2")] == "ok"
