"""Gates with checks: approval waits until the checks pass on every host and on the
bastion; `recheck` runs them again; an environment needing no approvals lets its checks
decide, and records that decision with their results as evidence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from console.identity import current_operator
from console.store import open_store
from tests.conftest import Estate, write_estate
from tests.helpers import run_cli, show_json, state_of, wait_for
from tests.sshd import Sshd

CHECKED = """
    name = "checked"
    targets = ["all"]
    [[stages]]
    name = "board"
      [[stages.steps]]
      name = "health"
      gate = "Healthy before the switch?"
      checks = ["test -f {{{{ vars.work }}}}/healthy-{{{{ host.name }}}}"]
      local_checks = [["test", "-f", "{local}"]]
      retries = 1
      delay = "0.2s"
      timeout = "10s"
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "switch"
      run = "echo switched {{{{ host.name }}}}"
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str | None:
    """A SQLite file (None), or a team store in PostgreSQL."""
    return None if request.param == "sqlite" else request.getfixturevalue("team_store")


def _estate(tmp_path: Path, sshd: Sshd, team: str | None, extra: str = "") -> Estate:
    estate = write_estate(tmp_path, sshd, hosts=2, extra=extra)
    estate.pipeline("checked", CHECKED.format(local=tmp_path / "local-ok"))
    return dataclasses.replace(estate, store=team) if team else estate


def _checks(estate: Estate, run_id: str) -> list[dict[str, object]]:
    return state_of(estate, run_id).gates[("board", "health")].checks


def test_approval_waits_for_the_checks_and_recheck_runs_them_again(
    tmp_path: Path, sshd: Sshd, capsys, store_kind: str | None
) -> None:
    estate = _estate(tmp_path, sshd, store_kind)
    assert run_cli(estate, "run", "checked", "--detach") == 0
    run_id = state_of(estate).id
    wait_for(lambda: bool(_checks(estate, run_id)), what="the first round of checks")
    failing = [(r["where"], r["ok"]) for r in _checks(estate, run_id)]
    assert sorted(failing) == [("bastion", False), ("h1", False), ("h2", False)]
    capsys.readouterr()
    assert run_cli(estate, "approve", run_id, "--reason", "looks fine") == 2
    said = capsys.readouterr().err
    assert "approval waits until its checks pass, and some failed" in said
    assert "on h1: exit status 1" in said and "on bastion: exit status 1" in said
    (estate.work / "healthy-h1").write_text("")
    (estate.work / "healthy-h2").write_text("")
    (tmp_path / "local-ok").write_text("")
    assert run_cli(estate, "recheck", run_id) == 0
    wait_for(
        lambda: state_of(estate, run_id).gates[("board", "health")].checks_passed is True,
        what="the checks to pass",
    )
    assert state_of(estate, run_id).status == "waiting"  # passing checks are not an approval
    assert run_cli(estate, "approve", run_id, "--reason", "checks pass") == 0
    wait_for(lambda: state_of(estate, run_id).status == "succeeded", what="the run")
    with open_store(estate.store) as store:
        rounds = [r for r in store.audit_records() if r.action == "gate_checked"]
        asked = [r for r in store.audit_records() if r.action == "checks_requested"]
    assert [r.details["passed"] for r in rounds] == [False, True]
    assert rounds[1].details["asked_by"] == asked[0].actor


AUTO = """
    [environments.auto]
    approvals = 0

    [groups.autos]
    environment = "auto"

    [hosts.a1]
    address = "127.0.0.1"
    port = {port}
    groups = ["autos"]
"""

SHIP = """
    name = "ship"
    targets = ["autos"]
    [[stages]]
    name = "board"
      [[stages.steps]]
      name = "health"
      gate = "Healthy?"
      checks = ["true"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "go"
      run = "true"
"""


def test_checks_decide_a_gate_where_no_approvals_are_needed(
    tmp_path: Path, sshd: Sshd, capsys, store_kind: str | None
) -> None:
    estate = _estate(tmp_path, sshd, store_kind, AUTO.replace("{port}", str(sshd.port)))
    estate.pipeline("ship", SHIP)
    assert run_cli(estate, "run", "ship") == 0  # nobody approves: its checks do
    shown = show_json(estate)
    decision = shown["gates"][0]["decisions"][0]
    # the checks' decision; a team store names the account whose runner recorded it
    assert decision["actor"] in ("opsconsole", current_operator()) and decision["counts"]
    with open_store(estate.store) as store:
        record = store.last_audit("gate_approved", f"{shown['id']}/health")
    assert record is not None and record.details["automatic"] is True
    assert record.details["evidence"] == [
        {"check": "true", "where": "a1", "ok": True, "detail": "passed"}
    ]
    estate.pipeline("ship", SHIP.replace('checks = ["true"]', ""))
    capsys.readouterr()
    assert run_cli(estate, "run", "ship") == 2
    assert (
        "gate 'health' needs no approvals in auto (approvals = 0) and has no checks to decide it"
    ) in capsys.readouterr().err
