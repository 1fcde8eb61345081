"""Approval policies end to end: real runner processes on the test sshd, decisions from other
processes and other accounts, approvals bound to the plan, freezes, and the audit trail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from console.identity import current_operator
from console.store import open_store
from console.store.sqlite import SQLiteStore
from tests.conftest import Estate, write_estate
from tests.helpers import SECOND_ACCOUNT, fork_as, shared_file, show_json, spawn_cli, wait_for
from tests.integration.test_runs import GATED
from tests.pg import Cluster
from tests.sshd import Sshd

ME = current_operator()
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)


def _estate(tmp_path: Path, sshd: Sshd, env: str, roles: str = '["ops"]', hosts: int = 2) -> Estate:
    """An estate whose one environment has the given policy lines, and this account's roles."""
    estate = write_estate(tmp_path, sshd, hosts=hosts)
    text = estate.inventory.read_text()
    text = text.replace("[environments.test]\napprovals = 1\n", f"[environments.test]\n{env}\n")
    text = text.replace(f'[operators.{ME}]\nroles = ["ops"]', f"[operators.{ME}]\nroles = {roles}")
    estate.inventory.write_text(text)
    estate.pipeline("gated", GATED.format(work=estate.work))
    return estate


@pytest.fixture(params=["sqlite", "postgresql"])
def on_store(request: pytest.FixtureRequest) -> Callable[[Estate], Estate]:
    """Put an estate on a SQLite file, and in the second round on a team store."""
    if request.param == "sqlite":
        return lambda estate: estate
    dsn = request.getfixturevalue("team_store")
    return lambda estate: replace(estate, store=dsn)


def prod_with_a_second_approver(tmp_path: Path, sshd: Sshd) -> Estate:
    """A prod estate whose change board is this account (who launches) and the second one."""
    estate = _estate(
        tmp_path, sshd, 'approver_roles = ["change-board"]', roles='["ops", "change-board"]'
    )
    text = estate.inventory.read_text().replace("[environments.test]", "[environments.prod]")
    text = text.replace('environment = "test"', 'environment = "prod"')
    estate.inventory.write_text(
        text + f'\n[operators.{SECOND_ACCOUNT}]\nroles = ["change-board"]\n'
    )
    return estate


def _launch(estate: Estate, confirm: str | None = None) -> str:
    typed = ["--confirm", confirm] if confirm else []  # a production launch types its name
    result = spawn_cli(estate, "run", "gated", "--detach", *typed)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    wait_for(lambda: show_json(estate, run_id)["status"] == "waiting", 60, "the gate")
    return run_id


def _status(estate: Estate, run_id: str) -> str:
    return str(show_json(estate, run_id)["status"])


def _audit(estate: Estate) -> list[tuple[str, str, dict[str, object]]]:
    with open_store(estate.store) as store:
        return [(r.action, r.actor, r.details) for r in store.audit_records()]


def test_roles_and_tickets_are_enforced_with_reasons(
    tmp_path: Path, sshd: Sshd, on_store: Callable[[Estate], Estate]
) -> None:
    env = 'approver_roles = ["change-board"]\nticket_pattern = "CHG[0-9]{7}"\nself_approval = true'
    estate = on_store(_estate(tmp_path, sshd, env))
    run_id = _launch(estate, confirm="test")  # a ticketed environment types its name
    refused = spawn_cli(estate, "approve", run_id, "--ticket", "CHG0000001")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"{ME} may not approve gates in test: that needs the role change-board" in refused.stderr
    estate.inventory.write_text(
        estate.inventory.read_text().replace('roles = ["ops"]', 'roles = ["change-board"]')
    )
    missing = spawn_cli(estate, "approve", run_id)
    assert missing.returncode == 2 and "need a change ticket matching CHG[0-9]{7}" in missing.stderr
    wrong = spawn_cli(estate, "approve", run_id, "--ticket", "INC42")
    assert wrong.returncode == 2 and "ticket 'INC42' does not match" in wrong.stderr
    ok = spawn_cli(estate, "approve", run_id, "--ticket", "CHG1234567", "--reason", "board met")
    assert ok.returncode == 0, ok.stderr
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    approved = [d for a, _, d in _audit(estate) if a == "gate_approved"]
    assert approved == [
        {
            "reason": "board met",
            "ticket": "CHG1234567",
            "emergency": False,
            "plan_digest": show_json(estate, run_id)["gates"][0]["plan_digest"],
            "signed": False,
        }
    ]


@needs_root
def test_the_launcher_cannot_approve_their_own_prod_change(tmp_path: Path, sshd: Sshd) -> None:
    estate = shared_file(prod_with_a_second_approver(tmp_path, sshd))
    run_id = _launch(estate, confirm="prod")
    own = spawn_cli(estate, "approve", run_id)
    assert own.returncode == 2
    assert (
        f"{ME} launched this run and so cannot approve its gates in prod: a second person must"
        in own.stderr
    )
    code, out, err = fork_as(
        SECOND_ACCOUNT, estate.cli("approve", run_id, "--reason", "reviewed")
    ).result()
    assert code == 0, err
    assert f"as {SECOND_ACCOUNT}" in out
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    assert ("gate_approved", SECOND_ACCOUNT) in [(a, who) for a, who, _ in _audit(estate)]


@needs_root
def test_two_approvers_at_the_same_moment_both_count(
    tmp_path: Path, sshd: Sshd, team_store: str, pg_cluster: Cluster
) -> None:
    """On a team store (a shared file would count only signed decisions here)."""
    from console.store import pgadmin

    name = str(psycopg.conninfo.conninfo_to_dict(team_store)["dbname"])
    pgadmin.grant(pg_cluster.dsn(database=name), SECOND_ACCOUNT)
    estate = replace(_estate(tmp_path, sshd, "approvals = 2"), store=team_store)
    estate.inventory.write_text(
        estate.inventory.read_text() + f'\n[operators.{SECOND_ACCOUNT}]\nroles = ["ops"]\n'
    )
    run_id = _launch(estate)
    moment = time.time() + 0.5
    children = [
        fork_as(user, estate.cli("approve", run_id), moment) for user in (ME, SECOND_ACCOUNT)
    ]
    results = [child.result() for child in children]
    assert all(code == 0 for code, _, _ in results), results
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    approvers = sorted(d["actor"] for d in show_json(estate, run_id)["gates"][0]["decisions"])
    assert approvers == sorted([ME, SECOND_ACCOUNT])


def test_editing_the_pipeline_voids_approvals_and_the_gate_asks_again(
    tmp_path: Path, sshd: Sshd, on_store: Callable[[Estate], Estate]
) -> None:
    estate = on_store(_estate(tmp_path, sshd, "approvals = 1"))
    run_id = _launch(estate)
    first = show_json(estate, run_id)["gates"][0]["plan_digest"]
    pipeline = estate.pipelines / "gated.toml"
    pipeline.write_text(
        pipeline.read_text().replace('run = "touch', 'run = "echo edited; touch', 1)
    )
    assert spawn_cli(estate, "approve", run_id, "--digest", first[:12]).returncode == 0
    wait_for(
        lambda: show_json(estate, run_id)["gates"][0]["plan_digest"] != first, 60, "the new digest"
    )
    gate = show_json(estate, run_id)["gates"][0]
    assert _status(estate, run_id) == "waiting" and gate["decisions"] == []
    stale = spawn_cli(estate, "approve", run_id, "--digest", first[:12])
    assert stale.returncode == 2 and "changed since you looked" in stale.stderr
    assert (
        spawn_cli(estate, "approve", run_id, "--digest", gate["plan_digest"][:12]).returncode == 0
    )
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    voided = [d for a, _, d in _audit(estate) if a == "approvals_voided"]
    assert len(voided) == 1 and "the pipeline file changed" in str(voided[0]["reason"])


def test_a_changed_host_key_voids_approvals(
    tmp_path: Path, sshd: Sshd, on_store: Callable[[Estate], Estate]
) -> None:
    estate = on_store(_estate(tmp_path, sshd, "approvals = 1", hosts=1))
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts.read_text())
    estate.inventory.write_text(
        estate.inventory.read_text().replace(str(sshd.known_hosts), str(known))
    )
    run_id = _launch(estate)
    first = show_json(estate, run_id)["gates"][0]
    assert first["digest_parts"]["host_keys"]["h1"]  # the approver sees the key it is bound to
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")]
    subprocess.run(keygen, check=True)
    extra = (tmp_path / "k.pub").read_text().split()
    with known.open("a") as handle:  # a second key recorded for the host: its keys changed
        handle.write(f"[127.0.0.1]:{sshd.port} {extra[0]} {extra[1]}\n")
    assert spawn_cli(estate, "approve", run_id).returncode == 0
    wait_for(
        lambda: show_json(estate, run_id)["gates"][0]["plan_digest"] != first["plan_digest"],
        60,
        "a new digest",
    )
    assert [a for a, _, _ in _audit(estate)].count("approvals_voided") == 1
    assert spawn_cli(estate, "approve", run_id).returncode == 0
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")


def test_a_freeze_refuses_normal_approvals_and_takes_an_emergency_one(
    tmp_path: Path, sshd: Sshd, on_store: Callable[[Estate], Estate]
) -> None:
    start = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - 3600))
    end = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() + 3600))
    env = f'freeze = ["{start}/{end}"]\nemergency_roles = ["on-call"]'
    estate = on_store(_estate(tmp_path, sshd, env))
    run_id = _launch(estate)
    normal = spawn_cli(estate, "approve", run_id)
    assert (
        normal.returncode == 2
        and "test is in a change freeze" in normal.stderr
        and "on-call" in normal.stderr
    )
    estate.inventory.write_text(
        estate.inventory.read_text().replace('roles = ["ops"]', 'roles = ["ops", "on-call"]')
    )
    bare = spawn_cli(estate, "approve", run_id)
    assert bare.returncode == 2 and "needs a reason" in bare.stderr
    urgent = spawn_cli(estate, "approve", run_id, "--reason", "lab results are not arriving")
    assert urgent.returncode == 0 and "as an emergency change" in urgent.stdout
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    approved = [d for a, _, d in _audit(estate) if a == "gate_approved"]
    assert approved[0]["emergency"] is True


def test_an_account_the_inventory_does_not_know_cannot_launch(tmp_path: Path, sshd: Sshd) -> None:
    estate = _estate(tmp_path, sshd, "approvals = 1")
    estate.inventory.write_text(
        estate.inventory.read_text().replace(f"[operators.{ME}]", "[operators.someone-else]")
    )
    refused = spawn_cli(estate, "run", "gated")
    assert refused.returncode == 2
    assert (
        f"{ME} is not an operator in the inventory's [operators] table, so may watch but not launch into test"
        in refused.stderr
    )
    assert not estate.store.exists() or not SQLiteStore(estate.store).runs()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real ssh-agent holding a fresh ed25519 key: (public key line, private key path)."""
    key = tmp_path / "approver"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    sock = tmp_path / "agent.sock"
    started = subprocess.run(
        ["ssh-agent", "-a", str(sock)], capture_output=True, text=True, check=True
    )
    pid = int(started.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
    subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
    old = os.environ.get("SSH_AUTH_SOCK")
    os.environ["SSH_AUTH_SOCK"] = str(sock)
    try:
        yield (tmp_path / "approver.pub").read_text().strip(), sock
    finally:
        if old is None:
            os.environ.pop("SSH_AUTH_SOCK", None)
        else:
            os.environ["SSH_AUTH_SOCK"] = old
        os.kill(pid, signal.SIGTERM)


def test_signed_approvals_check_with_stock_ssh_keygen(
    tmp_path: Path, sshd: Sshd, agent: tuple[str, Path]
) -> None:
    public, sock = agent
    estate = _estate(tmp_path, sshd, "approvals = 1\nsigned_approvals = true")
    text = estate.inventory.read_text().replace(
        f'[operators.{ME}]\nroles = ["ops"]',
        f'[operators.{ME}]\nroles = ["ops"]\nssh_public_key = "{public}"',
    )
    estate.inventory.write_text(text)
    run_id = _launch(estate)
    without = dict(os.environ)
    without.pop("SSH_AUTH_SOCK")
    unsigned = subprocess.run(
        [sys.executable, "-m", "console", *estate.cli("approve", run_id)],
        capture_output=True,
        text=True,
        env={**without, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert (
        unsigned.returncode == 2
        and "must be signed" in unsigned.stderr
        and "ssh-agent" in unsigned.stderr
    )
    signed = spawn_cli(estate, "approve", run_id, "--reason", "signed off")
    assert signed.returncode == 0, signed.stderr
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    assert (
        spawn_cli(estate, "audit", "signers", "--out", str(tmp_path / "allowed_signers")).returncode
        == 0
    )
    record = next(d for a, _, d in _audit(estate) if a == "gate_approved")
    (tmp_path / "decision.json").write_text(str(record["signed_document"]))
    (tmp_path / "decision.json.sig").write_text(str(record["signature"]))
    check = [
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        str(tmp_path / "allowed_signers"),
        "-I",
        ME,
        "-n",
        "opsconsole-approval",
        "-s",
        str(tmp_path / "decision.json.sig"),
    ]
    with (tmp_path / "decision.json").open("rb") as document:
        assert subprocess.run(check, stdin=document, capture_output=True).returncode == 0
    verified = spawn_cli(estate, "audit", "verify")
    assert verified.returncode == 0 and "1 signatures valid" in verified.stdout
    # a signature that no longer matches its record is found
    (tmp_path / "decision.json").write_text(
        str(record["signed_document"]).replace("signed off", "forged")
    )
    with (tmp_path / "decision.json").open("rb") as document:
        assert subprocess.run(check, stdin=document, capture_output=True).returncode != 0
    assert sock.exists()
    # audit verify checks each signature against the inventory's key of its signer
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")]
    subprocess.run(keygen, check=True)
    other = (tmp_path / "other.pub").read_text().strip()
    estate.inventory.write_text(estate.inventory.read_text().replace(public, other))
    mismatch = spawn_cli(estate, "audit", "verify")
    assert mismatch.returncode == 1
    assert f"the signature of {ME}'s decision does not verify with their key" in mismatch.stderr


def test_an_evidence_pack_checks_out_without_opsconsole(
    tmp_path: Path, sshd: Sshd, agent: tuple[str, Path]
) -> None:
    public, _ = agent
    estate = _estate(tmp_path, sshd, "approvals = 1")
    estate.inventory.write_text(
        estate.inventory.read_text().replace(
            f'[operators.{ME}]\nroles = ["ops"]',
            f'[operators.{ME}]\nroles = ["ops"]\nssh_public_key = "{public}"',
        )
    )
    run_id = _launch(estate)
    assert (
        spawn_cli(estate, "approve", run_id, "--reason", "go", "--ticket", "CHG7").returncode == 0
    )
    wait_for(lambda: _status(estate, run_id) == "succeeded", 60, "the run")
    pack = tmp_path / "pack"
    made = spawn_cli(estate, "audit", "evidence", run_id, "--out", str(pack))
    assert made.returncode == 0, made.stderr
    assert (
        subprocess.run(["sha256sum", "--quiet", "-c", "MANIFEST.sha256"], cwd=pack).returncode == 0
    )
    (seq,) = [p.stem for p in (pack / "decisions").glob("*.json")]
    with (pack / "decisions" / f"{seq}.json").open("rb") as document:
        check = subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                "allowed_signers",
                "-I",
                ME,
                "-n",
                "opsconsole-approval",
                "-s",
                f"decisions/{seq}.json.sig",
            ],
            stdin=document,
            cwd=pack,
            capture_output=True,
        )
    assert check.returncode == 0, check.stderr
    approvals = json.loads((pack / "approvals.json").read_text())
    assert [(a["actor"], a["reason"], a["ticket"], a["signed"]) for a in approvals] == [
        (ME, "go", "CHG7", True)
    ]
    state = json.loads((pack / "runs" / run_id / "state.json").read_text())
    assert state["status"] == "succeeded" and sorted(state["targets"]) == ["h1", "h2"]
    assert (pack / "runs" / run_id / "output").is_dir() and (
        pack / "runs" / run_id / "pipeline.toml"
    ).read_text()
    audit = [json.loads(line) for line in (pack / "audit.jsonl").read_text().splitlines()]
    assert audit[0]["action"] == "run_launched" and "chain_head" in audit[-1]
    again = spawn_cli(estate, "audit", "evidence", run_id, "--out", str(pack))
    assert again.returncode == 2 and "is not empty" in again.stderr
    assert [p.name for p in tmp_path.glob(".evidence-*")] == []  # nothing half-written left behind


def test_a_launch_into_a_ticketed_environment_asks_for_its_name_on_a_terminal(
    tmp_path: Path, sshd: Sshd
) -> None:
    from tests.pty import Terminal

    estate = _estate(tmp_path, sshd, 'ticket_pattern = "CHG[0-9]{7}"')
    opsconsole = str(Path(sys.executable).with_name("opsconsole"))
    term = Terminal([opsconsole, *estate.cli("run", "gated", "--detach")], size=(100, 30))
    try:
        term.wait_for("Type test to go on:", term.started)
        sent = term.press("staging\r")
        term.wait_for("test was not typed; nothing was launched", sent)
        assert term.process.wait(10) == 2
    finally:
        term.close()
    assert spawn_cli(estate, "runs", "--json").stdout.strip() in ("", "[]")
    term = Terminal([opsconsole, *estate.cli("run", "gated", "--detach")], size=(100, 30))
    try:
        term.wait_for("Type test to go on:", term.started)
        term.press("test\r")
        assert term.process.wait(30) == 0
    finally:
        term.close()
    assert len(json.loads(spawn_cli(estate, "runs", "--json").stdout)) == 1
    assert spawn_cli(estate, "cancel", "last", "--yes").returncode == 0  # no runner left waiting
