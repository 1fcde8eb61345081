"""A SQLite store is for one account: made private, and when other accounts may write it after
all, every command says so once and a gate that needs several approvals counts only signed
decisions (anyone who can write the file can append a decision in anyone's name)."""

from __future__ import annotations

import stat
from pathlib import Path

from console.store import open_store
from tests.conftest import Estate
from tests.helpers import run_cli, show_json, spawn_cli, wait_for
from tests.integration.test_approvals import _estate, _launch
from tests.sshd import Sshd

SAYS = "decisions in it are only as trustworthy as every account that can write the file"


def _open_to_everyone(estate: Estate) -> None:
    """What an administrator might do to share a file: make it writable by every account."""
    with open_store(estate.store):
        pass
    for path in estate.store.parent.glob(estate.store.name + "*"):
        path.chmod(0o666)


def test_a_store_file_is_made_for_one_account_even_in_a_team_folder(estate: Estate) -> None:
    team = estate.root / "team"
    team.mkdir()
    team.chmod(0o2770)  # setgid, as a team folder was
    store = team / "store.db"
    with open_store(store):
        pass
    assert stat.S_IMODE(store.stat().st_mode) == 0o600


def test_every_command_says_once_when_others_may_write_the_store_file(estate: Estate) -> None:
    quiet = spawn_cli(estate, "runs")
    assert quiet.returncode == 0 and SAYS not in quiet.stderr  # a private file: nothing to say
    _open_to_everyone(estate)
    said = spawn_cli(estate, "runs")
    assert said.returncode == 0 and said.stderr.count(SAYS) == 1
    assert f"the store {estate.store} may be written by every account on this machine" in (
        said.stderr
    )
    assert "team store in PostgreSQL" in said.stderr


def test_on_a_file_others_may_write_a_two_approval_gate_counts_only_signed_decisions(
    tmp_path: Path, sshd: Sshd
) -> None:
    estate = _estate(tmp_path, sshd, "approvals = 2\nself_approval = true")
    _open_to_everyone(estate)
    run_id = _launch(estate)
    gate = show_json(estate, run_id)["gates"][0]
    assert gate["policy"]["signed_approvals"] is True  # the gate says so, for every reader
    unsigned = spawn_cli(estate, "approve", run_id, "--reason", "fine")
    assert unsigned.returncode == 2
    assert "decisions in test must be signed with the approver's SSH key" in unsigned.stderr
    assert not show_json(estate, run_id)["gates"][0]["decisions"]
    assert run_cli(estate, "cancel", run_id, "--yes") == 0
    wait_for(lambda: show_json(estate, run_id)["status"] == "cancelled", 30, "the cancel")


def test_a_one_approval_gate_on_such_a_file_is_as_before(tmp_path: Path, sshd: Sshd) -> None:
    estate = _estate(tmp_path, sshd, "approvals = 1\nself_approval = true")
    _open_to_everyone(estate)
    run_id = _launch(estate)
    assert show_json(estate, run_id)["gates"][0]["policy"]["signed_approvals"] is False
    assert spawn_cli(estate, "approve", run_id, "--reason", "fine").returncode == 0
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run")
